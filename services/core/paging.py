"""Pagination: a page of a listing with counted totals, the same for every API that lists."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")
U = TypeVar("U")

Sort = Sequence[tuple[str, int]]


class PagedCollection(Protocol):
    """What a document-store collection offers for listings (both stores implement it)."""

    def find_page(
        self,
        filter: Mapping[str, Any],
        *,
        sort: Sort,
        skip: int,
        limit: int,
        projection: Mapping[str, Any] | None = None,
    ) -> tuple[list[dict[str, Any]], int]:
        """The documents skip..skip+limit in `sort` order, and how many match in all."""


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing: its items, where it stands, and the counted total."""

    items: list[T]
    page: int
    size: int
    total_items: int

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total_items / self.size) if self.size else 0

    @property
    def has_next(self) -> bool:
        return self.page < self.total_pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    def map(self, convert: Callable[[T], U]) -> Page[U]:
        """The same page with every item converted."""
        return Page([convert(item) for item in self.items], self.page, self.size, self.total_items)


def paginate(
    collection: PagedCollection,
    filter: Mapping[str, Any],
    *,
    sort: Sort,
    page: int,
    size: int,
    projection: Mapping[str, Any] | None = None,
) -> Page[dict[str, Any]]:
    """Page `page` (from 1) of `size` documents in `sort` order, ties broken by _id.

    The caller validates page >= 1 and size >= 1 at the edge (422 or 400 in its API's shape).
    """
    if page < 1 or size < 1:
        raise ValueError("page and size start at 1")
    order = list(sort) if any(key == "_id" for key, _ in sort) else [*sort, ("_id", 1)]
    items, total = collection.find_page(
        filter, sort=order, skip=(page - 1) * size, limit=size, projection=projection
    )
    return Page(items, page, size, total)
