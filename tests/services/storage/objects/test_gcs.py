"""The GCS backend beyond the contract: compose in rounds, and MD5 as GCS reports it."""

from __future__ import annotations

import base64
import os

import pytest
import requests

from services.core.errors import ObjectMissing
from services.storage.objects.gcs import COMPOSE_TMP_PREFIX
from tests.fixtures.gcs import (
    make_gcs_service,
)
from tests.fixtures.objects import CHUNK, SIZE, md5, put

pytest_plugins = ["tests.fixtures.gcs"]


@pytest.fixture(scope="module")
def payload() -> bytes:
    return os.urandom(SIZE)


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
