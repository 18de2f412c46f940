"""Without a Chromium the browser tests skip, and the run's summary says so loudly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_run_without_chromium_says_so_in_its_summary():
    env = os.environ | {"CHROMIUM": "/nonexistent/chromium"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/web/test_page.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "BROWSER TESTS SKIPPED (5): no Chromium at /nonexistent/chromium" in run.stdout
    assert "5 skipped" in run.stdout
