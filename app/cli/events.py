"""`flask events ...`: publish, relay the outbox, consume by streaming pull."""

from __future__ import annotations

import json
import signal
import threading

import click
from flask import Flask, current_app
from flask.cli import AppGroup


def register_event_commands(app: Flask) -> None:
    """Add the `events` command group."""
    events = AppGroup("events", help="Publish, relay and consume events.")

    @events.command("publish")
    @click.argument("event_type")
    @click.argument("data")
    def publish(event_type: str, data: str):
        """Publish EVENT_TYPE with DATA (a JSON object) through the configured bus."""
        try:
            payload = json.loads(data)
        except ValueError as error:
            raise click.BadParameter(f"not JSON: {error}") from error
        if not isinstance(payload, dict):
            raise click.BadParameter("DATA must be a JSON object")
        bus = _services().events
        event_id = bus.publish(event_type, payload)
        delivered = bus.relay.run_once()
        state = "delivered" if delivered else "pending (the relay will retry)"
        click.echo(f"{event_id} {state}")

    @events.command("relay")
    @click.option("--watch", is_flag=True, help="keep relaying until interrupted")
    def relay(watch: bool):
        """Deliver pending outbox events (once, or continuously with --watch)."""
        relay = _services().events.relay
        delivered = relay.run_once()
        click.echo(f"delivered {delivered}, pending {relay.outbox.pending_count()}")
        if watch:
            stop = _stop_on_signal()
            while not stop.is_set():
                relay.outbox.wait_for_work(current_app.config["OUTBOX_RELAY_INTERVAL_SECONDS"])
                if relay.run_once():
                    click.echo(f"pending {relay.outbox.pending_count()}")

    @events.command("consume")
    def consume():
        """Run every handler from Pub/Sub streaming pull until interrupted."""
        from app.wiring.events import pubsub_consumer

        bus = _services().events
        consumer = pubsub_consumer(current_app.config, bus.topics, bus.receive_message)
        consumer.run(_stop_on_signal())

    app.cli.add_command(events)


def _services():
    return current_app.extensions["mediastore"]


def _stop_on_signal() -> threading.Event:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop
