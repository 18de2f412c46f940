"""Google Cloud Pub/Sub as the event bus: a publisher for the outbox and a streaming consumer."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import grpc
from google.api_core import exceptions as api_exceptions
from google.api_core.retry import Retry, if_exception_type
from google.auth import exceptions as auth_exceptions
from google.cloud import pubsub_v1
from google.pubsub_v1 import PublisherClient, types
from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport
from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

from services.events.base import Event, EventBusUnavailable, EventRejected, Topics

log = logging.getLogger(__name__)

# (topic name, message data, message attributes, message id) -> None; raising nacks the message
MessageHandler = Callable[[str, bytes, dict[str, str], str], None]

_TRANSIENT = if_exception_type(
    api_exceptions.Aborted,
    api_exceptions.DeadlineExceeded,
    api_exceptions.InternalServerError,
    api_exceptions.ResourceExhausted,
    api_exceptions.ServiceUnavailable,
    api_exceptions.Unknown,
)
# Everything that means "the bus did not take it": the outbox keeps the event and retries.
_PUBLISH_FAILURES = (api_exceptions.GoogleAPIError, auth_exceptions.GoogleAuthError)
# An emulator that went away should be found again in seconds, not after gRPC's 120 s backoff.
_EMULATOR_CHANNEL_OPTIONS = [("grpc.max_reconnect_backoff_ms", 1000)]


def _publisher_client(emulator_host: str | None) -> PublisherClient:
    """A publisher on Application Default Credentials, or on a plain channel to an emulator."""
    if not emulator_host:
        return PublisherClient()
    # Not client_options + AnonymousCredentials: that still opens TLS, which an emulator lacks.
    channel = grpc.insecure_channel(emulator_host, options=_EMULATOR_CHANNEL_OPTIONS)
    return PublisherClient(transport=PublisherGrpcTransport(channel=channel))


def _subscriber_client(emulator_host: str | None) -> pubsub_v1.SubscriberClient:
    """The streaming subscriber, on the same terms as _publisher_client."""
    if not emulator_host:
        return pubsub_v1.SubscriberClient()
    channel = grpc.insecure_channel(emulator_host, options=_EMULATOR_CHANNEL_OPTIONS)
    return pubsub_v1.SubscriberClient(transport=SubscriberGrpcTransport(channel=channel))


def _bounded_retry(timeout: float) -> Retry:
    """Retry transient errors briefly: the outbox retries later, so report outages fast."""
    return Retry(
        predicate=_TRANSIENT,
        initial=0.1,
        maximum=max(0.2, timeout / 4),
        multiplier=2.0,
        timeout=timeout,
    )


class PubSubPublisher:
    """Publish events as JSON messages to the topic of their type."""

    def __init__(
        self,
        project: str,
        topics: Topics,
        *,
        emulator_host: str | None = None,
        create_topics: bool = False,
        timeout: float = 10.0,
        client_factory: Callable[[], PublisherClient] | None = None,
    ) -> None:
        self.project = project
        self.topics = topics
        self.emulator_host = emulator_host
        self._create_topics = create_topics
        self._timeout = timeout
        self._retry = _bounded_retry(timeout)
        self._client_factory = client_factory or (lambda: _publisher_client(self.emulator_host))
        self._client: PublisherClient | None = None
        self._lock = threading.Lock()
        self._known_topics: set[str] = set()

    def topic_path(self, event_type: str) -> str:
        """Return the full topic path events of this type go to."""
        return PublisherClient.topic_path(self.project, self.topics.topic_for(event_type))

    def publish(self, event: Event) -> str:
        """Send one event and return its Pub/Sub message id.

        Raises EventRejected when Pub/Sub refuses this message, EventBusUnavailable otherwise.
        """
        topic = self.topic_path(event.event_type)
        message = types.PubsubMessage(
            data=json.dumps(event.data).encode(), attributes=event.message_attributes()
        )
        try:
            client = self._get_client()
            self._ensure_topic(client, topic)
            response = client.publish(
                topic=topic, messages=[message], retry=self._retry, timeout=self._timeout
            )
        except api_exceptions.InvalidArgument as exc:
            # Pub/Sub refused this message (too large, bad attributes): the others may pass.
            raise EventRejected(
                f"Pub/Sub refused {event.event_type} event {event.event_id}: {exc}"
            ) from exc
        except _PUBLISH_FAILURES as exc:
            raise EventBusUnavailable(
                f"Pub/Sub did not take {event.event_type} event {event.event_id} for {topic}: "
                f"{exc.__class__.__name__}: {exc}"
            ) from exc
        return response.message_ids[0]

    def close(self) -> None:
        """Close the channel, if one was opened."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.transport.close()

    def _get_client(self) -> PublisherClient:
        """Create the client on first use, after any fork: gRPC channels do not survive one."""
        with self._lock:
            if self._client is None:
                self._client = self._client_factory()
            return self._client

    def _ensure_topic(self, client: PublisherClient, topic: str) -> None:
        """Create the topic once per process when asked to (emulators start empty)."""
        if not self._create_topics or topic in self._known_topics:
            return
        with contextlib.suppress(api_exceptions.AlreadyExists):
            client.create_topic(name=topic, retry=self._retry, timeout=self._timeout)
        self._known_topics.add(topic)


class PubSubConsumer:
    """Stream messages from one subscription per topic into a handler; ack on success."""

    def __init__(
        self,
        project: str,
        topics: Topics,
        handlers: MessageHandler,
        *,
        subscription_prefix: str = "mediastore",
        emulator_host: str | None = None,
        create_subscriptions: bool = False,
        max_messages: int = 10,
    ) -> None:
        self.project = project
        self.topics = topics
        self._handler = handlers
        self._prefix = subscription_prefix
        self._emulator_host = emulator_host
        self._create_subscriptions = create_subscriptions
        self._flow_control = pubsub_v1.types.FlowControl(max_messages=max_messages)

    def subscriptions(self) -> dict[str, str]:
        """Map each topic name to the full path of the subscription read for it."""
        names = sorted({topic for _, topic in self.topics})
        return {
            topic: pubsub_v1.SubscriberClient.subscription_path(
                self.project, f"{self._prefix}-{topic}"
            )
            for topic in names
        }

    def run(self, stop_event: threading.Event) -> None:
        """Consume until stop_event is set; raise EventBusUnavailable if a stream dies."""
        subscriber = _subscriber_client(self._emulator_host)
        streams: dict[str, Any] = {}
        try:
            if self._create_subscriptions:
                self._ensure_subscriptions(subscriber)
            for topic, path in self.subscriptions().items():
                streams[path] = subscriber.subscribe(
                    path,
                    self._callback(topic),
                    flow_control=self._flow_control,
                    await_callbacks_on_shutdown=True,
                )
            while not stop_event.wait(0.5):
                for path, stream in streams.items():
                    if stream.done():
                        raise EventBusUnavailable(f"Pub/Sub stream for {path} ended") from (
                            stream.exception()
                        )
        finally:
            for stream in streams.values():
                stream.cancel()
            for stream in streams.values():
                # Already reported, or ending anyway: only wait for the shutdown.
                with contextlib.suppress(Exception):
                    stream.result(timeout=10)
            subscriber.close()

    def _callback(self, topic: str) -> Callable[[Any], None]:
        def deliver(message: Any) -> None:
            try:
                self._handler(topic, message.data, dict(message.attributes), message.message_id)
            except Exception:
                # Nack so Pub/Sub redelivers; the handler is expected to be idempotent.
                log.exception("event handler failed on %s message %s", topic, message.message_id)
                message.nack()
            else:
                message.ack()

        return deliver

    def _ensure_subscriptions(self, subscriber: pubsub_v1.SubscriberClient) -> None:
        """Create missing topics and subscriptions (emulators start empty)."""
        publisher = _publisher_client(self._emulator_host)
        try:
            for topic, path in self.subscriptions().items():
                topic_path = publisher.topic_path(self.project, topic)
                for create, kwargs in (
                    (publisher.create_topic, {"name": topic_path}),
                    (subscriber.create_subscription, {"name": path, "topic": topic_path}),
                ):
                    with contextlib.suppress(api_exceptions.AlreadyExists):
                        create(request=kwargs, timeout=10)
        finally:
            publisher.transport.close()
