"""The page's upload panel (issue 11): a 256 MiB video through Chromium beside `curl -F`.

Figures, from one run of the phase (the two kinds of upload interleaved, `runs` times each):
  page_upload    MB/s of the upload panel sending the streamed video (the 256 MiB MP4) in
                 parts, from picking the file to the row saying "stored as" (create, presign,
                 three part PUTs in flight on the signed URLs the embedded store serves,
                 register, complete), beside `curl -F file=@...` to POST /upload of the same
                 file into the same service. Target: at least 0.7x.
  page_progress  the longest gap, in ms, between two updates of the overall progress bar
                 while the panel uploads (the page's own clock, recorded by a script Playwright
                 adds before the page's), worst run. Target: at most 500 ms. Its samples also
                 keep, as a reference, how long the bar's value stood still while sending.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from statistics import median
from typing import NamedTuple

import requests

from bench.client import TIMEOUT
from bench.procs import Processes, Server, start_gunicorn
from bench.results import Figure, summary
from bench.scenarios import SECRET, USER, auth, service_env

MB = 1_000_000
UPLOAD_TARGET = 0.7
PROGRESS_GAP_MS = 500


def page_phase(args, work: Path, procs: Processes, media: dict[str, Path]) -> list[Figure]:
    """Embedded store: the panel's uploads and curl's, interleaved, then their figures."""
    from playwright.sync_api import sync_playwright  # dev-only, as Chromium is

    from bench.client import mint_token
    from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        print(f"[bench] page: SKIPPED, no Chromium at {CHROMIUM} (apt-get install chromium)")
        return []
    source = media["stream"]
    size = source.stat().st_size
    service = start_gunicorn(procs, "service-page", "wsgi:app", service_env(args, work / "page"))
    rates: dict[str, list[float]] = {"page": [], "sending": [], "curl": []}
    gaps: list[float] = []
    finishing: list[float] = []
    still: list[float] = []
    bearer = mint_token(SECRET, USER)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for run in range(args.runs):
                took = curl_upload(service, source, f"curl-{run}.mp4")
                rates["curl"].append(size / took / MB)
                delete(service, f"curl-{run}.mp4")
                named = work / f"page-{run}.mp4"
                named.hardlink_to(source)  # the name the page stores it under
                timed = page_upload(browser, service, named, bearer)
                named.unlink()
                rates["page"].append(size / timed.seconds / MB)
                rates["sending"].append(size / timed.sending / MB)
                finishing.append(timed.seconds - timed.sending)
                gaps.append(timed.gap_ms)
                still.append(timed.still_ms)
                delete(service, named.name)
        finally:
            browser.close()
    procs.stop(service)
    mib = size // (1024 * 1024)
    return [
        Figure(
            "page_upload",
            f"the page's upload panel, {mib} MiB in parts (embedded store)",
            "MB/s",
            median(rates["page"]),
            median(rates["curl"]),
            "curl -F to POST /upload, same file",
            UPLOAD_TARGET,
            samples={
                "page": summary(rates["page"]),
                "curl": summary(rates["curl"]),
                "sending_parts": summary(rates["sending"]),
                "complete_seconds": finishing,
            },
        ),
        Figure(
            "page_progress",
            "longest gap between progress bar updates during that upload",
            "ms",
            max(gaps),
            None,
            "",
            PROGRESS_GAP_MS,
            at_most=True,
            samples={"runs": gaps, "longest_still_while_sending_ms": still},
        ),
    ]


def curl_upload(service: Server, source: Path, filename: str) -> float:
    """POST /upload with `curl -F`; return curl's own total time in seconds."""
    header = auth()["Authorization"]
    command = [
        "curl", "-sS", "--fail-with-body", "-o", "/dev/null", "-w", "%{time_total}",
        "-H", f"Authorization: {header}", "-F", f"file=@{source};filename={filename}",
        f"{service.url}/upload",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=True)
    return float(done.stdout)


class Timed(NamedTuple):
    """One upload through the panel: seconds in all, seconds until every byte was sent, the
    longest gap between two progress bar updates in ms, and between two changes of its value."""

    seconds: float
    sending: float
    gap_ms: float
    still_ms: float  # the longest the bar's value stood still while bytes were being sent


def page_upload(browser, service: Server, path: Path, bearer: str) -> Timed:
    """Pick the file in a fresh page's upload panel and time it until the row says stored."""
    from tests.web.conftest import RECORD_PROGRESS, sign_in

    context = browser.new_context()
    try:
        page = context.new_page()
        page.add_init_script(RECORD_PROGRESS)
        sign_in(page, service.url, bearer, tab="Upload")
        origin = page.evaluate("performance.now()")
        started = time.perf_counter()
        page.set_input_files("#upload-input", str(path))
        done = "li => li.textContent.includes('stored as') || li.textContent.includes('failed')"
        page.wait_for_selector("#upload-list li")
        while not page.eval_on_selector("#upload-list li", done):
            page.wait_for_timeout(10)
        took = time.perf_counter() - started
        text = page.inner_text("#upload-list li")
        if "stored as" not in text:
            raise RuntimeError(f"the page's upload failed: {text}")
        recorded = page.evaluate("window.__progress")
        drawn = [(v, at) for name, v, at in recorded if name == "upload-overall"]
        times = [at for _, at in drawn]
        gap = max(b - a for a, b in zip(times, times[1:], strict=False))
        full = next(at for v, at in drawn if v >= 100)
        moved = [at for (v, at), (before, _) in zip(drawn[1:], drawn, strict=False) if v != before]
        moved = [at for at in moved if at <= full]
        still = max(b - a for a, b in zip(moved, moved[1:], strict=False))
        return Timed(took, (full - origin) / 1000, gap, still)
    finally:
        context.close()


def delete(service: Server, filename: str) -> None:
    """Remove an uploaded video so that every run starts from the same quota."""
    answer = requests.delete(
        f"{service.url}/delete-file", json={"filename": filename}, headers=auth(), timeout=TIMEOUT
    )
    answer.raise_for_status()
