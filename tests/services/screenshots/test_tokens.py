"""Peer upload tokens verify only with our key, audience, type and before expiry."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from services.core.errors import Unauthorized
from services.screenshots.tokens import (
    AUDIENCE,
    INVALID_TOKEN,
    MALFORMED_HEADER,
    TOKEN_TYPE,
    PeerTokens,
    bearer_token,
)
from tests.conftest import JWT_TEST_SECRET
from tests.fixtures.screenshots import PEER_SECRET


@pytest.fixture
def tokens(clock) -> PeerTokens:
    return PeerTokens(PEER_SECRET, ttl=timedelta(minutes=30), clock=clock)


def claims(clock, **changes):
    payload = {
        "type": TOKEN_TYPE, "aud": AUDIENCE, "token_id": "t1", "peer_id": "p1",
        "catalog_id": "c1", "request_id": "r1",
        "exp": int((clock() + timedelta(minutes=5)).timestamp()),
    }  # fmt: skip
    payload.update(changes)
    return {key: value for key, value in payload.items() if value is not None}


def test_issued_token_verifies_with_its_claims_and_lifetime(tokens, clock):
    token, issued = tokens.issue(peer_id="p1", catalog_id="c1", request_id="r1")
    verified = tokens.verify(token)
    assert verified == issued
    assert (verified.peer_id, verified.catalog_id, verified.request_id) == ("p1", "c1", "r1")
    assert verified.expires_at == clock() + timedelta(minutes=30)
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["type"] == "screenshot_upload" and payload["aud"] == AUDIENCE


def test_reencoding_claims_gives_the_same_token(tokens):
    token, issued = tokens.issue(peer_id="p1", catalog_id="c1", request_id="r1")
    assert tokens.encode(issued) == token


def test_expired_token_is_refused(tokens, clock):
    token, _ = tokens.issue(peer_id="p1", catalog_id="c1", request_id="r1")
    clock.advance(minutes=30)
    with pytest.raises(Unauthorized, match=INVALID_TOKEN):
        tokens.verify(token)


def test_user_access_token_is_refused(tokens, clock):
    user = jwt.encode(
        {"sub": "alice", "type": "access", "exp": int(clock().timestamp()) + 600},
        JWT_TEST_SECRET, algorithm="HS256",
    )  # fmt: skip
    with pytest.raises(Unauthorized):
        tokens.verify(user)


@pytest.mark.parametrize(
    "changes",
    [{"type": "access"}, {"aud": "someone-else"}, {"aud": None}, {"token_id": None},
     {"request_id": 7}, {"exp": None}],
    ids=["type", "audience", "no-audience", "no-token-id", "non-string-id", "no-exp"],
)  # fmt: skip
def test_token_signed_with_our_key_but_wrong_claims_is_refused(tokens, clock, changes):
    token = jwt.encode(claims(clock, **changes), PEER_SECRET, algorithm="HS256")
    with pytest.raises(Unauthorized, match=INVALID_TOKEN):
        tokens.verify(token)


def test_foreign_key_and_unsigned_tokens_are_refused(tokens, clock):
    foreign = jwt.encode(claims(clock), b"another-key-of-enough-length-0123456789", "HS256")
    unsigned = jwt.encode(claims(clock), None, algorithm="none")
    for token in (foreign, unsigned, "not-a-jwt"):
        with pytest.raises(Unauthorized, match=INVALID_TOKEN):
            tokens.verify(token)


def test_empty_secret_is_refused(clock):
    with pytest.raises(ValueError):
        PeerTokens(b"", ttl=timedelta(minutes=1), clock=clock)


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic abc", "Bearer a b"])
def test_malformed_authorization_header_is_refused(header):
    with pytest.raises(Unauthorized, match=MALFORMED_HEADER):
        bearer_token(header)


def test_bearer_scheme_is_case_insensitive():
    assert bearer_token("bearer abc") == "abc"
