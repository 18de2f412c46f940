"""What an invoice request must hold, checked the same way for HTTP calls and for events."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.core.errors import InvalidRequest

INVOICE_NUMBER = re.compile(r"[A-Za-z0-9._-]{1,64}")
MAX_LINE_ITEMS = 500
MAX_TOTALS = 50
MAX_TEXT = 1000
_SCALARS = (str, int, float, bool, type(None))


class FieldError(InvalidRequest):
    """A request field is invalid; `field` names it (dotted) for a validation answer."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


@dataclass(frozen=True)
class InvoiceRequest:
    """A checked request: which invoice, its number, and what to print."""

    invoice_id: str
    invoice_number: str
    invoice_data: dict[str, Any]


def check_invoice_id(value: Any) -> str:
    """The invoice id as a canonical UUID string."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError):
        raise FieldError("invoice_id", "Not a valid UUID.") from None


def check_invoice_number(value: Any) -> str:
    """1..64 letters, digits, `-`, `_` or `.`: it becomes part of an object name."""
    if not isinstance(value, str) or not INVOICE_NUMBER.fullmatch(value) or value in {".", ".."}:
        raise FieldError(
            "invoice_number", "Must be 1 to 64 letters, digits, '-', '_' or '.' (no '/')."
        )
    return value


def check_invoice_data(value: Any) -> dict[str, Any]:
    """subscriber (object), line_items (list of objects with a description), totals (object)."""
    if not isinstance(value, Mapping):
        raise FieldError("invoice_data", "Must be an object.")
    subscriber = value.get("subscriber")
    if not isinstance(subscriber, Mapping):
        raise FieldError("invoice_data.subscriber", "Must be an object.")
    _check_values(subscriber, "invoice_data.subscriber", depth=1)
    items = value.get("line_items")
    if not isinstance(items, list) or len(items) > MAX_LINE_ITEMS:
        raise FieldError("invoice_data.line_items", f"Must be a list of at most {MAX_LINE_ITEMS}.")
    for index, item in enumerate(items):
        where = f"invoice_data.line_items.{index}"
        if not isinstance(item, Mapping):
            raise FieldError(where, "Must be an object.")
        if not isinstance(item.get("description", item.get("name")), str):
            raise FieldError(f"{where}.description", "Missing data for required field.")
        _check_values(item, where, depth=0)
    totals = value.get("totals")
    if not isinstance(totals, Mapping) or len(totals) > MAX_TOTALS:
        raise FieldError("invoice_data.totals", f"Must be an object of at most {MAX_TOTALS}.")
    _check_values(totals, "invoice_data.totals", depth=0)
    _check_values(
        {k: v for k, v in value.items() if k not in {"subscriber", "line_items", "totals"}},
        "invoice_data",
        depth=1,
    )
    return dict(value)


def parse_invoice_request(data: Any) -> InvoiceRequest:
    """Check an InvoiceGenerated event body (the HTTP call's); FieldError names the field."""
    if not isinstance(data, Mapping):
        raise InvalidRequest("Invoice request must be a JSON object")
    return InvoiceRequest(
        check_invoice_id(data.get("invoice_id")),
        check_invoice_number(data.get("invoice_number")),
        check_invoice_data(data.get("invoice_data")),
    )


def _check_values(mapping: Mapping[str, Any], where: str, depth: int) -> None:
    """Printable values only: scalars of bounded length, and (to `depth`) lists or objects."""
    for key, value in mapping.items():
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise FieldError(f"{where}.{key}", f"Longer than {MAX_TEXT} characters.")
        if isinstance(value, _SCALARS):
            continue
        if depth > 0 and isinstance(value, list) and len(value) <= MAX_TOTALS:
            _check_values(dict(enumerate(value)), f"{where}.{key}", depth - 1)
        elif depth > 0 and isinstance(value, Mapping) and len(value) <= MAX_TOTALS:
            _check_values(value, f"{where}.{key}", depth - 1)
        else:
            raise FieldError(f"{where}.{key}", "Must be a string, number or boolean.")
