"""Download tokens: bound to one id, expiring by the service clock, signed with their own key."""

from __future__ import annotations

import pytest

from services.core.errors import Forbidden
from services.media.tokens import DownloadTokens
from tests.fixtures.clock import FakeClock

ID = "110e8400-e29b-41d4-a716-446655440000"
OTHER = "110e8400-e29b-41d4-a716-446655440001"


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def tokens(clock):
    return DownloadTokens(b"k" * 32, ttl_seconds=900, clock=clock)


def test_a_token_verifies_for_its_id_until_it_expires(tokens, clock):
    token = tokens.issue(ID)
    tokens.verify(token, ID)
    clock.advance(seconds=899)
    tokens.verify(token, ID)
    clock.advance(seconds=1)
    with pytest.raises(Forbidden):
        tokens.verify(token, ID)


def test_a_token_does_not_open_another_file(tokens):
    with pytest.raises(Forbidden):
        tokens.verify(tokens.issue(ID), OTHER)


def test_another_key_does_not_verify(tokens, clock):
    other = DownloadTokens(b"j" * 32, ttl_seconds=900, clock=clock)
    with pytest.raises(Forbidden):
        tokens.verify(other.issue(ID), ID)


@pytest.mark.parametrize("token", ["", ".", "abc.def", "1.", "-5.x", "١٢٣.x", "9" * 40 + ".x"])
def test_malformed_tokens_are_forbidden(tokens, token):
    with pytest.raises(Forbidden):
        tokens.verify(token, ID)


def test_an_empty_secret_is_refused(clock):
    with pytest.raises(ValueError):
        DownloadTokens(b"", ttl_seconds=1, clock=clock)
