"""Bearer tokens: strict verification, RS256/ES256 keys, the user account service."""

from __future__ import annotations

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from services.clients.users import UserProfiles
from tests.conftest import JWT_TEST_SECRET
from tests.fixtures.clock import FakeClock
from tests.fixtures.entities import create as create_entity
from tests.helpers import upload
from tests.media import make_video_of_size

# Tokens are judged by the service clock, which the tests start at this moment.
NOW = int(FakeClock().now.timestamp())


def _claims(**extra):
    return {"sub": "alice", "iat": NOW, "exp": NOW + 600, "type": "access", **extra}


def _hs256(claims, key=JWT_TEST_SECRET):
    return pyjwt.encode(claims, key, algorithm="HS256")


def _status(client, token):
    return client.get("/storage-status", headers={"Authorization": f"Bearer {token}"})


def test_token_from_another_issuer_with_our_key_works_without_type_claim(client):
    claims = _claims()
    del claims["type"]
    assert _status(client, _hs256(claims)).status_code == 200


@pytest.mark.parametrize(
    "token",
    [
        _hs256(_claims(exp=NOW - 10)),
        _hs256(_claims(nbf=NOW + 60)),
        _hs256(_claims(), key="another-secret-another-secret-another-secret-0000"),
        _hs256({k: v for k, v in _claims().items() if k != "exp"}),
        _hs256({k: v for k, v in _claims().items() if k != "sub"}),
        _hs256(_claims(sub="")),
        _hs256(_claims(type="refresh")),
        pyjwt.encode(_claims(), key=None, algorithm="none"),
        "not-a-jwt",
        "",
    ],
    ids=[
        "expired",
        "not-yet-valid",
        "bad-signature",
        "no-exp",
        "no-sub",
        "empty-sub",
        "refresh",
        "alg-none",
        "garbage",
        "empty",
    ],
)
def test_bad_tokens_are_401_unauthorized(client, token):
    response = _status(client, token)
    assert response.status_code == 401
    assert response.get_json() == {"error": "Unauthorized"}


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "bearer", "Token x"])
def test_malformed_authorization_header_is_401(client, header):
    response = client.get("/storage-status", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.get_json() == {"error": "Unauthorized"}


def test_identity_email_and_username_come_from_claims(client):
    token = _hs256(_claims(email="a@example.com", username="al"))
    assert (
        upload(
            client, {"Authorization": f"Bearer {token}"}, make_video_of_size(1000), "a.mp4"
        ).status_code
        == 200
    )
    body = client.get("/storage-status", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert body["files"][0]["filename"] == "al/a.mp4"
    deleted = client.delete(
        "/delete-file", json={"filename": "a.mp4"}, headers={"Authorization": f"Bearer {token}"}
    ).get_json()
    assert deleted["email"] == "a@example.com"


def test_email_is_null_and_username_is_sub_without_claims(client, auth):
    upload(client, auth(), make_video_of_size(1000), "a.mp4")
    body = client.get("/storage-status", headers=auth()).get_json()
    assert body["files"][0]["filename"] == "alice/a.mp4"
    deleted = client.delete("/delete-file", json={"filename": "a.mp4"}, headers=auth()).get_json()
    assert deleted["email"] is None


def _pem_pair(kind):
    key = (
        rsa.generate_private_key(65537, 2048)
        if kind == "RS256"
        else ec.generate_private_key(ec.SECP256R1())
    )
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return key, public


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_asymmetric_tokens_verify_with_the_public_key(make_app, algorithm, tmp_path):
    key, public = _pem_pair(algorithm)
    client = make_app(JWT_ALGORITHM=algorithm, JWT_PUBLIC_KEY=public).test_client()
    assert _status(client, pyjwt.encode(_claims(), key, algorithm=algorithm)).status_code == 200
    other, _ = _pem_pair(algorithm)
    assert _status(client, pyjwt.encode(_claims(), other, algorithm=algorithm)).status_code == 401
    # An HS256 token signed with the public key text must not pass (algorithm confusion).
    confused = pyjwt.encode(_claims(), JWT_TEST_SECRET, algorithm="HS256")
    assert _status(client, confused).status_code == 401


def test_public_key_can_come_from_a_file(make_app, tmp_path):
    key, public = _pem_pair("RS256")
    path = tmp_path / "public.pem"
    path.write_text(public)
    client = make_app(JWT_ALGORITHM="RS256", JWT_PUBLIC_KEY_PATH=str(path)).test_client()
    assert _status(client, pyjwt.encode(_claims(), key, algorithm="RS256")).status_code == 200


def test_user_service_profile_supplies_email_and_username(make_app, httpserver):
    token = _hs256(_claims())
    httpserver.expect_request(
        "/api/users/profile", headers={"Authorization": f"Bearer {token}"}
    ).respond_with_json({"_id": "alice", "username": "alice-p", "email": "p@example.com"})
    profiles = UserProfiles(httpserver.url_for("/"), timeout=2)
    client = make_app(profiles=profiles).test_client()
    headers = {"Authorization": f"Bearer {token}"}
    upload(client, headers, make_video_of_size(1000), "a.mp4")
    assert _status(client, token).get_json()["files"][0]["filename"] == "alice-p/a.mp4"
    assert (
        client.delete("/delete-file", json={"filename": "a.mp4"}, headers=headers).get_json()[
            "email"
        ]
        == "p@example.com"
    )
    assert len(httpserver.log) == 1  # later requests were answered from the cache


@pytest.mark.parametrize("status", [401, 403, 500])
def test_user_service_rejection_is_401(make_app, httpserver, status):
    httpserver.expect_request("/api/users/profile").respond_with_json(
        {"error": "no"}, status=status
    )
    client = make_app(profiles=UserProfiles(httpserver.url_for("/"), timeout=2)).test_client()
    response = _status(client, _hs256(_claims()))
    assert response.status_code == 401
    assert response.get_json() == {"error": "Unauthorized"}


def test_unreachable_user_service_is_401(make_app):
    client = make_app(profiles=UserProfiles("http://127.0.0.1:9", timeout=0.5)).test_client()
    assert _status(client, _hs256(_claims())).status_code == 401


def test_profile_cache_expires(httpserver):
    httpserver.expect_request("/api/users/profile").respond_with_json({"username": "u"})
    now = [0.0]
    profiles = UserProfiles(httpserver.url_for("/"), cache_seconds=30, clock=lambda: now[0])
    assert profiles.lookup("t") == {"username": "u"}
    assert profiles.lookup("t") == {"username": "u"}
    assert len(httpserver.log) == 1
    now[0] = 31
    profiles.lookup("t")
    assert len(httpserver.log) == 2


def test_mint_token_cli_prints_a_working_token(app, runner):
    result = runner.invoke(args=["mint-token", "carol", "--email", "c@example.com"])
    assert result.exit_code == 0
    token = result.output.strip()
    assert _status(app.test_client(), token).status_code == 200
    claims = pyjwt.decode(
        token, JWT_TEST_SECRET, algorithms=["HS256"], options={"verify_exp": False}
    )
    assert claims["sub"] == "carol" and claims["email"] == "c@example.com"
    assert claims["exp"] == NOW + 24 * 3600  # the service clock's now, plus --hours


def test_admin_and_permission_claims_reach_the_current_user(app, token):
    from flask_jwt_extended import verify_jwt_in_request

    from blueprints._http.context import current_user

    minted = token("svc", is_admin=True, permissions=["media_internal"])
    with app.test_request_context(headers={"Authorization": f"Bearer {minted}"}):
        verify_jwt_in_request()
        user = current_user()
    assert user.is_admin and user.permissions == frozenset({"media_internal"})


ISSUER, AUDIENCE = "https://issuer.example", "mediastore"


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        ({"iss": ISSUER, "aud": AUDIENCE}, 200),
        ({"iss": ISSUER, "aud": ["other", AUDIENCE]}, 200),
        ({"iss": "https://elsewhere.example", "aud": AUDIENCE}, 401),
        ({"aud": AUDIENCE}, 401),
        ({"iss": ISSUER, "aud": "other"}, 401),
        ({"iss": ISSUER}, 401),
    ],
    ids=["both", "audience-list", "other-issuer", "no-issuer", "other-audience", "no-audience"],
)
def test_issuer_and_audience_are_enforced_when_set(make_app, extra, status):
    client = make_app(JWT_ISSUER=ISSUER, JWT_AUDIENCE=AUDIENCE).test_client()
    assert _status(client, _hs256(_claims(**extra))).status_code == status


def test_issuer_and_audience_are_not_required_when_unset(client):
    assert _status(client, _hs256(_claims())).status_code == 200
    assert _status(client, _hs256(_claims(iss="anyone", aud="anything"))).status_code == 200


def test_development_tokens_carry_the_configured_issuer_and_audience(make_app):
    app = make_app(JWT_ISSUER=ISSUER, JWT_AUDIENCE=AUDIENCE)
    with app.app_context():
        from blueprints._http.tokens import mint_token

        token = mint_token("alice")
    assert _status(app.test_client(), token).status_code == 200


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_asymmetric_modes_enforce_issuer_and_audience(make_app, algorithm):
    key, public = _pem_pair(algorithm)
    app = make_app(
        JWT_ALGORITHM=algorithm, JWT_PUBLIC_KEY=public, JWT_ISSUER=ISSUER, JWT_AUDIENCE=AUDIENCE
    )
    client = app.test_client()
    good = pyjwt.encode(_claims(iss=ISSUER, aud=AUDIENCE), key, algorithm=algorithm)
    foreign = pyjwt.encode(_claims(iss="https://elsewhere.example"), key, algorithm=algorithm)
    assert _status(client, good).status_code == 200
    assert _status(client, foreign).status_code == 401
    # The entity API verifies through the same manager (app/auth.py) in every mode.
    writer = pyjwt.encode(
        _claims(iss=ISSUER, aud=AUDIENCE, permissions=["media_store_write"]),
        key,
        algorithm=algorithm,
    )
    for token, status in ((writer, 201), (foreign, 401)):
        created = create_entity(client, headers={"Authorization": f"Bearer {token}"}, label="a")
        assert created.status_code == status, created.get_json()


def test_a_request_decodes_its_token_once(client, auth, monkeypatch):
    # flask-jwt-extended decoded every token twice (unverified for a key loader, then
    # verified); both calls go through PyJWT's module-level decode.
    calls = []
    real_decode = pyjwt.decode

    def counting_decode(*args, **kwargs):
        calls.append(kwargs.get("options"))
        return real_decode(*args, **kwargs)

    headers = auth("alice")
    monkeypatch.setattr(pyjwt, "decode", counting_decode)
    assert client.get("/storage-status", headers=headers).status_code == 200
    assert len(calls) == 1
    assert (calls[0] or {}).get("verify_signature", True) is True


def _counting_decodes(monkeypatch) -> list:
    calls = []
    real_decode = pyjwt.decode

    def counting_decode(*args, **kwargs):
        calls.append(args[0] if args else kwargs.get("jwt"))
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(pyjwt, "decode", counting_decode)
    return calls


def test_a_token_is_verified_once_however_often_it_is_sent(client, auth, monkeypatch):
    headers = auth("alice")
    calls = _counting_decodes(monkeypatch)
    for _ in range(3):
        assert client.get("/storage-status", headers=headers).status_code == 200
    assert len(calls) == 1


def test_a_verified_token_still_expires_by_the_service_clock(client, clock):
    token = _hs256(_claims(exp=NOW + 60))
    assert _status(client, token).status_code == 200
    clock.advance(seconds=61)
    assert _status(client, token).status_code == 401


def test_a_token_that_failed_is_verified_again_and_refused_every_time(client, monkeypatch):
    forged = _hs256(_claims(), key="another-secret-another-secret-another-secret-0000")
    calls = _counting_decodes(monkeypatch)
    assert [_status(client, forged).status_code for _ in range(2)] == [401, 401]
    assert len(calls) == 2


def test_a_token_verified_by_one_app_is_judged_afresh_by_an_app_with_other_settings(make_app):
    token = _hs256(_claims(iss="https://elsewhere.example", aud=AUDIENCE))
    assert _status(make_app().test_client(), token).status_code == 200
    strict = make_app(JWT_ISSUER=ISSUER, JWT_AUDIENCE=AUDIENCE).test_client()
    assert _status(strict, token).status_code == 401


def test_changing_the_claims_a_view_got_does_not_change_the_next_request(app, token):
    from flask_jwt_extended import get_jwt, verify_jwt_in_request

    headers = {"Authorization": f"Bearer {token('alice')}"}
    with app.test_request_context(headers=headers):
        verify_jwt_in_request()
        get_jwt()["sub"] = "mallory"
    with app.test_request_context(headers=headers):
        verify_jwt_in_request()
        assert get_jwt()["sub"] == "alice"


def test_a_token_header_is_read_once_however_often_it_is_sent(client, auth, monkeypatch):
    # flask-jwt-extended read the header again after every verified decode.
    calls = []
    real_header = pyjwt.get_unverified_header

    def counting_header(token):
        calls.append(token)
        return real_header(token)

    headers = auth("alice")
    monkeypatch.setattr(pyjwt, "get_unverified_header", counting_header)
    for _ in range(3):
        assert client.get("/storage-status", headers=headers).status_code == 200
    assert len(calls) == 1


def test_changing_the_header_a_view_got_does_not_change_the_next_request(app, token):
    from flask_jwt_extended import get_jwt_header

    from blueprints._http.auth import verify_jwt_in_request

    headers = {"Authorization": f"Bearer {token('alice')}"}
    with app.test_request_context(headers=headers):
        header, claims = verify_jwt_in_request()
        assert (header["alg"], claims["sub"]) == ("HS256", "alice")
        get_jwt_header()["alg"] = "none"
    with app.test_request_context(headers=headers):
        verify_jwt_in_request()
        assert get_jwt_header()["alg"] == "HS256"


def test_an_optional_token_may_be_absent_but_not_bad(app):
    from flask_jwt_extended import get_current_user, get_jwt
    from flask_jwt_extended.exceptions import NoAuthorizationError
    from jwt import InvalidSignatureError

    from blueprints._http.auth import verify_jwt_in_request

    with app.test_request_context():
        assert verify_jwt_in_request(optional=True) is None
        assert (get_current_user(), get_jwt()) == (None, {})
    with app.test_request_context(), pytest.raises(NoAuthorizationError):
        verify_jwt_in_request()
    forged = _hs256(_claims(), key="another-secret-another-secret-another-secret-0000")
    headers = {"Authorization": f"Bearer {forged}"}
    with app.test_request_context(headers=headers), pytest.raises(InvalidSignatureError):
        verify_jwt_in_request(optional=True)


# How flask-jwt-extended's header parser reads these (comma-separated values, exactly one of
# type Bearer, two words in it); the common form is read without it and must agree.
HEADER_FORMS = {
    "Bearer {t}": 200,
    "Bearer  {t}": 200,
    "Bearer\t{t}": 200,
    "Bearer {t},": 200,
    "Basic abc, Bearer {t}": 200,
    "Bearer {t},Basic x": 200,
    "Bearer {t}, Bearer {t}": 401,
    "bearer {t}": 401,
    "Bearer {t} extra": 401,
    "Bearer ": 401,
    "{t}": 401,
}


@pytest.mark.parametrize(("form", "status"), HEADER_FORMS.items(), ids=list(HEADER_FORMS))
def test_the_authorization_header_is_read_as_flask_jwt_extended_reads_it(client, form, status):
    header = form.format(t=_hs256(_claims()))
    response = client.get("/storage-status", headers={"Authorization": header})
    assert response.status_code == status


def test_settings_changed_on_a_running_app_decide_the_next_request(app, client):
    old = _hs256(_claims())
    assert _status(client, old).status_code == 200
    app.config["JWT_SECRET_KEY"] = "a-rotated-secret-a-rotated-secret-a-rotated-0000"
    assert _status(client, old).status_code == 401
    assert _status(client, _hs256(_claims(), key=app.config["JWT_SECRET_KEY"])).status_code == 200
    app.config["JWT_DECODE_ISSUER"] = ISSUER
    assert _status(client, _hs256(_claims(), key=app.config["JWT_SECRET_KEY"])).status_code == 401
