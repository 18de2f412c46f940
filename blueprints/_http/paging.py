"""Listing arguments and the pagination block, shared by every API that lists."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from services.core.paging import Page

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


def _page() -> fields.Integer:
    return fields.Integer(load_default=1, validate=validate.Range(min=1))


def _size() -> fields.Integer:
    return fields.Integer(
        load_default=DEFAULT_PAGE_SIZE, validate=validate.Range(min=1, max=MAX_PAGE_SIZE)
    )


class PageLimitArgs(Schema):
    """`?page=&limit=`: page from 1, 1..100 items (the media API's names)."""

    page = _page()
    limit = _size()


class PageSizeArgs(Schema):
    """`?page=&page_size=`: page from 1, 1..100 items (the entity API's names)."""

    page = _page()
    page_size = _size()


class _Totals(Schema):
    page = fields.Integer(required=True)
    total_items = fields.Integer(required=True)
    total_pages = fields.Integer(required=True)
    has_next = fields.Boolean(required=True)
    has_prev = fields.Boolean(required=True)


class LimitPaginationRead(_Totals):
    """The pagination block of a `?page=&limit=` listing."""

    limit = fields.Integer(required=True)


class PageSizePaginationRead(_Totals):
    """The pagination block of a `?page=&page_size=` listing."""

    page_size = fields.Integer(required=True)


def pagination(page: Page[Any], size_name: str = "limit") -> dict[str, Any]:
    """The pagination block of a listing, naming its size `limit` or `page_size`."""
    return {
        "page": page.page,
        size_name: page.size,
        "total_items": page.total_items,
        "total_pages": page.total_pages,
        "has_next": page.has_next,
        "has_prev": page.has_prev,
    }
