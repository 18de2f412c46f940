"""The GCS backend when GCS fails: unreachable, server errors, a stream cut short."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from services.core.errors import StorageUnavailable
from tests.fixtures.gcs import (
    make_gcs_service,
)
from tests.fixtures.objects import CHUNK, read

pytest_plugins = ["tests.fixtures.gcs"]


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
