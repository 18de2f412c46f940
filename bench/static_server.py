"""The static anchor: http.server's ThreadingHTTPServer, taught single byte ranges."""

from __future__ import annotations

import os
import re
import shutil
import sys
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

_RANGE = re.compile(r"^bytes=(\d+)-(\d+)$")


class RangeHandler(SimpleHTTPRequestHandler):
    """SimpleHTTPRequestHandler over keep-alive HTTP/1.1, answering `bytes=a-b` with 206."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        """Serve the whole file as the stdlib does, or one closed range of it."""
        match = _RANGE.match(self.headers.get("Range", ""))
        if match is None:
            return super().do_GET()
        path = self.translate_path(self.path)
        try:
            file = open(path, "rb")  # noqa: SIM115 - closed below
        except OSError:
            return self.send_error(HTTPStatus.NOT_FOUND)
        with file:
            size = os.fstat(file.fileno()).st_size
            start, end = int(match[1]), min(int(match[2]), size - 1)
            if start > end:
                return self.send_error(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            self.send_response(HTTPStatus.PARTIAL_CONTENT)
            self.send_header("Content-Type", self.guess_type(path))
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.send_header("Content-Length", str(end - start + 1))
            self.end_headers()
            file.seek(start)
            _copy(file, self.wfile, end - start + 1)
        return None

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Stay quiet: one line per request would cost more than the request."""


def _copy(source, target, length: int) -> None:
    while length > 0:
        chunk = source.read(min(shutil.COPY_BUFSIZE, length))
        if not chunk:
            return
        target.write(chunk)
        length -= len(chunk)


def main(port: int, directory: str) -> None:
    """Serve `directory` on 127.0.0.1:`port` until terminated."""
    handler = partial(RangeHandler, directory=directory)
    with ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
