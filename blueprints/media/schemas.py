"""Request and response shapes of the media API (seed 001)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from blueprints._http.paging import LimitPaginationRead, PageLimitArgs
from services.core.errors import InvalidRequest
from services.media.invoice_request import check_invoice_data, check_invoice_number
from services.media.records import CONTEXT_TYPES, FILE_TYPES

# One year of seconds times ten: long enough for any "temporary" file, short of overflow.
MAX_EXPIRES_IN = 10 * 365 * 24 * 3600
# The most bytes each text field of the upload form may hold.
UPLOAD_FIELD_BYTES = {"context_type": 64, "context_id": 64, "is_public": 16, "expires_in": 32}


def _service_check(check: Any, *, nested: bool = False) -> Any:
    """A marshmallow validator from a service rule that raises InvalidRequest.

    For a nested value the message keeps the path inside it (`invoice_data.totals: ...`).
    """

    def validator(value: Any) -> None:
        try:
            check(value)
        except InvalidRequest as error:
            reason = error.message if nested else getattr(error, "reason", error.message)
            raise ValidationError(reason) from error

    return validator


class UploadFieldsArgs(Schema):
    """The upload form's text fields (parsed by hand from the streamed body)."""

    context_type = fields.String(validate=validate.OneOf(CONTEXT_TYPES), allow_none=True)
    context_id = fields.UUID(allow_none=True)
    is_public = fields.Boolean(load_default=False)
    expires_in = fields.Integer(validate=validate.Range(min=1, max=MAX_EXPIRES_IN))


class MediaRead(Schema):
    id = fields.String(required=True, metadata={"example": "110e8400-e29b-41d4-a716-446655440000"})
    file_name = fields.String(required=True, metadata={"example": "photo_110e8400e29b.jpg"})
    original_file_name = fields.String(required=True, metadata={"example": "ac_photo.jpg"})
    file_type = fields.String(required=True, metadata={"example": "image"})
    mime_type = fields.String(required=True, metadata={"example": "image/jpeg"})
    file_size = fields.Integer(required=True, metadata={"example": 245678})
    url = fields.String(required=True)
    created_at = fields.String(required=True, metadata={"example": "2024-02-01T10:30:00Z"})
    context_type = fields.String(allow_none=True)
    context_id = fields.String(allow_none=True)
    is_public = fields.Boolean()
    expires_at = fields.String(allow_none=True)


class MediaDetailRead(MediaRead):
    download_url = fields.String(required=True)


class MediaListArgs(PageLimitArgs):
    """`?context_type=&context_id=&file_type=&page=&limit=`."""

    context_type = fields.String(validate=validate.OneOf(CONTEXT_TYPES))
    context_id = fields.UUID()
    file_type = fields.String(validate=validate.OneOf(FILE_TYPES))


class MediaListRead(Schema):
    items = fields.List(fields.Nested(MediaRead), required=True)
    pagination = fields.Nested(LimitPaginationRead, required=True)


class InvoiceArgs(Schema):
    invoice_id = fields.UUID(required=True)
    invoice_number = fields.String(
        required=True,
        validate=_service_check(check_invoice_number),
        metadata={"example": "FY26-27-INV-000001", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
    )
    invoice_data = fields.Dict(
        required=True,
        validate=_service_check(check_invoice_data, nested=True),
        metadata={
            # The shape check_invoice_data holds it to (values: strings, numbers, booleans).
            "required": ["subscriber", "line_items", "totals"],
            "properties": {
                "subscriber": {"type": "object"},
                "line_items": {
                    "type": "array",
                    "maxItems": 500,
                    "items": {"type": "object", "required": ["description"]},
                },
                "totals": {"type": "object", "maxProperties": 50},
            },
            "example": {
                "subscriber": {"name": "Asha Verma", "address": ["12 MG Road", "Bengaluru"]},
                "line_items": [
                    {
                        "description": "Plan",
                        "quantity": 1,
                        "unit_price": "999.00",
                        "amount": "999.00",
                    }
                ],
                "totals": {"subtotal": "999.00", "tax": "179.82", "total": "1178.82"},
            },
        },
    )


class InvoiceRead(Schema):
    id = fields.String(required=True)
    url = fields.String(required=True)
    storage_path = fields.String(
        required=True, metadata={"example": "invoices/FY26-27-INV-000001.pdf"}
    )
