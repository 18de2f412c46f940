"""The GCS backend's signed URLs: V4 signatures, key files and IAM signBlob, upload URLs."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, urlsplit

import google.oauth2.credentials
import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from werkzeug import Request, Response

from app.wiring.storage import gcs_store
from services.core.errors import NotFound, StorageUnavailable
from tests.fixtures.gcs import (
    PROJECT,
    SIGNER_EMAIL,
    service_account_info,
    signing_private_key,
)
from tests.fixtures.objects import CHUNK, SIZE, put

pytest_plugins = ["tests.fixtures.gcs"]


@pytest.fixture(scope="module")
def payload() -> bytes:
    return os.urandom(SIZE)


# --- GCS ---------------------------------------------------------------------------------


def verify_v4_url(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> str:
    """Check X-Goog-Signature against the test key; return the string that was signed.

    `headers` are the ones the client sends besides Host: what GCS rebuilds the signed
    request from, so a URL signed for other headers fails here as it would at GCS.
    """
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    signature = bytes.fromhex(query.pop("X-Goog-Signature"))
    canonical_query = "&".join(
        sorted(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in query.items())
    )
    sent = {"host": parts.netloc, **{k.lower(): v for k, v in (headers or {}).items()}}
    signed_names = query["X-Goog-SignedHeaders"].split(";")
    canonical_headers = "".join(f"{name}:{sent[name]}\n" for name in signed_names)
    canonical_request = "\n".join(
        [
            method,
            parts.path,
            canonical_query,
            canonical_headers,
            ";".join(signed_names),
            "UNSIGNED-PAYLOAD",
        ]
    )
    scope = query["X-Goog-Credential"].split("/", 1)[1]
    string_to_sign = "\n".join(
        [
            "GOOG4-RSA-SHA256",
            query["X-Goog-Date"],
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    signing_private_key().public_key().verify(
        signature, string_to_sign.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    return string_to_sign


def test_gcs_signed_url_serves_ranges_and_names_the_download(gcs_store, payload):
    put(gcs_store, "videos/ab/signed", payload)

    url = gcs_store.signed_url("videos/ab/signed", 300, download_name='Ünïcode "clip".mp4')

    verify_v4_url(url)
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["X-Goog-Credential"].startswith(SIGNER_EMAIL + "/")
    assert query["X-Goog-Expires"] == "300"
    # fake-gcs-server ignores response-content-disposition, so check what GCS would echo.
    assert query["response-content-disposition"] == (
        'attachment; filename="Unicode _clip_.mp4"; '
        "filename*=UTF-8''%C3%9Cn%C3%AFcode%20%22clip%22.mp4"
    )
    assert requests.get(url, timeout=10).content == payload
    partial = requests.get(url, headers={"Range": "bytes=10-19"}, timeout=10)
    assert (partial.status_code, partial.content) == (206, payload[10:20])


def test_gcs_from_config_signs_with_the_key_file(fake_gcs, gcs_bucket_name, payload, tmp_path):
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(service_account_info()))
    service = gcs_store(
        {
            "GCS_BUCKET": gcs_bucket_name,
            "GCS_ENDPOINT": fake_gcs.url,
            "GCP_PROJECT": PROJECT,
            "GCS_CHUNK_BYTES": CHUNK,
            "GCS_SIGNING_KEY_FILE": str(key_file),
        }
    )
    service.ping()
    put(service, "videos/ab/configured", payload)

    url = service.signed_url("videos/ab/configured", 60)

    verify_v4_url(url)
    assert url.startswith(f"{fake_gcs.url}/{gcs_bucket_name}/videos/ab/configured?")
    assert requests.get(url, timeout=10).content == payload


class MetadataServerCredentials(google.oauth2.credentials.Credentials):
    """Like Cloud Run's credentials: a token, no key, and an email learnt on refresh."""

    def __init__(self) -> None:
        super().__init__(token=None)
        self.service_account_email = "default"
        self.refreshes = 0

    def refresh(self, request) -> None:
        self.refreshes += 1
        self.token = "runtime-token"
        self.service_account_email = SIGNER_EMAIL


def fake_iam(httpserver, token: str, received: list[bytes]) -> str:
    """Serve signBlob for SIGNER_EMAIL with the test key, for callers bearing `token`."""

    def sign_blob(request: Request) -> Response:
        message = base64.b64decode(request.get_json()["payload"])
        received.append(message)
        signature = signing_private_key().sign(message, padding.PKCS1v15(), hashes.SHA256())
        body = {"keyId": "iam-key", "signedBlob": base64.b64encode(signature).decode()}
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request(
        f"/v1/projects/-/serviceAccounts/{SIGNER_EMAIL}:signBlob",
        method="POST",
        headers={"Authorization": f"Bearer {token}"},
    ).respond_with_handler(sign_blob)
    return httpserver.url_for("/").rstrip("/")


@pytest.mark.parametrize("configured_email", [SIGNER_EMAIL, None])
def test_gcs_signs_through_iam_when_credentials_hold_no_key(
    fake_gcs, gcs_bucket_name, payload, httpserver, configured_email
):
    received: list[bytes] = []
    credentials = MetadataServerCredentials()
    service = gcs_store(
        {
            "GCS_BUCKET": gcs_bucket_name,
            "GCS_ENDPOINT": fake_gcs.url,
            "GCP_PROJECT": PROJECT,
            "GCS_CHUNK_BYTES": CHUNK,
            "IAM_CREDENTIALS_ENDPOINT": fake_iam(httpserver, "runtime-token", received),
            "GCS_SIGNING_SERVICE_ACCOUNT": configured_email,
        },
        credentials=credentials,
    )

    # Signing first: the signer itself must refresh the credentials to learn the email.
    url = service.signed_url("videos/ab/iam", 120, download_name="clip.mp4")

    httpserver.check_assertions()
    assert received == [verify_v4_url(url).encode()]
    assert credentials.refreshes == 1
    put(service, "videos/ab/iam", payload)
    assert requests.get(url, timeout=10).content == payload


def test_gcs_iam_refusal_is_storage_unavailable(fake_gcs, gcs_bucket_name, httpserver):
    httpserver.expect_request(f"/v1/projects/-/serviceAccounts/{SIGNER_EMAIL}:signBlob")
    httpserver.respond_permanent_failure()  # any request: 500
    service = gcs_store(
        {
            "GCS_BUCKET": gcs_bucket_name,
            "GCS_ENDPOINT": fake_gcs.url,
            "IAM_CREDENTIALS_ENDPOINT": httpserver.url_for("/").rstrip("/"),
            "GCS_SIGNING_SERVICE_ACCOUNT": SIGNER_EMAIL,
        },
        credentials=google.oauth2.credentials.Credentials(token="t"),
    )
    with pytest.raises(StorageUnavailable):
        service.signed_url("videos/ab/x", 60)


# --- signed upload URLs: what GCS checks, as far as the emulator lets us see -------------


def test_gcs_signed_upload_url_signs_method_type_and_length_range(gcs_store):
    upload = gcs_store.signed_upload_url(
        "videos/ab/upload", 600, content_type="video/mp4", max_bytes=5000
    )

    assert upload.method == "PUT"
    assert upload.headers == {
        "Content-Type": "video/mp4",
        "x-goog-content-length-range": "0,5000",
    }
    verify_v4_url(upload.url, "PUT", upload.headers)
    query = dict(parse_qsl(urlsplit(upload.url).query))
    assert query["X-Goog-SignedHeaders"] == "content-type;host;x-goog-content-length-range"
    assert query["X-Goog-Expires"] == "600"
    signed_at = datetime.strptime(query["X-Goog-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert upload.expires_at == signed_at + timedelta(seconds=600)


@pytest.mark.parametrize(
    "changed",
    [
        {"Content-Type": "text/html"},
        {"x-goog-content-length-range": "0,999999999"},
    ],
    ids=["content-type", "length-range"],
)
def test_gcs_signed_upload_url_does_not_verify_with_other_headers(gcs_store, changed):
    upload = gcs_store.signed_upload_url(
        "videos/ab/upload", 600, content_type="video/mp4", max_bytes=5000
    )

    verify_v4_url(upload.url, "PUT", upload.headers)
    with pytest.raises(InvalidSignature):
        verify_v4_url(upload.url, "PUT", {**upload.headers, **changed})
    with pytest.raises(InvalidSignature):
        verify_v4_url(upload.url, "GET", upload.headers)


def test_fake_gcs_server_enforces_nothing_on_signed_puts(gcs_store, payload):
    """What the emulator does with PUTs GCS would refuse: it stores them all.

    So the contract's refusal tests are strict xfails on GCS, and the signing itself is
    checked against the test key above.
    """
    upload = gcs_store.signed_upload_url(
        "videos/ab/lax", 60, content_type="video/mp4", max_bytes=10
    )
    forged = upload.url.replace("X-Goog-Signature=", "X-Goog-Signature=00")

    over_limit = requests.put(upload.url, data=payload[:11], headers=upload.headers, timeout=10)
    assert over_limit.status_code == 200
    assert gcs_store.stat("videos/ab/lax").size == 11
    unsigned_type = {**upload.headers, "Content-Type": "text/html"}
    forged_answer = requests.put(forged, data=b"<p>", headers=unsigned_type, timeout=10)
    assert forged_answer.status_code == 200
    assert gcs_store.stat("videos/ab/lax").content_type == "text/html"
    assert requests.get(upload.url, timeout=10).content == b"<p>"


def test_gcs_store_serves_no_signed_urls_itself(gcs_store):
    with pytest.raises(NotFound):
        gcs_store.verify_signed("videos/ab/x", "GET", {"expires": "1", "signature": "0"})
