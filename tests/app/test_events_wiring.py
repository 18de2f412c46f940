"""The event bus from settings: housekeeping forgets delivered events after the retention."""

from __future__ import annotations


def test_housekeeping_forgets_delivered_events_after_outbox_retention_hours(make_app, clock):
    app = make_app(OUTBOX_RETENTION_HOURS=2)
    events = app.extensions["mediastore"].events
    outbox = events.outbox
    event_id = outbox.add("test.wiring", {}, event_id="wired")
    outbox.relay()
    assert outbox.collection.count_documents({"_id": event_id, "state": "delivered"}) == 1

    clock.advance(hours=1)
    events.relay.run_once()
    assert outbox.collection.count_documents({"_id": event_id}) == 1

    clock.advance(hours=1, minutes=10)
    events.relay.run_once()
    assert outbox.collection.count_documents({"_id": event_id}) == 0
