"""What failures and crashes between writes leave, and how housekeeping finishes it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pytest

from app.wiring.entities import build_entities
from services.core.errors import StorageUnavailable
from services.core.ingest import Ingest
from services.entities import EntityFields
from tests.blueprints.entities.test_create import entity_objects
from tests.fixtures.entities import make_picture
from tests.fixtures.failing import FailingStore, PartlyBrokenDatabase


@dataclass
class Form:
    """A submitted form as the service sees it."""

    image: Iterable[bytes] | None
    values: EntityFields

    def fields(self) -> EntityFields:
        return self.values


def picture_form(color=(10, 20, 30)) -> Form:
    return Form([make_picture(color=color)], EntityFields(is_collection=False, label="p"))


def test_a_failed_insert_leaves_no_object_and_no_upload_record(
    entity_settings, database, store, clock
):
    broken = PartlyBrokenDatabase(database, "entities", {"insert_one"}, StorageUnavailable)
    entities = build_entities(
        entity_settings, database=broken, store=store, ingest=Ingest(store), clock=clock
    )

    with pytest.raises(StorageUnavailable):
        entities.create(None, picture_form())

    assert entity_objects(store) == []
    assert database["entity_uploads"].count_documents({}) == 0


def test_an_upload_abandoned_by_a_dead_process_is_cleaned_up_after_its_lease(
    entities, database, store, clock
):
    # The process died after storing the file: its claim is still `uploading`.
    entities.files.store_upload([make_picture()])

    assert entities.housekeeping() == 0  # the lease still runs
    clock.advance(hours=1, seconds=1)
    assert entities.housekeeping() == 1

    assert entity_objects(store) == []
    assert database["entity_uploads"].count_documents({}) == 0


def test_a_bound_upload_whose_entity_never_came_is_deleted_after_a_lease(
    entities, database, store, clock
):
    stored = entities.files.store_upload([make_picture()])
    entities.files.bind(stored, 99)  # then the process died before inserting entity 99

    clock.advance(minutes=59)
    entities.housekeeping()
    assert len(entity_objects(store)) == 1
    clock.advance(minutes=2)
    entities.housekeeping()

    assert entity_objects(store) == []
    assert database["entity_uploads"].count_documents({}) == 0


def test_a_bound_upload_whose_entity_holds_it_only_loses_its_record(
    entities, database, store, clock
):
    item = entities.create(None, picture_form())
    # A crash between the entity's insert and the claim's release.
    database["entity_uploads"].insert_one(
        {
            "_id": "left",
            "state": "stored",
            "entity_id": item["id"],
            "object_name": database["entities"].find_one({"_id": item["id"]})["object_name"],
            "bound_at": clock(),
        }
    )
    clock.advance(hours=2)

    entities.housekeeping()

    assert len(entity_objects(store)) == 1
    assert database["entity_uploads"].count_documents({}) == 0


def test_a_delete_interrupted_by_a_storage_outage_is_finished_by_housekeeping(
    entity_settings, database, store, clock
):
    failing = FailingStore(store)
    entities = build_entities(
        entity_settings, database=database, store=failing, ingest=Ingest(failing), clock=clock
    )
    item = entities.create(None, picture_form())
    failing.fail_delete = True

    deleted = entities.delete(item["id"])

    assert deleted["id"] == item["id"]
    with pytest.raises(Exception, match="Entity not found"):
        entities.get(item["id"])
    assert len(entity_objects(store)) == 1  # the object outlived the outage
    failing.fail_delete = False
    entities.housekeeping()
    assert entity_objects(store) == []
    assert database["entities"].count_documents({}) == 0
    assert database["entity_versions"].count_documents({}) == 0


def test_a_version_copy_lost_to_a_crash_is_made_by_housekeeping(entities, database):
    item = entities.create(None, Form(None, EntityFields(is_collection=True, label="a")))
    database["entity_versions"].delete_many({})
    database["entities"].update_one({"_id": item["id"]}, {"$set": {"pending_version": True}})

    entities.housekeeping()

    assert database["entity_versions"].find_one({"_id": f"{item['id']}:1"})["label"] == "a"
    assert database["entities"].find_one({"_id": item["id"]})["pending_version"] is False


def test_housekeeping_runs_on_the_relay(make_app, database, clock):
    app = make_app(AUTH_DISABLED=True)
    entities = app.extensions["mediastore"].entities
    item = entities.create(None, Form(None, EntityFields(is_collection=True, label="a")))
    database["entity_versions"].delete_many({})
    database["entities"].update_one({"_id": item["id"]}, {"$set": {"pending_version": True}})

    app.extensions["mediastore"].events.relay.run_once()

    assert database["entity_versions"].count_documents({}) == 1


def test_an_abandoned_upload_whose_object_cannot_be_deleted_is_retried(
    entity_settings, database, store, clock
):
    failing = FailingStore(store)
    entities = build_entities(
        entity_settings, database=database, store=failing, ingest=Ingest(failing), clock=clock
    )
    entities.files.store_upload([make_picture()])
    clock.advance(hours=2)
    failing.fail_delete = True

    entities.housekeeping()
    assert database["entity_uploads"].count_documents({}) == 1  # kept for the next round
    failing.fail_delete = False
    entities.housekeeping()

    assert entity_objects(store) == []
    assert database["entity_uploads"].count_documents({}) == 0


class LostAnswerCollection:
    """A real collection whose insert_one takes effect, then fails as if its answer was lost."""

    def __init__(self, collection):
        self.collection = collection

    def insert_one(self, doc):
        self.collection.insert_one(doc)
        raise StorageUnavailable("the answer was lost")

    def __getattr__(self, name):
        return getattr(self.collection, name)


def test_an_insert_whose_answer_was_lost_keeps_the_file_its_entity_holds(
    entity_settings, database, store, clock
):
    class Database:
        def __getitem__(self, name):
            collection = database[name]
            return LostAnswerCollection(collection) if name == "entities" else collection

        def __getattr__(self, name):
            return getattr(database, name)

    entities = build_entities(
        entity_settings, database=Database(), store=store, ingest=Ingest(store), clock=clock
    )

    with pytest.raises(StorageUnavailable):
        entities.create(None, picture_form())

    [doc] = database["entities"].find({})
    assert entity_objects(store) == [doc["object_name"]]
    assert entities.file(doc["_id"]).size > 0
    clock.advance(hours=2)
    entities.housekeeping()  # the upload record goes, the object it names stays
    assert entity_objects(store) == [doc["object_name"]]
    assert database["entity_uploads"].count_documents({}) == 0
