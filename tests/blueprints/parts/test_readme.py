"""The README's curl walk-through of part uploads works as printed, against a served app."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from app.sample_video import write_sample_video
from tests.fixtures.live import serve

pytestmark = pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("bash") is None, reason="needs curl and bash"
)

README = Path(__file__).resolve().parents[3] / "README.md"
SET_BY_THE_TEST = ("BASE=", "TOKEN=", "VIDEO=")


def walk_through() -> str:
    """The first bash block of the README's part upload section."""
    text = README.read_text()
    section = text[text.index("## Part uploads (seed 002)") :]
    return re.search(r"```bash\n(.*?)```", section, re.DOTALL).group(1)


def test_the_readme_walk_through_works_as_printed(app, token, tmp_path):
    script = walk_through()
    lines = script.splitlines()
    assert [line.split("=")[0] + "=" for line in lines[:3]] == list(SET_BY_THE_TEST)
    # The three lines that name the reader's server, token and video are the test's own.
    body = "\n".join(lines[3:]).replace("/tmp/", f"{tmp_path}/")
    video = write_sample_video(tmp_path / "sample.mp4")

    with serve(app) as base:
        env = {**os.environ, "BASE": base, "TOKEN": token("dev-user"), "VIDEO": str(video)}
        runs = [
            subprocess.run(
                ["bash", "-eo", "pipefail", "-c", body],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            for _ in range(2)
        ]

    for run in runs:
        assert run.returncode == 0, run.stderr
        assert run.stdout.count('{"status":"ok"}') == 2, run.stdout
        assert "HTTP/1.1 206" in run.stdout
    completes = [
        json.loads(line)
        for run in runs
        for line in run.stdout.splitlines()
        if line.startswith('{"file_url"')
    ]
    assert [c["filename"] for c in completes] == ["recording.mp4", "recording (2).mp4"]
    assert completes[0]["size"] == video.stat().st_size
    head = (tmp_path / "recording-head.mp4").read_bytes()
    assert head == video.read_bytes()[:1024]
