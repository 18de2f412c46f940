"""The GCS backend beyond the contract: signing, IAM, outages."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import threading
from collections.abc import Iterator
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
from services.core.errors import NotFound, ObjectMissing, StorageUnavailable
from services.storage.objects.gcs import COMPOSE_TMP_PREFIX
from tests.fixtures.gcs import (
    PROJECT,
    SIGNER_EMAIL,
    make_gcs_service,
    service_account_info,
    signing_private_key,
)
from tests.fixtures.objects import CHUNK, SIZE, md5, put, read

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


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_gcs_unreachable_is_storage_unavailable(fake_gcs):
    dead = type(fake_gcs)(f"http://127.0.0.1:{closed_port()}", fake_gcs.process)
    service = make_gcs_service(dead, "bucket", chunk_bytes=CHUNK, retry=None, timeout=2)

    for call in (
        service.ping,
        lambda: service.stat("videos/ab/x"),
        lambda: read(service, "videos/ab/x", 0, 10),
        lambda: service.open_writer("videos/ab/x", "video/mp4"),
        lambda: service.delete("videos/ab/x"),
    ):
        with pytest.raises(StorageUnavailable):
            call()


def test_gcs_server_errors_are_storage_unavailable(httpserver):
    httpserver.expect_request("/storage/v1/b/bucket/o/videos%2Fab%2Fx").respond_with_data(
        "busy", status=503
    )
    httpserver.expect_request("/download/storage/v1/b/bucket/o/videos%2Fab%2Fx").respond_with_data(
        "busy", status=503
    )
    server = type("Server", (), {"url": httpserver.url_for("/").rstrip("/")})
    service = make_gcs_service(server, "bucket", chunk_bytes=CHUNK, retry=None, timeout=2)

    with pytest.raises(StorageUnavailable):
        service.stat("videos/ab/x")
    with pytest.raises(StorageUnavailable):
        read(service, "videos/ab/x", 0, 10)


@pytest.fixture
def truncating_server() -> Iterator[str]:
    """Promise 1 MiB, send 1 KiB, hang up: a connection lost mid-download."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            head = b"HTTP/1.1 206 Partial Content\r\nContent-Length: 1048576\r\n\r\n"
            connection.sendall(head + b"x" * 1024)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()
    thread.join(timeout=5)


def test_gcs_connection_lost_mid_stream_is_storage_unavailable(truncating_server):
    server = type("Server", (), {"url": truncating_server})
    service = make_gcs_service(server, "bucket", chunk_bytes=CHUNK, retry=None, timeout=5)

    chunks = service.read_range("videos/ab/x", 0, 1048575)
    with pytest.raises(StorageUnavailable):
        list(chunks)


def test_gcs_rejects_chunk_sizes_gcs_would_refuse():
    with pytest.raises(ValueError):
        make_gcs_service(type("S", (), {"url": "http://127.0.0.1:9"}), "b", chunk_bytes=1000)


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


# --- compose in rounds -------------------------------------------------------------------


def bucket_names(fake_gcs, bucket: str) -> list[str]:
    """Every object in the bucket, listed through the JSON API."""
    listing = requests.get(f"{fake_gcs.url}/storage/v1/b/{bucket}/o", timeout=10).json()
    return sorted(item["name"] for item in listing.get("items", []))


def test_gcs_compose_in_rounds_leaves_no_intermediate_objects(gcs_store, fake_gcs, gcs_bucket_name):
    names = [f"parts/p/{index:02}" for index in range(65)]  # 3 groups, then one call
    for index, name in enumerate(names):
        put(gcs_store, name, bytes([index]) * 10)

    info = gcs_store.compose(names, "videos/ab/joined", "video/mp4")

    assert info.size == 650
    assert bucket_names(fake_gcs, gcs_bucket_name) == sorted([*names, "videos/ab/joined"])


def test_gcs_failed_compose_in_rounds_deletes_its_intermediates(
    gcs_store, fake_gcs, gcs_bucket_name
):
    names = [f"parts/q/{index:02}" for index in range(40)]
    for name in names:
        put(gcs_store, name, b"x")
    gcs_store.delete(names[35])  # in the second group: the first one is composed already

    with pytest.raises(ObjectMissing):
        gcs_store.compose(names, "videos/ab/never", "video/mp4")

    left = bucket_names(fake_gcs, gcs_bucket_name)
    assert left == sorted(set(names) - {names[35]})
    assert not any(name.startswith(COMPOSE_TMP_PREFIX) for name in left)


# --- MD5 as GCS reports it ---------------------------------------------------------------


def test_gcs_md5_is_the_hex_of_md5hash(gcs_store, payload):
    put(gcs_store, "videos/ab/md5", payload)
    metadata = requests.get(
        f"{gcs_store._bucket.client.api_endpoint}/storage/v1/b/{gcs_store._bucket.name}"
        "/o/videos%2Fab%2Fmd5",
        timeout=10,
    ).json()

    assert base64.b64decode(metadata["md5Hash"]).hex() == md5(payload)
    assert gcs_store.stat("videos/ab/md5").md5 == md5(payload)


COMPOSITE = {  # what GCS answers for a composite object: a crc32c, no md5Hash
    "kind": "storage#object",
    "name": "videos/ab/composite",
    "bucket": "bucket",
    "generation": "1700000000000001",
    "size": "650",
    "contentType": "video/mp4",
    "crc32c": "AAAAAA==",
    "componentCount": 3,
    "etag": "CIGAgICAgICAAxAB",
}


def test_gcs_composite_object_has_no_md5(httpserver):
    path = "/storage/v1/b/bucket/o/videos/ab/composite"  # matched after %2F is decoded
    httpserver.expect_request(path, method="GET").respond_with_json(COMPOSITE)
    httpserver.expect_request(f"{path}/compose", method="POST").respond_with_json(COMPOSITE)
    server = type("Server", (), {"url": httpserver.url_for("/").rstrip("/")})
    service = make_gcs_service(server, "bucket", chunk_bytes=CHUNK, retry=None, timeout=5)

    composed = service.compose(["parts/a", "parts/b"], "videos/ab/composite", "video/mp4")

    assert composed.md5 is None and composed.size == 650
    assert service.stat("videos/ab/composite") == composed
