"""`flask events publish` and `flask events relay` through the configured bus."""

from __future__ import annotations

import json

from services.screenshots.events import SCREENSHOTS_COMPLETED
from tests.fixtures.pubsub_emulator import pubsub_emulator  # noqa: F401


def test_publish_refuses_data_that_is_not_a_json_object(runner):
    result = runner.invoke(args=["events", "publish", "x.y", "[1, 2]"])
    assert result.exit_code != 0 and "JSON object" in result.output
    result = runner.invoke(args=["events", "publish", "x.y", "{nope"])
    assert result.exit_code != 0 and "not JSON" in result.output


def test_publish_and_relay_deliver_to_pubsub_after_an_outage(make_app, pubsub_emulator, clock):  # noqa: F811
    app = make_app(
        EVENT_BUS="pubsub",
        PUBSUB_EMULATOR_HOST=pubsub_emulator.host,
        GCP_PROJECT=pubsub_emulator.project,
    )
    app.extensions["mediastore"].events.publisher.timeout = 2
    runner = app.test_cli_runner()
    pubsub_emulator.stop()
    result = runner.invoke(args=["events", "publish", SCREENSHOTS_COMPLETED, '{"n": 1}'])
    assert result.exit_code == 0 and "pending" in result.output
    pubsub_emulator.restart()
    clock.advance(seconds=10)
    result = runner.invoke(args=["events", "relay"])
    assert result.exit_code == 0 and "delivered 1, pending 0" in result.output
    [message] = pubsub_emulator.messages(SCREENSHOTS_COMPLETED)
    assert json.loads(message.data) == {"n": 1}
