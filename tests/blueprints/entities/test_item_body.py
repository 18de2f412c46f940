"""The listing's directly built Items equal what the documented ItemRead schema dumps."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

from blueprints.entities.schemas import ItemRead, item_body
from services.entities.records import ITEM_FIELDS

MOMENTS = [
    None,
    datetime(2026, 5, 1, 12, 0, tzinfo=UTC),
    datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC),
    datetime(2026, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))),
    datetime(2026, 5, 1, 12, 0),  # naive: UTC
]
VALUES = {
    "is_collection": [True, False],  # stored as booleans (the schema would pass 0 through)
    "label": [None, "Beach", "", "é 日本"],
    "description": [None, "x" * 50],
    "parent_id": [None, 7, 7.0],
    "file_size": [None, 0, 2**40],
    "height": [None, 1080, 1080.0],
    "width": [None, 1920],
    "duration": [None, 0, 12.5, 3],
    "mime_type": [None, "image/png"],
    "type": [None, "video"],
    "extension": [None, "mp4"],
    "md5": [None, "0" * 32],
    "file_path": [None, "2026/05/01/x.mp4"],
    "is_deleted": [False, True, None],
    "added_by": [None, "alice"],
    "updated_by": [None, "bob"],
}


def test_an_item_built_directly_equals_the_schema_s_dump_in_order_and_value():
    fields = [name for name in ITEM_FIELDS if name in VALUES or name.endswith("_date")]
    assert set(fields) == set(ItemRead().fields) - {"id"}
    for number in range(40):
        item = {"id": number + 1}
        for index, name in enumerate(fields):
            choices = MOMENTS if name.endswith("_date") else VALUES[name]
            item[name] = next(itertools.islice(itertools.cycle(choices), number + index, None))
        dumped = ItemRead().dump(item)
        built = item_body(item)
        # Types too: 7 == 7.0 and True == 1, but JSON writes them differently.
        assert [(k, type(v), v) for k, v in built.items()] == [
            (k, type(v), v) for k, v in dumped.items()
        ]
