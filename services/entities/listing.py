"""Entity listings: the filter syntax, the search, and a page of current or past versions."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from services.core.paging import Page, paginate
from services.entities.records import FOLDED, EntityRecords, item_of

FILTER_SYNTAX = (
    "Comma-separated `field:value` conditions, all of which must hold: "
    "`type:image`, `mime_type:image/png`, `extension:jpg`, `is_collection:true`, "
    "`parent_id:12` (`parent_id:null` for top-level entities), `md5:<hex>`, "
    "`added_by:<user>`. A field named twice matches either value."
)


class InvalidFilter(ValueError):
    """A filter_param that cannot be read; the message names the culprit."""


def _boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered in {"true", "1"}:
        return True
    if lowered in {"false", "0"}:
        return False
    raise InvalidFilter(f"is_collection must be true or false, not '{text}'")


def _parent(text: str) -> int | None:
    if text.lower() == "null":
        return None
    if not re.fullmatch(r"[0-9]{1,18}", text):
        raise InvalidFilter(f"parent_id must be an entity id or null, not '{text}'")
    return int(text)


FILTER_FIELDS: dict[str, Callable[[str], Any]] = {
    "type": str,
    "mime_type": str,
    "extension": str,
    "is_collection": _boolean,
    "parent_id": _parent,
    "md5": str.lower,
    "added_by": str,
}


def parse_filter(text: str) -> dict[str, list[Any]]:
    """Read `field:value[,field:value...]` into {field: [values]}; InvalidFilter if malformed."""
    conditions: dict[str, list[Any]] = {}
    for part in text.split(","):
        name, colon, value = part.strip().partition(":")
        name, value = name.strip(), value.strip()
        if not colon or not name or not value:
            raise InvalidFilter(f"Malformed filter '{part.strip()[:64]}': expected field:value")
        if name not in FILTER_FIELDS:
            allowed = ", ".join(FILTER_FIELDS)
            raise InvalidFilter(f"Unknown filter field '{name[:64]}'; allowed: {allowed}")
        conditions.setdefault(name, []).append(FILTER_FIELDS[name](value))
    return conditions


@dataclass(frozen=True)
class ListQuery:
    """What a listing asks for; `version` shows each entity as its Nth version."""

    page: int = 1
    size: int = 20
    version: int | None = None
    filters: dict[str, list[Any]] = field(default_factory=dict)
    search: str | None = None
    include_deleted: bool = False


def list_items(records: EntityRecords, query: ListQuery) -> Page[dict[str, Any]]:
    """One page of Items, id ascending; totals count only the entities shown.

    Current state comes from `entities`, a past version from `entity_versions` (entities
    without that version are not in it). Filters, search and soft deletion apply to the
    fields shown: with `version`, as they were in that version.
    """
    spec: dict[str, Any] = {}
    for name, values in query.filters.items():
        spec[name] = values[0] if len(values) == 1 else {"$in": values}
    if not query.include_deleted:
        spec["is_deleted"] = False
    if query.search:
        # Case-insensitive as Unicode case folding is: "STRASSE" finds "Straße".
        pattern = {"$regex": re.escape(query.search.casefold())}
        spec["$or"] = [{copy: pattern} for copy in FOLDED.values()]
    if query.version is None:
        spec["purging"] = False
        collection, order = records.entities, [("_id", 1)]
    else:
        spec["version"] = query.version
        collection, order = records.versions, [("entity_id", 1)]
    page = paginate(collection, spec, sort=order, page=query.page, size=query.size)
    return page.map(item_of)
