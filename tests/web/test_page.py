"""The page in a real browser: sign-in, videos with gauges and a seekable player, docs."""

from __future__ import annotations

import re

from tests.helpers import upload
from tests.media import make_video
from tests.web.conftest import screenshot, sign_in, until

HOSTILE = "<img src=x onerror=alert(1)>.webm"


def test_the_page_is_locked_down(live, page):
    _, base = live
    response = page.goto(base + "/")
    headers = response.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    inline = page.eval_on_selector_all("script:not([src])", "nodes => nodes.length")
    assert inline == 0


def test_sign_in_shows_who_and_until_when_and_an_expired_token_goes_back(live, page, token, clock):
    app, base = live
    sign_in(page, base, token("alice", email="alice@example.com", hours=2))
    assert page.inner_text("#who") == "alice@example.com"
    assert "until" in page.inner_text("#expires")
    screenshot(page, "videos-empty")
    # The server's clock moves past the token's expiry: the next call is 401.
    clock.advance(hours=3)
    page.reload()
    page.wait_for_selector("#sign-in:not([hidden])")
    assert page.errors == []


def test_development_sign_in_mints_a_token(live, page):
    _, base = live
    page.goto(base + "/")
    page.fill("#dev-name", "carol")
    screenshot(page, "sign-in")
    page.click("#dev-continue")
    page.wait_for_selector("#app:not([hidden])")
    assert page.inner_text("#who") == "carol"


def test_videos_show_as_text_and_play_and_seek(live, page, token, client):
    app, base = live
    bearer = token("alice")
    video = make_video("webm", seconds=6.0, size=(160, 120), fps=10)
    headers = {"Authorization": f"Bearer {bearer}"}
    assert upload(app.test_client(), headers, video, HOSTILE).status_code == 200

    sign_in(page, base, bearer)
    page.wait_for_selector("#video-rows tr")
    name_cell = page.locator("#video-rows tr td").first
    assert name_cell.inner_text() == HOSTILE  # rendered as text, never as HTML
    # The only image in the row is the poster frame, loaded from the API as a blob.
    until(page, "#video-rows img.poster", "img => img.complete && img.naturalWidth > 0")
    assert page.eval_on_selector("#video-rows img.poster", "img => img.src").startswith("blob:")
    assert page.locator("#video-rows img").count() == 1
    assert re.search(r"\(0\.\d%\)", page.inner_text("#storage-text"))

    name_cell.locator("button").click()
    until(page, "#video", "v => v.readyState >= 1")
    page.eval_on_selector("#video", "v => { v.muted = true; v.currentTime = v.duration / 2; }")
    until(page, "#video", "v => !v.seeking && v.readyState >= 2 && v.currentTime > 2.5")
    state = page.eval_on_selector(
        "#video", "v => ({time: v.currentTime, error: v.error && v.error.code, w: v.videoWidth})"
    )
    assert state["error"] is None and state["w"] == 160 and 2.5 < state["time"] < 3.5
    screenshot(page, "videos")
    assert page.errors == []


def test_docs_list_every_path(live, page, client):
    _, base = live
    paths = client.get("/openapi.json").get_json()["paths"]
    page.goto(base + "/docs")
    page.wait_for_selector(".opblock")
    shown = set(
        page.eval_on_selector_all(".opblock-summary-path", "ns => ns.map(n => n.dataset.path)")
    )
    assert set(paths) <= shown
    screenshot(page, "docs")
