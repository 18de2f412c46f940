"""Requested and peer-available events: pending requests, tokens, edge requests."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from services.core.errors import InvalidRequest
from tests.fixtures.failing import RendezvousCollection
from tests.fixtures.screenshots import build_rig, closed_port_url, peer_tokens


def test_request_is_stored_offered_to_registered_peers_with_verifying_tokens(rig, clock):
    rig.serve_peers("c1", [("p1", "e-p1"), ("p2", "e-p2")])
    rig.service.handle_requested(
        {"catalog_id": "c1", "request_id": "r1", "requester_service": "catalog"}
    )

    pending = rig.database["screenshot_requests"].find_one({"_id": "r1"})
    assert pending["state"] == "pending" and pending["catalog_id"] == "c1"
    assert pending["requester_service"] == "catalog"
    assert pending["expires_at"] == clock() + timedelta(hours=24)
    assert any(r.path == "/api/peers/catalog/c1" for r, _ in rig.httpserver.log)

    assert [edge for edge, _ in rig.edge.received] == ["e-p1", "e-p2"]
    verifier = peer_tokens(clock)
    for _edge, body in rig.edge.received:
        assert set(body) == {"peer_id", "catalog_id", "token", "screenshot_upload_url"}
        assert body["catalog_id"] == "c1"
        assert body["screenshot_upload_url"] == "/api/screenshot/c1"
        claims = verifier.verify(body["token"])
        assert (claims.peer_id, claims.catalog_id, claims.request_id) == (
            body["peer_id"], "c1", "r1",
        )  # fmt: skip
        record = rig.database["screenshot_tokens"].find_one({"_id": claims.token_id})
        assert record["state"] == "issued" and record["peer_id"] == body["peer_id"]
        assert record["request_id"] == "r1" and record["catalog_id"] == "c1"


def test_expired_requests_and_tokens_are_purged_by_the_service_clock(rig, clock):
    tokens = rig.offer("c1", "r1", peers=("p1",))
    assert set(tokens) == {"p1"}
    requests, issued = rig.database["screenshot_requests"], rig.database["screenshot_tokens"]
    # No TTL index: its sweeper would judge expiry by the database's clock, not the service's.
    for collection in (requests, issued):
        assert all(
            "expireAfterSeconds" not in spec for spec in collection.index_information().values()
        )

    assert rig.service.records.purge_expired() == 0
    clock.advance(hours=25)  # past the request's 24 h and the token's 30 min
    assert rig.service.records.purge_expired() == 2
    assert requests.count_documents({}) == 0 and issued.count_documents({}) == 0


def test_each_request_keeps_its_own_expiry(rig, clock):
    rig.serve_peers("c1", [])
    created = clock() - timedelta(hours=1)
    rig.service.handle_requested(
        {"catalog_id": "c1", "request_id": "r1", "created_at": created.isoformat()}
    )
    rig.service.handle_requested(
        {"catalog_id": "c1", "request_id": "r2", "expires_at": "2026-11-21T13:00:00Z"}
    )
    requests = rig.database["screenshot_requests"]
    assert requests.find_one({"_id": "r1"})["expires_at"] == created + timedelta(hours=24)
    assert requests.find_one({"_id": "r2"})["expires_at"] == clock() + timedelta(hours=1)


@pytest.mark.parametrize(
    "data",
    [{"expires_at": "2026-11-21T11:59:59+00:00"}, {"created_at": "2026-11-20T11:00:00Z"}],
    ids=["expires-at-past", "created-too-long-ago"],
)
def test_request_already_expired_is_ignored(rig, data):
    rig.service.handle_requested({"catalog_id": "c1", "request_id": "r1", **data})
    assert rig.database["screenshot_requests"].count_documents({}) == 0
    assert rig.httpserver.log == []


@pytest.mark.parametrize(
    "data",
    [{"request_id": "r1"}, {"catalog_id": "c1"}, {"catalog_id": "", "request_id": "r1"},
     {"catalog_id": "c1", "request_id": "../r1"}, {"catalog_id": "c/1", "request_id": "r1"},
     {"catalog_id": "c1", "request_id": "r1", "expires_at": "tomorrow"}, ["not", "a", "dict"]],
    ids=["no-catalog", "no-request", "empty-catalog", "unsafe-request", "unsafe-catalog",
         "bad-expiry", "not-object"],
)  # fmt: skip
def test_invalid_request_event_is_refused(rig, data):
    with pytest.raises(InvalidRequest):
        rig.service.handle_requested(data)
    assert rig.database["screenshot_requests"].count_documents({}) == 0


def test_duplicate_request_is_idempotent_and_reuses_the_live_token(rig):
    rig.serve_peers("c1", [("p1", "e-p1")])
    for _ in range(2):
        rig.service.handle_requested({"catalog_id": "c1", "request_id": "r1"})
    assert rig.database["screenshot_requests"].count_documents({}) == 1
    assert rig.database["screenshot_tokens"].count_documents({}) == 1
    first, second = (body["token"] for _, body in rig.edge.received)
    assert first == second


def test_unreachable_registry_leaves_request_pending_until_a_peer_is_available(
    httpserver, database, store, clock
):
    rig = build_rig(
        httpserver, database=database, store=store, clock=clock,
        PEER_REGISTRY_URL=closed_port_url(),
    )  # fmt: skip
    rig.service.handle_requested({"catalog_id": "c1", "request_id": "r1"})
    assert database["screenshot_requests"].find_one({"_id": "r1"})["state"] == "pending"
    assert database["screenshot_tokens"].count_documents({}) == 0

    rig.service.handle_peer_available({"peer_id": "p9", "edge_id": "e-p9", "catalog_ids": ["c1"]})
    [(edge_id, body)] = rig.edge.received
    assert edge_id == "e-p9" and body["peer_id"] == "p9"
    assert peer_tokens(clock).verify(body["token"]).request_id == "r1"


def test_registry_errors_do_not_raise(rig):
    rig.httpserver.expect_request("/api/peers/catalog/c1").respond_with_data("no", status=500)
    rig.service.handle_requested({"catalog_id": "c1", "request_id": "r1"})
    assert rig.database["screenshot_requests"].count_documents({"state": "pending"}) == 1


def test_edge_refusal_keeps_token_issued_and_request_pending(rig):
    rig.edge.status = 503
    rig.offer(peers=("p1",))
    assert rig.database["screenshot_requests"].find_one({"_id": "r1"})["state"] == "pending"
    assert rig.database["screenshot_tokens"].find_one({})["state"] == "issued"


def test_peer_available_dispatches_only_its_catalogs_pending_requests(rig, clock):
    rig.serve_peers("c1", [])
    rig.serve_peers("c2", [])
    rig.serve_peers("c3", [])
    rig.service.handle_requested({"catalog_id": "c1", "request_id": "r1"})
    rig.service.handle_requested({"catalog_id": "c2", "request_id": "r2"})
    rig.service.handle_requested(
        {"catalog_id": "c3", "request_id": "r3", "expires_at": "2026-11-21T12:30:00Z"}
    )
    clock.advance(hours=1)  # r3 has expired, even before it is purged
    rig.service.handle_peer_available(
        {"peer_id": "p1", "edge_id": "e-p1", "catalog_ids": ["c1", "c3", "c9"]}
    )
    assert [body["catalog_id"] for _, body in rig.edge.received] == ["c1"]


def test_peer_available_again_does_not_issue_a_second_live_token(rig, clock):
    rig.serve_peers("c1", [])
    rig.service.handle_requested({"catalog_id": "c1", "request_id": "r1"})
    event = {"peer_id": "p1", "edge_id": "e-p1", "catalog_ids": ["c1"]}
    rig.service.handle_peer_available(event)
    rig.service.handle_peer_available(event)
    tokens = rig.database["screenshot_tokens"]
    assert tokens.count_documents({}) == 1
    assert len({body["token"] for _, body in rig.edge.received}) == 1

    clock.advance(minutes=31)  # the first token has expired: a fresh one is issued
    rig.service.handle_peer_available(event)
    assert tokens.count_documents({}) == 2
    assert peer_tokens(clock).verify(rig.edge.received[-1][1]["token"]).peer_id == "p1"


@pytest.mark.parametrize(
    "data",
    [{"edge_id": "e1", "catalog_ids": ["c1"]}, {"peer_id": "p1", "catalog_ids": ["c1"]},
     {"peer_id": "p1", "edge_id": "e1", "catalog_ids": "c1"}, "junk"],
    ids=["no-peer", "no-edge", "catalogs-not-list", "not-object"],
)  # fmt: skip
def test_invalid_peer_available_event_is_refused(rig, data):
    with pytest.raises(InvalidRequest):
        rig.service.handle_peer_available(data)


def test_two_racing_offers_give_a_peer_one_token(httpserver, database, store, clock):
    rig = build_rig(httpserver, database=database, store=store, clock=clock)
    rig.serve_peers("c1", [("p1", "e-p1")])
    rig.service.handle_requested({"catalog_id": "c1", "request_id": "r1"})
    tokens = rig.database["screenshot_tokens"]
    tokens.delete_many({})  # start from a pending request nobody has a token for
    # Both offers read "no live token" before either writes: the interleaving of the race.
    rig.service.records.tokens = RendezvousCollection(tokens, "find_one", parties=2)
    offer = {"peer_id": "p1", "edge_id": "e-p1", "catalog_ids": ["c1"]}

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda _: rig.service.handle_peer_available(offer), range(2)))

    assert tokens.count_documents({"request_id": "r1", "peer_id": "p1", "state": "issued"}) == 1
    sent = [body["token"] for _, body in rig.edge.received[-2:]]
    assert len(sent) == 2 and sent[0] == sent[1]


def test_the_upload_url_sent_to_the_edge_is_absolute(httpserver, database, store, clock):
    rig = build_rig(
        httpserver,
        database=database,
        store=store,
        clock=clock,
        PUBLIC_BASE_URL="https://media.example.com",
    )
    rig.offer("cat-1", "r1")
    [(_, body)] = rig.edge.received
    assert body["screenshot_upload_url"] == "https://media.example.com/api/screenshot/cat-1"
