"""Development secrets in DATA_DIR: generated once, complete, the same for every process."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from app.keys import persistent_secret
from config import ConfigError

ROOT = Path(__file__).resolve().parents[2]
RACERS = 8


def test_a_secret_is_generated_once_and_kept(tmp_path):
    first = persistent_secret(str(tmp_path), "jwt-secret")
    assert len(first) >= 64
    assert persistent_secret(str(tmp_path), "jwt-secret") == first
    assert (tmp_path / "jwt-secret").read_text() == first
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o777 == 0o600


def test_threads_racing_on_a_fresh_data_dir_agree_on_one_complete_secret(tmp_path):
    # The old create-then-write let a racer read the file while it was still empty; one
    # round in three or so hit that, so many rounds make the race certain to show.
    for round_ in range(40):
        data_dir = tmp_path / f"round-{round_}"
        barrier = threading.Barrier(RACERS)
        seen: list[str] = []

        def race(data_dir=data_dir, barrier=barrier, seen=seen) -> None:
            barrier.wait()
            seen.append(persistent_secret(str(data_dir), "jwt-secret"))

        threads = [threading.Thread(target=race) for _ in range(RACERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(seen) == RACERS
        assert set(seen) == {(data_dir / "jwt-secret").read_text()}
        assert len(seen[0]) >= 64
        assert sorted(p.name for p in data_dir.iterdir()) == ["jwt-secret"]


NAMES = [f"secret-{n}" for n in range(100)]
RACER = f"""
import sys
from app.keys import persistent_secret
sys.stdin.readline()  # start together
for name in {NAMES!r}:
    print(persistent_secret(sys.argv[1], name))
"""


def test_processes_racing_on_a_fresh_data_dir_agree_on_one_complete_secret(tmp_path):
    data_dir = tmp_path / "data"
    # Each process races through the same hundred fresh names, so the races line up.
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(data_dir)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for racer in racers:  # every process is started and waiting before any is released
        racer.stdin.write("go\n")
    for racer in racers:
        racer.stdin.close()
    answers = [racer.stdout.read().splitlines() for racer in racers]
    assert all(racer.wait(timeout=60) == 0 for racer in racers)
    stored = [(data_dir / name).read_text() for name in NAMES]
    assert all(len(secret) >= 64 for secret in stored)
    assert all(secrets == stored for secrets in answers)
    assert sorted(os.listdir(data_dir)) == sorted(NAMES)


def test_an_empty_secret_file_is_refused_by_name(tmp_path):
    (tmp_path / "jwt-secret").write_text("")
    with pytest.raises(ConfigError, match="jwt-secret"):
        persistent_secret(str(tmp_path), "jwt-secret")
