"""Browser tests: Playwright driving Debian's Chromium headless against a live app.

They run whenever a Chromium is present (`CHROMIUM`, default /usr/bin/chromium); .ci/run
installs it when missing. Without one they are skipped, and the run's summary says so
loudly: a green run without them has not tested the page.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.live import serve

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# What the machine's closed network needs: no background calls home, no GPU, no sandbox
# (tests run as root).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
# Every value the page gives a <progress>, with when: recorded before the page's scripts run.
RECORD_PROGRESS = """
(() => {
  const value = Object.getOwnPropertyDescriptor(HTMLProgressElement.prototype, "value");
  window.__progress = [];
  Object.defineProperty(HTMLProgressElement.prototype, "value", {
    get() { return value.get.call(this); },
    set(v) {
      const name = this.id || this.getAttribute("aria-label");
      window.__progress.push([name, Number(v), performance.now()]);
      value.set.call(this, v);
    },
  });
})();
"""
_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "tests/web/" in report.nodeid and "Chromium" in str(report.longrepr):
        _skipped.append(report.nodeid)


def pytest_terminal_summary(terminalreporter) -> None:
    if _skipped:
        terminalreporter.write_sep(
            "!",
            f"BROWSER TESTS SKIPPED ({len(_skipped)}): no Chromium at {CHROMIUM}; "
            "apt-get install -y chromium",
            red=True,
            bold=True,
        )


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live(make_app) -> Iterator[tuple[object, str]]:
    """The app on a real socket: (app, base URL)."""
    app = make_app()
    with serve(app) as base:
        yield app, base


@pytest.fixture
def page(browser, live) -> Iterator[object]:
    """A fresh browser context (its own sessionStorage) on the live app, at phone-ish width."""
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()


def screenshot(page, name: str) -> None:
    """Save what the page looks like for the README, when asked (`make screenshots`).

    Only on request: every run would otherwise rewrite the committed pictures.
    """
    if os.environ.get("MEDIASTORE_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def until(page, selector: str, predicate: str, timeout: float = 15.0) -> None:
    """Poll a predicate on the first element matching (which may not exist yet).

    The page's CSP forbids wait_for_function's eval; a predicate on an element is allowed.
    """
    deadline = time.monotonic() + timeout
    check = f"nodes => nodes.length > 0 && Boolean(({predicate})(nodes[0]))"
    while not page.eval_on_selector_all(selector, check):
        assert time.monotonic() < deadline, f"{selector}: {predicate} never held"
        page.wait_for_timeout(50)


def sign_in(page, base: str, token: str, tab: str | None = None) -> None:
    """Paste a token into the sign-in form; then open a tab (by its name) if asked."""
    page.goto(base + "/")
    page.fill("#token-input", token)
    page.click("#token-form button[type=submit]")
    page.wait_for_selector("#app:not([hidden])")
    if tab is not None:
        open_tab(page, tab)


def open_tab(page, name: str) -> None:
    """Click a tab by its visible name and wait for its panel."""
    tab = page.get_by_role("tab", name=name, exact=True)
    tab.click()
    page.wait_for_selector(f"#{tab.get_attribute('aria-controls')}:not([hidden])")


def no_dialogs(page) -> list[str]:
    """Record every alert/confirm the page opens (a script injected by a name would)."""
    opened: list[str] = []

    def record(dialog) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    return opened


def scene(size: tuple[int, int] = (640, 400), sky=(255, 170, 90), sea=(20, 60, 140)) -> bytes:
    """A JPEG that looks like something (a sunset over water), for readable screenshots."""
    import io

    from PIL import Image, ImageDraw

    width, height = size
    image = Image.new("RGB", size)
    draw = ImageDraw.Draw(image)
    horizon = height * 3 // 5
    for y in range(height):
        top, bottom = (sky, (250, 220, 160)) if y < horizon else ((60, 110, 180), sea)
        share = y / horizon if y < horizon else (y - horizon) / (height - horizon)
        color = tuple(int(a + (b - a) * share) for a, b in zip(top, bottom, strict=True))
        draw.line([(0, y), (width, y)], fill=color)
    radius = height // 6
    center = (width * 2 // 3, horizon - radius // 2)
    draw.ellipse(
        [center[0] - radius, center[1] - radius, center[0] + radius, center[1] + radius],
        fill=(255, 236, 170),
    )
    draw.rectangle([0, horizon, width, horizon + 2], fill=(40, 80, 150))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()
