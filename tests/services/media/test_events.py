"""MediaUploaded reaches the outbox once per stored file, through crashes; invoices by Pub/Sub."""

from __future__ import annotations

import json
import threading
import time

from app.wiring.events import pubsub_consumer
from services.media.events import INVOICE_GENERATED, MEDIA_UPLOADED
from tests.blueprints.media.helpers import upload, uploaded_id
from tests.blueprints.media.test_invoices import NUMBER, REQUEST
from tests.fixtures.failing import PartlyBrokenDatabase
from tests.fixtures.pubsub_emulator import pubsub_emulator  # noqa: F401
from tests.helpers import account
from tests.media import make_image

TICKET = "bb0e8400-e29b-41d4-a716-446655440000"


def test_every_stored_upload_records_one_seed_shaped_event(client, auth, database):
    media_id = uploaded_id(
        client, auth(), make_image("png"), context_type="ticket_photo", context_id=TICKET
    )
    [event] = database["outbox"].find({"type": MEDIA_UPLOADED})
    assert event["_id"] == f"media.uploaded:{media_id}"
    assert event["data"] == {
        "event_type": "MediaUploaded",
        "media_id": media_id,
        "context_type": "ticket_photo",
        "context_id": TICKET,
        "file_type": "image",
        "timestamp": "2026-11-21T12:00:00Z",
    }
    assert "event_pending" not in database["media"].find_one({"_id": media_id})


def test_an_outbox_outage_after_the_commit_loses_no_event(make_app, database, auth, clock):
    broken = PartlyBrokenDatabase(database, "outbox", {"insert_one"})
    app = make_app(database_override=broken)
    client = app.test_client()
    response = upload(client, auth(), make_image("png"))
    assert response.status_code == 201  # the file is stored; its event is owed
    media_id = response.get_json()["id"]
    assert database["media"].find_one({"_id": media_id})["event_pending"] is True
    assert database["outbox"].count_documents({}) == 0

    broken.failing.clear()  # BrokenCollection reads the set on every call
    app.extensions["mediastore"].events.relay.run_once()
    [event] = database["outbox"].find({"type": MEDIA_UPLOADED})
    assert event["data"]["media_id"] == media_id
    assert "event_pending" not in database["media"].find_one({"_id": media_id})
    app.extensions["mediastore"].events.relay.run_once()
    assert database["outbox"].count_documents({"type": MEDIA_UPLOADED}) == 1


def test_a_crash_before_the_hold_is_settled_is_finished_by_housekeeping(
    app, client, auth, database
):
    """A record committed with event_pending and its hold still open (the process died)."""
    media_id = uploaded_id(client, auth(), make_image("png"))
    doc = database["media"].find_one({"_id": media_id})
    size = doc["file_size"]
    # Put the account and record back as they were between the commit and the settle.
    database["accounts"].update_one(
        {"_id": "alice"},
        {
            "$set": {f"holds.{media_id}": {"ref": f"media/{media_id}", "bytes": size, "days": {}}},
            "$unset": {"stored": ""},
        },
    )
    database["media"].update_one({"_id": media_id}, {"$set": {"event_pending": True}})
    database["outbox"].delete_many({})

    runner = app.test_cli_runner()
    assert "announced 1 file(s)" in runner.invoke(args=["media", "purge-expired"]).output
    alice = account(database, "alice")
    assert alice["holds"] == {} and alice["used_bytes"] == size
    assert alice["stored"]["media"] == {"bytes": size, "count": 1}
    assert database["outbox"].count_documents({"_id": f"media.uploaded:{media_id}"}) == 1


def test_a_refused_upload_records_no_event(client, auth, database):
    assert upload(client, auth(), b"not an image").status_code == 415
    assert database["outbox"].count_documents({}) == 0


def wait_until(condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_an_invoice_event_through_pubsub_makes_exactly_one_file(
    make_app,
    pubsub_emulator,  # noqa: F811
    database,
):
    app = make_app(
        EVENT_BUS="pubsub",
        PUBSUB_EMULATOR_HOST=pubsub_emulator.host,
        GCP_PROJECT=pubsub_emulator.project,
    )
    bus = app.extensions["mediastore"].events
    consumer = pubsub_consumer(app.config, bus.topics, bus.receive_message)
    subscription = consumer.subscriptions()["billing.invoice.generated"]
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_until(lambda: subscription in pubsub_emulator.subscriptions())
        # Published twice (billing retried), and once malformed.
        runner = app.test_cli_runner()
        for data in (REQUEST, REQUEST, {**REQUEST, "invoice_number": "a/b"}):
            result = runner.invoke(args=["events", "publish", INVOICE_GENERATED, json.dumps(data)])
            assert result.exit_code == 0, result.output
        wait_until(lambda: pubsub_emulator.unacked(subscription) == 0)
        wait_until(lambda: database["media"].count_documents({"state": "stored"}) == 1)
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join(timeout=15)
    [doc] = database["media"].find({})
    assert doc["invoice_number"] == NUMBER and doc["state"] == "stored"
    # And its MediaUploaded goes out on media.uploaded.
    bus.relay.run_once()
    [message] = pubsub_emulator.messages("media.uploaded")
    assert json.loads(message.data)["media_id"] == doc["_id"]
