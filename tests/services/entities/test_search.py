"""search_query: a case-folded substring of label or description, alike on both engines."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from services.entities.listing import ListQuery, list_items
from services.entities.records import FOLDED_MARK, EntityRecords, folded
from services.storage import ordered
from services.storage.documents import open_embedded_database
from tests.fixtures.engines import ENGINES, engine_database

WHEN = datetime(2026, 11, 21, 12, tzinfo=UTC)


@pytest.fixture(params=ENGINES)
def records(request, tmp_path):
    db = engine_database(request.param, tmp_path, "mediastore")
    records = EntityRecords(db)
    records.ensure_indexes()
    yield records
    db.close()


def _entity(entity_id: int, label: str | None, description: str | None = None) -> dict:
    return {
        "_id": entity_id,
        "label": label,
        "description": description,
        "is_deleted": False,
        "purging": False,
        "version": 1,
        "change": "create",
        "updated_date": WHEN,
    }


def _add(records: EntityRecords, *entities: dict) -> None:
    for doc in entities:
        records.insert(doc)
        records.record_version({**doc, **folded(doc)})


def _found(records: EntityRecords, text: str, **query) -> list[int]:
    page = list_items(records, ListQuery(search=text, size=100, **query))
    assert page.total_items == len(page.items)
    return [item["id"] for item in page.items]


def test_search_folds_case_as_unicode_does(records):
    _add(
        records,
        _entity(1, "Straße"),
        _entity(2, "x", "KELVIN \u212a"),
        _entity(3, "ſun"),
        _entity(4, "İstanbul"),
        _entity(5, None, None),
    )

    assert _found(records, "STRASSE") == [1]
    assert _found(records, "straße") == [1]
    assert _found(records, "kelvin k") == [2]
    assert _found(records, "SUN") == [3]
    assert _found(records, "i̇stanbul") == [4]
    assert _found(records, "x") == [2]


def test_search_text_is_literal_not_a_pattern(records):
    _add(records, _entity(1, "a.b (c)"), _entity(2, "axb"), _entity(3, "\\d+"))

    assert _found(records, "a.b") == [1]
    assert _found(records, "(c") == [1]
    assert _found(records, "\\d") == [3]
    assert _found(records, ".*") == []


def test_search_of_a_version_reads_the_label_it_had(records):
    _add(records, _entity(1, "old name"))
    current = records.replace_state(1, 1, {"label": "new name", "change": "patch"})
    records.record_version(current)

    assert _found(records, "old") == []
    assert _found(records, "new") == [1]
    assert _found(records, "old", version=1) == [1]
    assert _found(records, "old", version=2) == []


def test_a_patch_of_the_description_alone_keeps_the_label_found(records):
    _add(records, _entity(1, "Harbour", "boats"))
    records.replace_state(1, 1, {"description": "Ships"})

    assert _found(records, "harbour") == [1]
    assert _found(records, "ships") == [1]
    assert _found(records, "boats") == []


def test_documents_written_before_the_copies_existed_are_folded_once(records):
    older = _entity(7, "Older Label", "Older Text")
    records.entities.insert_one(dict(older))
    records.versions.insert_one({**older, "_id": "7:1", "entity_id": 7})
    records.counters.delete_one({"_id": FOLDED_MARK})

    records.ensure_indexes()

    assert _found(records, "older label") == [7]
    assert _found(records, "older text", version=1) == [7]
    assert records.counters.find_one({"_id": FOLDED_MARK}) is not None
    stored = records.entities.find_one({"_id": 7})
    assert (stored["label_folded"], stored["description_folded"]) == ("older label", "older text")


def test_the_listing_index_is_renamed_with_the_searched_fields(records):
    entities = records.entities.index_information()
    versions = records.versions.index_information()

    assert "listing" not in entities and "listing_searched" in entities
    assert "version_listing" not in versions and "version_listing_searched" in versions


def test_the_embedded_store_answers_a_search_from_the_listing_index(tmp_path):
    db = open_embedded_database(tmp_path / "metadata", "mediastore")
    records = EntityRecords(db)
    records.ensure_indexes()
    _add(records, *(_entity(n, f"Photo {n}") for n in range(1, 60)))
    spec = {
        "is_deleted": False,
        "purging": False,
        "$or": [
            {copy: {"$regex": re.escape("photo 5")}}
            for copy in ("label_folded", "description_folded")
        ],
    }

    chosen = ordered.plan(records.entities._collection, spec, [("_id", 1)])

    assert chosen is not None and chosen[1] == {}  # nothing left for a walk
    assert _found(records, "PHOTO 5") == [5, *range(50, 60)]
    db.close()
