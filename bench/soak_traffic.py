"""The soak's clients: one user each, looping over every API's calls as a real client would."""

from __future__ import annotations

import base64
import io
import json
import queue
import random
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import requests

from bench.client import TIMEOUT, bearer

BOUNDARY = "soakboundary"
# How many files a client keeps before each new upload makes it delete its oldest.
KEEP_FILES = 4


@dataclass
class Tally:
    """Latencies per endpoint, statuses, and every server error with what caused it."""

    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, endpoint: str, status: int, seconds: float, detail: str = "") -> None:
        with self.lock:
            self.seconds[endpoint].append(seconds)
            self.statuses[endpoint][status] += 1
            if status >= 500 or status == 0:
                self.errors.append(f"{endpoint}: {status} {detail[:200]}")


class PeerWorld:
    """The peer registry and the edge service: every catalog item has one peer, whose edge
    hands the offered token to the client waiting for that request."""

    def __init__(self) -> None:
        self.tokens: dict[str, queue.Queue] = defaultdict(queue.Queue)
        world = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                catalog = self.path.rsplit("/", 1)[-1]
                body = [{"peer_id": "soak-peer", "edge_id": "soak-edge", "catalog_ids": [catalog]}]
                self._answer(200, json.dumps(body).encode())

            def do_POST(self) -> None:  # noqa: N802
                offer = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                world.tokens[offer["catalog_id"]].put(offer)
                self._answer(202, b"")

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def multipart(files: list[tuple[str, str, bytes]], fields: dict[str, str] | None = None) -> bytes:
    """A multipart body: (field, filename, bytes) files after plain text fields."""
    body = b"".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in (fields or {}).items()
    )
    for name, filename, data in files:
        body += (
            (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode()
            + data
            + b"\r\n"
        )
    return body + f"--{BOUNDARY}--\r\n".encode()


class SoakClient:
    """One user's traffic; `step()` makes one weighted choice of call (or short flow)."""

    def __init__(self, index: int, base: str, secret: str, media: dict, tally: Tally) -> None:
        self.user = f"soak-{index}"
        self.base, self.media, self.tally = base, media, tally
        claims = {
            "sub": self.user,
            "exp": int(time.time() + 24 * 3600),
            "type": "access",
            "permissions": ["media_store_write", "media_store_read"],
        }
        self.headers = bearer(jwt.encode(claims, secret, algorithm="HS256"))
        self.http = requests.Session()
        self.random = random.Random(index)
        self.videos: list[str] = []
        self.media_ids: list[str] = []
        self.entities: list[int] = []
        self.steps = [
            (self.upload_video, 3), (self.upload_in_parts, 1), (self.stream_range, 8),
            (self.download_video, 2), (self.status, 4), (self.upload_media, 3),
            (self.download_media, 4), (self.list_media, 3), (self.create_entity, 2),
            (self.list_entities, 3), (self.screenshot_flow, 1), (self.delete_some, 2),
        ]  # fmt: skip

    def step(self) -> None:
        """One call (or flow) picked by weight."""
        actions, weights = zip(*self.steps, strict=True)
        self.random.choices(actions, weights)[0]()

    # --- requests --------------------------------------------------------------------

    def call(
        self, endpoint: str, method: str, path: str, **kwargs: Any
    ) -> requests.Response | None:
        kwargs.setdefault("headers", self.headers)
        started = time.perf_counter()
        try:
            answer = self.http.request(method, self.base + path, timeout=TIMEOUT, **kwargs)
            _ = answer.content
        except requests.RequestException as error:
            self.tally.record(endpoint, 0, time.perf_counter() - started, repr(error))
            return None
        self.tally.record(endpoint, answer.status_code, time.perf_counter() - started, answer.text)
        return answer

    def form(self, files, fields=None) -> dict[str, Any]:
        content_type = f"multipart/form-data; boundary={BOUNDARY}"
        return {
            "data": io.BytesIO(multipart(files, fields)),
            "headers": {**self.headers, "Content-Type": content_type},
        }

    # --- the video API ---------------------------------------------------------------

    def upload_video(self) -> None:
        name = f"v-{uuid.uuid4().hex[:8]}.mp4"
        answer = self.call(
            "POST /upload", "POST", "/upload", **self.form([("file", name, self.media["video"])])
        )
        if answer is not None and answer.status_code == 200:
            self.videos.append(name)
            self.trim(self.videos, self.delete_video)

    def upload_in_parts(self) -> None:
        data, part = self.media["video"], -(-len(self.media["video"]) // 3)
        name = f"p-{uuid.uuid4().hex[:8]}.mp4"
        created = self.call(
            "POST parts/create",
            "POST",
            "/api/multipart/create/",
            json={"filename": name, "size": len(data)},
        )
        if created is None or created.status_code != 201:
            return
        api = f"/api/multipart/{created.json()['id']}"
        listed = []
        for number in (1, 2, 3):
            signed = self.call(
                "POST parts/presign", "POST", f"{api}/presign/", json={"part_number": number}
            )
            if signed is None or signed.status_code != 200:
                return
            signed = signed.json()
            url = signed["presigned_url"]
            url = url if url.startswith("http") else self.base + url
            chunk = data[(number - 1) * part : number * part]
            started = time.perf_counter()
            put = requests.put(url, data=chunk, headers=signed["headers"], timeout=TIMEOUT)
            self.tally.record("PUT part (signed)", put.status_code, time.perf_counter() - started)
            etag = put.headers.get("ETag") or base64.b64decode(put.json()["md5Hash"]).hex()
            self.call(
                "POST parts/register-part",
                "POST",
                f"{api}/register-part/",
                json={"part_number": number, "etag": etag},
            )
            listed.append({"part_number": number, "etag": etag})
        done = self.call("POST parts/complete", "POST", f"{api}/complete/", json={"parts": listed})
        if done is not None and done.status_code == 200:
            self.videos.append(done.json()["filename"])
            self.trim(self.videos, self.delete_video)

    def stream_range(self) -> None:
        if self.videos:
            start = self.random.randrange(0, len(self.media["video"]) // 2)
            name = self.random.choice(self.videos)
            self.call(
                "GET /stream/video (range)",
                "GET",
                f"/stream/video/{name}",
                headers={**self.headers, "Range": f"bytes={start}-{start + 65535}"},
            )

    def download_video(self) -> None:
        if self.videos:
            name = self.random.choice(self.videos)
            self.call("GET /download/disk", "GET", f"/download/disk/{name}")

    def status(self) -> None:
        self.call("GET /storage-status", "GET", "/storage-status")

    def delete_video(self, name: str) -> None:
        self.call("DELETE /delete-file", "DELETE", "/delete-file", json={"filename": name})

    # --- the media API ---------------------------------------------------------------

    def upload_media(self) -> None:
        answer = self.call(
            "POST /api/v1/media/upload",
            "POST",
            "/api/v1/media/upload",
            **self.form([("file", "p.png", self.media["image"])]),
        )
        if answer is not None and answer.status_code == 201:
            self.media_ids.append(answer.json()["id"])
            self.trim(self.media_ids, self.delete_media)

    def download_media(self) -> None:
        if self.media_ids:
            media_id = self.random.choice(self.media_ids)
            self.call(
                "GET /api/v1/media/<id>/download", "GET", f"/api/v1/media/{media_id}/download"
            )

    def list_media(self) -> None:
        self.call("GET /api/v1/media", "GET", "/api/v1/media?limit=20")

    def delete_media(self, media_id: str) -> None:
        self.call("DELETE /api/v1/media/<id>", "DELETE", f"/api/v1/media/{media_id}")

    # --- the entity library ----------------------------------------------------------

    def create_entity(self) -> None:
        answer = self.call(
            "POST /entity/",
            "POST",
            "/entity/",
            **self.form([("image", "e.png", self.media["entity"]())], {"is_collection": "false"}),
        )
        if answer is not None and answer.status_code in (200, 201):
            self.entities.append(answer.json()["id"])
            self.trim(self.entities, self.delete_entity)

    def list_entities(self) -> None:
        self.call("GET /entity/", "GET", "/entity/?page_size=20")

    def delete_entity(self, entity_id: int) -> None:
        self.call("DELETE /entity/<id>", "DELETE", f"/entity/{entity_id}")

    # --- screenshots -----------------------------------------------------------------

    def screenshot_flow(self) -> None:
        """A request event pushed, the peer's token from its edge, the upload, the listing."""
        catalog, request_id = f"cat-{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
        data = {"catalog_id": catalog, "request_id": request_id, "requester_service": "soak"}
        envelope = {"message": {
            "data": base64.b64encode(json.dumps(data).encode()).decode(),
            "messageId": request_id, "attributes": {},
        }}  # fmt: skip
        pushed = self.call(
            "POST /events/pubsub/<topic>",
            "POST",
            "/events/pubsub/media.screenshots.requested",
            json=envelope,
        )
        if pushed is None or pushed.status_code != 204:
            return
        offer = self.media["peers"].tokens[catalog].get(timeout=30)
        peer = {"Authorization": f"Bearer {offer['token']}"}
        body = multipart([("files", "s.png", self.media["image"])])
        self.call(
            "POST /api/screenshot/<catalog>",
            "POST",
            f"/api/screenshot/{catalog}",
            data=body,
            headers={**peer, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        )
        self.call("GET /api/screenshot/<catalog>", "GET", f"/api/screenshot/{catalog}")

    # --- deletes ---------------------------------------------------------------------

    def delete_some(self) -> None:
        """Delete one of the client's files of a random kind (they are re-uploaded later)."""
        kinds = [
            (self.videos, self.delete_video),
            (self.media_ids, self.delete_media),
            (self.entities, self.delete_entity),
        ]
        owned, delete = self.random.choice(kinds)
        if owned:
            delete(owned.pop(self.random.randrange(len(owned))))

    def trim(self, owned: list, delete) -> None:
        while len(owned) > KEEP_FILES:
            delete(owned.pop(0))
