"""Peer uploads: all files or none, the token spent once, one completion per request."""

from __future__ import annotations

import threading
from datetime import timedelta

import jwt
import pytest

from services.core.errors import (
    Forbidden,
    InvalidRequest,
    PayloadTooLarge,
    StorageUnavailable,
    Unauthorized,
    UnsupportedMediaType,
)
from services.events.outbox import Outbox
from services.screenshots.tokens import AUDIENCE, TOKEN_TYPE
from tests.fixtures.failing import FailingStore, PartlyBrokenDatabase
from tests.fixtures.screenshots import PEER_SECRET, build_rig, parts
from tests.media import make_image


def objects(store) -> list[str]:
    """Committed objects under screenshots/ (records only; data files are hidden)."""
    root = store.root / "screenshots"
    return sorted(
        str(p.relative_to(store.root)) for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    ) if root.exists() else []  # fmt: skip


def bearer(token: str) -> str:
    return f"Bearer {token}"


def token_state(rig, token_id=None, peer="p1") -> str:
    query = {"_id": token_id} if token_id else {"peer_id": peer}
    return rig.database["screenshot_tokens"].find_one(query)["state"]


def test_upload_stores_every_file_and_completes_the_request(rig, store):
    token = rig.offer(peers=("p1",))["p1"]
    png, jpeg, webp = make_image("png"), make_image("jpeg"), make_image("webp")

    result = rig.service.upload(bearer(token), "c1", parts(png, jpeg, webp))

    assert result["catalog_id"] == "c1" and len(result["screenshot_urls"]) == 3
    stored = objects(store)
    assert sorted(name.rsplit(".", 1)[1] for name in stored) == ["jpg", "png", "webp"]
    assert all(name.startswith("screenshots/c1/r1/") for name in stored)
    assert sorted(store.stat(n).content_type for n in stored) == [
        "image/jpeg", "image/png", "image/webp",
    ]  # fmt: skip
    request = rig.database["screenshot_requests"].find_one({"_id": "r1"})
    assert request["state"] == "completed" and request["peer_id"] == "p1"
    assert token_state(rig) == "used"
    assert len(rig.service.list_urls("c1")) == 3

    [event] = rig.completed_events()
    assert event.event_id == "screenshots.completed:r1"
    assert event.data["status"] == "completed"
    assert (event.data["catalog_id"], event.data["request_id"]) == ("c1", "r1")
    assert len(event.data["screenshot_urls"]) == 3


def test_success_revokes_the_other_peers_tokens(rig):
    tokens = rig.offer(peers=("p1", "p2"))
    rig.service.upload(bearer(tokens["p1"]), "c1", parts(make_image("png")))
    assert token_state(rig, peer="p2") == "revoked"
    with pytest.raises(Forbidden, match="Screenshot request already fulfilled"):
        rig.service.upload(bearer(tokens["p2"]), "c1", parts(make_image("png")))


def test_reused_token_is_refused(rig):
    token = rig.offer()["p1"]
    rig.service.upload(bearer(token), "c1", parts(make_image("png")))
    with pytest.raises(Forbidden, match="Token has already been used"):
        rig.service.upload(bearer(token), "c1", parts(make_image("png")))


@pytest.mark.parametrize(
    ("blobs", "error"),
    [((b"plain text",), UnsupportedMediaType), ((b"",), UnsupportedMediaType),
     ((), InvalidRequest), ((make_image("png"),) * 11, InvalidRequest),
     ((make_image("png"), b"GIF89a not accepted"), UnsupportedMediaType)],
    ids=["text", "empty", "no-files", "too-many", "second-file-bad"],
)  # fmt: skip
def test_refused_upload_leaves_nothing_and_keeps_the_token(rig, store, blobs, error):
    token = rig.offer()["p1"]
    with pytest.raises(error):
        rig.service.upload(bearer(token), "c1", parts(*blobs))
    assert objects(store) == []
    assert token_state(rig) == "issued"
    assert rig.service.upload(bearer(token), "c1", parts(make_image("png")))["screenshot_urls"]


def test_oversized_file_is_refused_while_streaming(httpserver, database, store, clock):
    rig = build_rig(
        httpserver, database=database, store=store, clock=clock, MAX_SCREENSHOT_BYTES=100
    )
    token = rig.offer()["p1"]
    big = make_image("png", size=(64, 64))
    assert len(big) > 100
    with pytest.raises(PayloadTooLarge):
        rig.service.upload(bearer(token), "c1", parts(big, chunk=16))
    assert objects(store) == [] and token_state(rig) == "issued"


@pytest.mark.parametrize("failure", ["write", "commit"])
def test_storage_failure_does_not_spend_the_token(httpserver, database, store, clock, failure):
    failing = FailingStore(store)
    rig = build_rig(httpserver, database=database, store=failing, clock=clock)
    token = rig.offer()["p1"]
    if failure == "write":
        failing.fail_write_after = 10
    else:
        failing.fail_commit = True
    blobs = (make_image("png"), make_image("jpeg"))
    with pytest.raises(StorageUnavailable):
        rig.service.upload(bearer(token), "c1", parts(*blobs))
    assert objects(store) == []
    assert not any((store.root / ".tmp").iterdir())
    assert token_state(rig) == "issued"

    failing.fail_write_after, failing.fail_commit = None, False
    assert len(rig.service.upload(bearer(token), "c1", parts(*blobs))["screenshot_urls"]) == 2


def test_failed_gate_write_gives_the_token_back(httpserver, database, store, clock):
    broken = PartlyBrokenDatabase(database, "screenshot_requests", {"find_one_and_update"})
    rig = build_rig(httpserver, database=broken, store=store, clock=clock)
    token = rig.offer()["p1"]
    with pytest.raises(RuntimeError):
        rig.service.upload(bearer(token), "c1", parts(make_image("png")))
    assert objects(store) == []
    assert token_state(rig) == "issued"
    assert database["screenshot_requests"].find_one({"_id": "r1"})["state"] == "pending"


class _AnswerLost:
    """A database where one collection applies find_one_and_update, then fails to answer."""

    def __init__(self, database, name: str) -> None:
        self.database, self.name = database, name

    def __getitem__(self, name: str):
        collection = self.database[name]
        return _LostCollection(collection) if name == self.name else collection


class _LostCollection:
    def __init__(self, collection) -> None:
        self.collection = collection

    def find_one_and_update(self, *args, **kwargs):
        self.collection.find_one_and_update(*args, **kwargs)
        raise ConnectionError("answer lost")

    def __getattr__(self, name: str):
        return getattr(self.collection, name)


def test_failed_spend_write_leaves_no_objects_and_an_issued_token(
    httpserver, database, store, clock
):
    broken = PartlyBrokenDatabase(database, "screenshot_tokens", {"find_one_and_update"})
    rig = build_rig(httpserver, database=broken, store=store, clock=clock)
    token = rig.offer()["p1"]
    with pytest.raises(RuntimeError):
        rig.service.upload(bearer(token), "c1", parts(make_image("png")))
    assert objects(store) == [] and token_state(rig) == "issued"


def test_spend_applied_but_unanswered_is_given_back(httpserver, database, store, clock):
    rig = build_rig(
        httpserver, database=_AnswerLost(database, "screenshot_tokens"), store=store, clock=clock
    )
    token = rig.offer()["p1"]
    with pytest.raises(ConnectionError):
        rig.service.upload(bearer(token), "c1", parts(make_image("png")))
    assert objects(store) == [] and token_state(rig) == "issued"


def test_gate_passed_but_unanswered_counts_as_success(httpserver, database, store, clock):
    rig = build_rig(
        httpserver, database=_AnswerLost(database, "screenshot_requests"), store=store, clock=clock
    )
    token = rig.offer()["p1"]
    result = rig.service.upload(bearer(token), "c1", parts(make_image("png")))
    assert len(result["screenshot_urls"]) == 1 and len(objects(store)) == 1
    assert token_state(rig) == "used"
    assert database["screenshot_requests"].find_one({"_id": "r1"})["state"] == "completed"
    assert len(rig.completed_events()) == 1


def test_crash_after_the_gate_is_finished_by_resume(httpserver, database, store, clock):
    broken = PartlyBrokenDatabase(database, "outbox", {"insert_one"})
    rig = build_rig(httpserver, database=broken, store=store, clock=clock)
    tokens = rig.offer(peers=("p1", "p2"))
    result = rig.service.upload(bearer(tokens["p1"]), "c1", parts(make_image("png")))
    assert len(result["screenshot_urls"]) == 1  # the upload itself succeeded
    assert database["screenshot_requests"].find_one({"_id": "r1"})["state"] == "completing"
    assert rig.completed_events() == []

    rig.service.uploads.outbox = rig.outbox = Outbox(database["outbox"], rig.publisher, clock=clock)
    assert rig.service.resume_completions() == 1
    assert rig.service.resume_completions() == 0
    assert database["screenshot_requests"].find_one({"_id": "r1"})["state"] == "completed"
    assert len(rig.completed_events()) == 1
    assert token_state(rig, peer="p2") == "revoked"


def test_one_token_two_concurrent_uploads_exactly_one_succeeds(rig, store):
    token = rig.offer()["p1"]
    outcomes = race(rig, [token, token])
    assert sorted(outcomes, key=str) == sorted(["ok", "Token has already been used"], key=str)
    assert len(objects(store)) == 1
    assert len(rig.completed_events()) == 1


def test_two_peers_racing_produce_one_completion(rig, store):
    tokens = rig.offer(peers=("p1", "p2"))
    outcomes = race(rig, [tokens["p1"], tokens["p2"]])
    assert sorted(outcomes) == sorted(["ok", "Screenshot request already fulfilled"])
    assert len(objects(store)) == 1
    assert len(rig.completed_events()) == 1
    states = sorted(doc["state"] for doc in rig.database["screenshot_tokens"].find({}))
    assert states == ["revoked", "used"]


def race(rig, tokens: list[str]) -> list[str]:
    """Upload with each token in its own thread; all pass the checks and store first."""
    barrier = threading.Barrier(len(tokens))
    outcomes: list[str] = []

    def files():
        yield from parts(make_image("png"))
        barrier.wait(timeout=10)  # everyone has stored its file before anyone commits

    def run(token):
        try:
            rig.service.upload(bearer(token), "c1", files())
            outcomes.append("ok")
        except Forbidden as error:
            outcomes.append(error.message)

    threads = [threading.Thread(target=run, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    return outcomes


def test_token_for_another_catalog_is_refused(rig):
    token = rig.offer()["p1"]
    with pytest.raises(InvalidRequest, match="Catalog ID in URL does not match token"):
        rig.service.upload(bearer(token), "c2", parts(make_image("png")))
    assert token_state(rig) == "issued"


def test_token_with_unsafe_ids_is_refused_before_touching_storage(rig, store, clock):
    payload = {
        "type": TOKEN_TYPE, "aud": AUDIENCE, "token_id": "t1", "peer_id": "p1",
        "catalog_id": "c1", "request_id": "../../etc",
        "exp": int((clock() + timedelta(minutes=5)).timestamp()),
    }  # fmt: skip
    token = jwt.encode(payload, PEER_SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized):
        rig.service.upload(bearer(token), "c1", parts(make_image("png")))
    assert not (store.root / "screenshots").exists()


def test_token_of_expired_request_is_refused(rig, clock):
    rig.serve_peers("c1", [("p1", "e-p1")])
    rig.service.handle_requested(
        {"catalog_id": "c1", "request_id": "r1", "expires_at": "2026-11-21T12:10:00Z"}
    )
    token = rig.edge.tokens()["p1"]
    clock.advance(minutes=15)
    with pytest.raises(Forbidden, match="Screenshot request has expired"):
        rig.service.upload(bearer(token), "c1", parts(make_image("png")))


def test_list_urls_is_empty_for_an_unknown_catalog(rig):
    assert rig.service.list_urls("nothing-here") == []


class _WinnerFirst:
    """A store that lets a rival upload win the request while this one's file is checked."""

    def __init__(self, store, rival) -> None:
        self.store, self.rival, self.fired = store, rival, False

    def read_range(self, name, start, end):
        if not self.fired:
            self.fired = True
            self.rival()  # passes the gate and sweeps every other try's file, this one's too
        return self.store.read_range(name, start, end)

    def __getattr__(self, name: str):
        return getattr(self.store, name)


def test_an_upload_whose_file_a_winner_swept_is_told_the_token_was_used(
    httpserver, database, store, clock
):
    rig_holder = {}
    token_holder = {}

    def rival():
        rig_holder["rig"].service.upload(bearer(token_holder["t"]), "c1", parts(make_image("png")))

    racing = _WinnerFirst(store, rival)
    rig = build_rig(httpserver, database=database, store=racing, clock=clock)
    rig_holder["rig"] = rig
    token_holder["t"] = rig.offer()["p1"]
    with pytest.raises(Forbidden) as refused:
        rig.service.upload(bearer(token_holder["t"]), "c1", parts(make_image("jpeg")))
    assert refused.value.message == "Token has already been used"
    assert racing.fired and len(objects(store)) == 1
    assert len(rig.completed_events()) == 1
