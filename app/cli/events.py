"""`flask events ...`: publish, relay the outbox, consume by streaming pull, dead letters."""

from __future__ import annotations

import json
import signal
import threading

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from services.core.errors import NotFound
from services.events.bus import DeadLetter, EventBus


def register_event_commands(app: Flask) -> None:
    """Add the `events` command group."""
    events = AppGroup("events", help="Publish, relay and consume events; retry dead ones.")

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
        bus = _bus()
        event_id = bus.publish(event_type, payload)
        delivered = bus.relay.run_once()
        state = "delivered" if delivered else "pending (the relay will retry)"
        click.echo(f"{event_id} {state}")

    @events.command("relay")
    @click.option("--watch", is_flag=True, help="keep relaying until interrupted")
    def relay(watch: bool):
        """Deliver pending outbox events (once, or continuously with --watch)."""
        bus = _bus()
        delivered = bus.relay.run_once()
        click.echo(f"delivered {delivered}, {_counts(bus)}")
        if watch:
            stop = _stop_on_signal()
            while not stop.is_set():
                bus.outbox.wait_for_work(current_app.config["OUTBOX_RELAY_INTERVAL_SECONDS"])
                if bus.relay.run_once():
                    click.echo(_counts(bus))

    @events.command("dead")
    @click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
    def dead(as_json: bool):
        """List the events and messages the bus gave up on (outbox, then inbox)."""
        letters = _bus().dead_letters()
        for letter in letters:
            click.echo(_json_line(letter) if as_json else _text_line(letter))
        if not letters and not as_json:
            click.echo("no dead events")

    @events.command("retry")
    @click.argument("ids", nargs=-1)
    @click.option("--all", "retry_all", is_flag=True, help="retry every dead event and message")
    def retry(ids: tuple[str, ...], retry_all: bool):
        """Retry dead events by ID (or --all): outbox events are relayed, messages handled."""
        if bool(ids) == retry_all:
            raise click.UsageError("give the ids of dead events, or --all")
        bus = _bus()
        try:
            results = bus.retry_dead(None if retry_all else ids)
        except NotFound as error:
            raise click.ClickException(error.message) from error
        for result in results:
            detail = f" ({result.error})" if result.error else ""
            click.echo(f"{result.source} {result.key} {result.state}{detail}")
        if any(result.state == "pending" for result in results):
            click.echo(f"delivered {bus.relay.run_once()}, {_counts(bus)}")
        if any(result.state == "dead" for result in results):
            raise click.exceptions.Exit(1)

    @events.command("consume")
    def consume():
        """Run every handler from Pub/Sub streaming pull until interrupted."""
        from app.wiring.events import pubsub_consumer

        bus = _bus()
        consumer = pubsub_consumer(current_app.config, bus.topics, bus.receive_message)
        consumer.run(_stop_on_signal())

    app.cli.add_command(events)


def _bus() -> EventBus:
    return current_app.extensions["mediastore"].events


def _counts(bus: EventBus) -> str:
    outbox, inbox = bus.outbox, bus.router.inbox
    return (
        f"pending {outbox.pending_count()}, dead {outbox.dead_count()}, "
        f"dead messages {inbox.dead_count()}"
    )


def _text_line(letter: DeadLetter) -> str:
    when = letter.dead_at.isoformat() if letter.dead_at else "-"
    return (
        f"{letter.source} {letter.key} {letter.event_type} attempts={letter.attempts} "
        f"dead_at={when} {' '.join(letter.last_error.split())}"
    )


def _json_line(letter: DeadLetter) -> str:
    return json.dumps(
        {
            "source": letter.source,
            "id": letter.key,
            "type": letter.event_type,
            "attempts": letter.attempts,
            "last_error": letter.last_error,
            "dead_at": letter.dead_at.isoformat() if letter.dead_at else None,
            "data": letter.data,
        },
        default=str,
    )


def _stop_on_signal() -> threading.Event:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop
