"""Entity file tokens: one entity version, an expiry by the service clock, nothing else."""

from __future__ import annotations

import pytest

from services.core.errors import Forbidden
from services.entities.tokens import FileTokens
from services.media.tokens import DownloadTokens


@pytest.fixture
def tokens(clock) -> FileTokens:
    return FileTokens(b"k" * 32, ttl_seconds=60, clock=clock)


def test_a_token_reads_its_version_until_it_expires(tokens, clock):
    token, expires_at = tokens.issue(7, 3)
    tokens.verify(token, "7", "3")
    tokens.verify(token, 7, 3)
    assert expires_at == clock().replace(microsecond=0) + tokens.ttl
    clock.advance(seconds=60)
    with pytest.raises(Forbidden):
        tokens.verify(token, "7", "3")


@pytest.mark.parametrize(
    ("entity_id", "version"), [("8", "3"), ("7", "4"), ("7", None), ("x", "3"), ("7", "-3")]
)
def test_any_other_entity_or_version_is_refused(tokens, entity_id, version):
    token, _ = tokens.issue(7, 3)
    with pytest.raises(Forbidden):
        tokens.verify(token, entity_id, version)


@pytest.mark.parametrize("token", ["", ".", "abc.def", "9" * 40 + ".x", "１２.x"])
def test_malformed_tokens_are_refused(tokens, token):
    with pytest.raises(Forbidden):
        tokens.verify(token, "7", "3")


def test_another_key_or_a_media_download_token_never_passes(tokens, clock):
    other = FileTokens(b"j" * 32, ttl_seconds=60, clock=clock)
    media = DownloadTokens(b"k" * 32, ttl_seconds=60, clock=clock)
    for token in (other.issue(7, 3)[0], media.issue("7")):
        with pytest.raises(Forbidden):
            tokens.verify(token, "7", "3")
