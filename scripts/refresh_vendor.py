"""Refresh the browser libraries the page serves, from the npm registry, at pinned versions.

`python scripts/refresh_vendor.py` downloads each package's tarball, checks it against the
registry's sha512 integrity, and copies the listed files into
blueprints/web/static/vendor/<package>-<version>/. The files are committed: `make run` needs
no network and no build step, and browsers on a locked-down network load nothing from a CDN.
To move to a new version, change it here, run the script, and delete the old directory.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import sys
import tarfile
import urllib.request
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
VENDOR = Path(__file__).resolve().parent.parent / "blueprints" / "web" / "static" / "vendor"

# package -> (version, files inside the tarball's package/ directory). Uploads in parts are
# written by hand (static/app/upload.js says why), so Swagger UI is the one library.
PACKAGES: dict[str, tuple[str, list[str]]] = {
    "swagger-ui-dist": (
        "5.35.0",
        ["swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE"],
    ),
}


def fetch(url: str) -> bytes:
    """The bytes at `url` (the registry only)."""
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - fixed https host
        return response.read()


def refresh(name: str, version: str, files: list[str]) -> Path:
    """Download, verify and unpack one package's files; returns the target directory."""
    meta = json.loads(fetch(f"{REGISTRY}/{name}/{version}"))
    tarball = fetch(meta["dist"]["tarball"])
    algorithm, _, expected = meta["dist"]["integrity"].partition("-")
    if algorithm != "sha512" or base64.b64decode(expected) != hashlib.sha512(tarball).digest():
        raise SystemExit(f"{name}@{version}: tarball does not match the registry's integrity")
    target = VENDOR / f"{name}-{version}"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for file in files:
            member = archive.extractfile(f"package/{file}")
            if member is None:
                raise SystemExit(f"{name}@{version} has no {file}")
            (target / Path(file).name).write_bytes(member.read())
    return target


def main() -> None:
    for name, (version, files) in PACKAGES.items():
        print(f"{name}@{version} -> {refresh(name, version, files).relative_to(VENDOR.parent)}")


if __name__ == "__main__":
    sys.exit(main())
