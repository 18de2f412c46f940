"""Registry and edge calls time out, retry a bounded number of times, and fail softly."""

from __future__ import annotations

import time

import pytest
from werkzeug import Response

from services.clients.peers import (
    EdgeClient,
    Peer,
    PeerRegistry,
    PeerServiceUnavailable,
    outbound_session,
)
from tests.fixtures.screenshots import closed_port_url

REGISTRY_PATH = "/api/peers/catalog/c1"


@pytest.fixture
def session():
    with outbound_session(retries=2, backoff_seconds=0) as session:
        yield session


def registry(httpserver, session, timeout=1.0) -> PeerRegistry:
    return PeerRegistry(httpserver.url_for("/"), session, timeout)


def test_registry_lists_peers_and_skips_malformed_entries(httpserver, session):
    httpserver.expect_request(REGISTRY_PATH, method="GET").respond_with_json(
        [{"peer_id": "p1", "edge_id": "e1", "catalog_ids": ["c1"]}, {"peer_id": "p2"}, "junk"]
    )
    assert registry(httpserver, session).peers_with("c1") == [Peer("p1", "e1")]


def test_registry_5xx_is_retried(httpserver, session):
    httpserver.expect_ordered_request(REGISTRY_PATH).respond_with_data("busy", status=503)
    httpserver.expect_ordered_request(REGISTRY_PATH).respond_with_json(
        [{"peer_id": "p1", "edge_id": "e1", "catalog_ids": ["c1"]}]
    )
    assert registry(httpserver, session).peers_with("c1") == [Peer("p1", "e1")]
    assert len(httpserver.log) == 2


def test_registry_retries_are_bounded(httpserver, session):
    httpserver.expect_request(REGISTRY_PATH).respond_with_data("down", status=500)
    with pytest.raises(PeerServiceUnavailable):
        registry(httpserver, session).peers_with("c1")
    assert len(httpserver.log) == 3  # the call and two retries


def test_registry_timeout_is_unavailable(httpserver, session):
    def slow(_request):
        time.sleep(0.5)
        return Response("[]", content_type="application/json")

    httpserver.expect_request(REGISTRY_PATH).respond_with_handler(slow)
    started = time.monotonic()
    with pytest.raises(PeerServiceUnavailable):
        registry(httpserver, session, timeout=0.1).peers_with("c1")
    assert time.monotonic() - started < 3


def test_unreachable_or_unconfigured_registry_is_unavailable(session):
    with pytest.raises(PeerServiceUnavailable):
        PeerRegistry(closed_port_url(), session, 1.0).peers_with("c1")
    with pytest.raises(PeerServiceUnavailable):
        PeerRegistry(None, session, 1.0).peers_with("c1")


def test_registry_not_json_is_unavailable(httpserver, session):
    httpserver.expect_request(REGISTRY_PATH).respond_with_data("<html>")
    with pytest.raises(PeerServiceUnavailable):
        registry(httpserver, session).peers_with("c1")


def test_edge_accepts_with_202_and_receives_the_json(httpserver, session):
    httpserver.expect_request(
        "/api/edge/e1/screenshot/request", method="POST", json={"token": "t"}
    ).respond_with_data("", status=202)
    edge = EdgeClient(httpserver.url_for("/"), session, 1.0)
    assert edge.request_screenshots("e1", {"token": "t"}) is True


@pytest.mark.parametrize("status", [200, 404, 500])
def test_edge_answer_other_than_202_is_a_soft_failure(httpserver, session, status):
    httpserver.expect_request("/api/edge/e1/screenshot/request").respond_with_data(
        "", status=status
    )
    assert EdgeClient(httpserver.url_for("/"), session, 1.0).request_screenshots("e1", {}) is False


def test_unreachable_edge_is_a_soft_failure(session):
    assert EdgeClient(closed_port_url(), session, 1.0).request_screenshots("e1", {}) is False
