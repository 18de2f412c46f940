"""The listing's directly built Items equal what the documented ItemRead schema dumps."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

from bson.tz_util import utc as bson_utc

from blueprints.entities.schemas import ItemRead, item_body, utc_iso
from services.entities.records import ITEM_FIELDS

MOMENTS = [
    None,
    datetime(2026, 5, 1, 12, 0, tzinfo=UTC),
    datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=UTC),
    datetime(2026, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))),
    datetime(2026, 5, 1, 12, 0),  # naive: UTC
    datetime(2026, 5, 1, 12, 0, 0, 999, tzinfo=bson_utc),  # as the stores read it back
    datetime(2026, 5, 1, 12, 0, 30, tzinfo=bson_utc),
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


def test_dates_are_written_in_utc_with_a_z_and_milliseconds_only_when_there_are_any():
    expected = [
        None,
        "2026-05-01T12:00:00Z",
        "2026-05-01T12:00:00.123Z",
        "2026-05-01T12:00:00Z",  # 14:00 at +02:00
        "2026-05-01T12:00:00Z",
        "2026-05-01T12:00:00.000Z",  # 999 microseconds: milliseconds written, truncated
        "2026-05-01T12:00:30Z",
    ]
    assert [utc_iso(moment) for moment in MOMENTS] == expected
