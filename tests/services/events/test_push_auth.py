"""PushVerifier accepts only Google-signed tokens for our audience and push service account."""

from __future__ import annotations

import base64
import json
import logging
import socket

import pytest

from app.wiring.events import push_verifier
from config import load_config
from services.core.errors import Unauthorized
from services.events.push_auth import NoVerification, PushVerifier
from tests.fixtures.oidc import oidc  # noqa: F401


@pytest.fixture
def verifier(oidc) -> PushVerifier:  # noqa: F811
    return PushVerifier(oidc.audience, oidc.email, certs_url=oidc.certs_url)


def bearer(token: str) -> str:
    return f"Bearer {token}"


def tamper(token: str, **changes: object) -> str:
    """Rewrite the payload of a signed token, keeping the original signature."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/oauth2/v1/certs"


def test_valid_token_returns_its_claims(verifier, oidc):  # noqa: F811
    claims = verifier.verify(bearer(oidc.token()))

    assert claims["aud"] == oidc.audience
    assert claims["email"] == oidc.email
    assert claims["email_verified"] is True


def test_issuer_without_scheme_is_accepted(verifier, oidc):  # noqa: F811
    assert verifier.verify(bearer(oidc.token(issuer="accounts.google.com")))["iss"] == (
        "accounts.google.com"
    )


@pytest.mark.parametrize(
    "header",
    [None, "", "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "bearer-token", "Bearer a b"],
)
def test_malformed_authorization_header_is_rejected(verifier, header):
    with pytest.raises(Unauthorized, match="Unauthorized"):
        verifier.verify(header)


def test_garbage_token_is_rejected(verifier):
    for token in ("not-a-jwt", "a.b.c", "e30.e30.", "....."):
        with pytest.raises(Unauthorized):
            verifier.verify(bearer(token))


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"audience": "https://someone-else.example/push"}, id="wrong-audience"),
        pytest.param({"email": "intruder@evil.iam.gserviceaccount.com"}, id="wrong-email"),
        pytest.param({"email_verified": False}, id="email-unverified"),
        pytest.param({"email_verified": None}, id="email-verified-missing"),
        pytest.param({"email": None}, id="email-missing"),
        pytest.param({"expires_in": -120}, id="expired"),
        pytest.param({"issuer": "https://evil.example.com"}, id="wrong-issuer"),
        pytest.param({"exp": None}, id="exp-missing"),
    ],
)
def test_token_with_wrong_claims_is_rejected(verifier, oidc, overrides):  # noqa: F811
    with pytest.raises(Unauthorized):
        verifier.verify(bearer(oidc.token(**overrides)))


def test_token_from_an_unpublished_key_is_rejected(verifier, oidc):  # noqa: F811
    with pytest.raises(Unauthorized):
        verifier.verify(bearer(oidc.other_key_token()))


def test_token_forged_under_a_published_kid_is_rejected(verifier, oidc):  # noqa: F811
    with pytest.raises(Unauthorized):
        verifier.verify(bearer(oidc.other_key_token(kid=oidc.kid)))


def test_tampered_payload_is_rejected(verifier, oidc):  # noqa: F811
    token = oidc.token(audience="https://someone-else.example/push")

    with pytest.raises(Unauthorized):
        verifier.verify(bearer(tamper(token, aud=oidc.audience)))


@pytest.mark.parametrize(
    "audience, account, claims",
    [
        # Each token would pass if the unset setting meant "do not check".
        pytest.param(None, "configured", {}, id="no-audience"),
        pytest.param("", "configured", {}, id="empty-audience"),
        pytest.param("configured", None, {"email": None}, id="no-service-account"),
    ],
)
def test_unconfigured_verifier_fails_closed(oidc, audience, account, claims):  # noqa: F811
    audience = oidc.audience if audience == "configured" else audience
    account = oidc.email if account == "configured" else account
    verifier = PushVerifier(audience, account, certs_url=oidc.certs_url)

    with pytest.raises(Unauthorized):
        verifier.verify(bearer(oidc.token(**claims)))


def test_certs_endpoint_error_is_rejected_and_logged(oidc, httpserver, caplog):  # noqa: F811
    httpserver.expect_request("/down").respond_with_data("oops", status=503)
    verifier = PushVerifier(oidc.audience, oidc.email, certs_url=httpserver.url_for("/down"))

    with caplog.at_level(logging.WARNING), pytest.raises(Unauthorized):
        verifier.verify(bearer(oidc.token()))

    assert any(r.levelno == logging.WARNING and "certs" in r.message for r in caplog.records)


def test_certs_endpoint_unreachable_is_rejected(oidc):  # noqa: F811
    verifier = PushVerifier(oidc.audience, oidc.email, certs_url=closed_port_url())

    with pytest.raises(Unauthorized):
        verifier.verify(bearer(oidc.token()))


def test_certs_are_fetched_once_for_several_pushes(verifier, oidc):  # noqa: F811
    for _ in range(3):
        verifier.verify(bearer(oidc.token()))

    assert oidc.certs_fetches() == 1


def test_certs_are_refetched_when_max_age_has_passed(verifier, oidc, httpserver):  # noqa: F811
    httpserver.clear_all_handlers()
    oidc.serve_certs(cache_control="public, max-age=0")

    verifier.verify(bearer(oidc.token()))
    verifier.verify(bearer(oidc.token()))

    assert oidc.certs_fetches() == 2


def test_no_verification_accepts_anything():
    accept_all = NoVerification()

    assert accept_all.verify(None) == {}
    assert accept_all.verify("Basic whatever") == {}


def test_from_config_skips_verification_only_when_disabled(settings, oidc):  # noqa: F811
    off = load_config({**settings, "PUBSUB_VERIFY_PUSH": False})
    on = load_config(
        {
            **settings,
            "PUBSUB_VERIFY_PUSH": True,
            "PUBSUB_PUSH_AUDIENCE": oidc.audience,
            "PUBSUB_PUSH_SERVICE_ACCOUNT": oidc.email,
            "PUBSUB_PUSH_CERTS_URL": oidc.certs_url,
        }
    )

    assert isinstance(push_verifier(off), NoVerification)
    verifier = push_verifier(on)
    assert isinstance(verifier, PushVerifier)
    assert verifier.verify(bearer(oidc.token()))["email"] == oidc.email
