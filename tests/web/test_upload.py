"""The page's upload panel against the part upload API, in a real browser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.live import serve
from tests.media import make_video_of_size
from tests.web.test_page import sign_in, until

PART = 64 * 1024  # small parts, so that a small video is several of them, some in flight


@pytest.fixture
def small_parts(make_app) -> Iterator[tuple[object, str]]:
    """The app on a real socket, advising 64 KiB parts."""
    app = make_app(MULTIPART_PART_SIZE_BYTES=PART)
    with serve(app) as base:
        yield app, base


def test_the_panel_sends_a_video_in_parts_and_it_lands_in_the_library(
    small_parts, browser, token, tmp_path, database
):
    app, base = small_parts
    video = make_video_of_size(5 * PART + 123)
    path = tmp_path / "screen recording.mp4"
    path.write_bytes(video)
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    bearer = token("alice")

    sign_in(page, base, bearer)
    page.click("button[data-tab=upload]")
    page.set_input_files("#upload-input", str(path))
    until(page, "#upload-list li", "li => li.textContent.includes('stored as')")

    assert "stored as screen recording.mp4" in page.inner_text("#upload-list li")
    session = database["upload_sessions"].find_one({})
    assert session["status"] == "completed" and len(session["parts"]) == 6
    client = app.test_client()
    stored = client.get(
        "/stream/video/screen recording.mp4", headers={"Authorization": f"Bearer {bearer}"}
    )
    assert stored.status_code == 200 and stored.data == video
    assert errors == []
    context.close()


def test_after_a_reload_the_panel_sends_only_the_parts_the_server_lacks(
    small_parts, browser, token, tmp_path, database
):
    app, base = small_parts
    video = make_video_of_size(6 * PART)
    path = tmp_path / "take.mp4"
    path.write_bytes(video)
    context = browser.new_context()
    page = context.new_page()
    bearer = token("alice")
    puts: list[str] = []

    def first_two_parts_only(route):
        puts.append(route.request.url)
        if len(puts) <= 2:
            route.continue_()
        else:
            route.abort()  # the connection drops for every later part

    page.route("**/signed/**", first_two_parts_only)
    sign_in(page, base, bearer)
    page.click("button[data-tab=upload]")
    page.set_input_files("#upload-input", str(path))
    sessions = database["upload_sessions"]
    for _ in range(200):
        session = sessions.find_one({})
        if session is not None and len(session["parts"]) == 2:
            break
        page.wait_for_timeout(50)
    page.reload()  # before any retry of a dropped part can get through
    page.wait_for_selector("#app:not([hidden])")
    page.unroute("**/signed/**")
    stored_first = {int(n) for n in sessions.find_one({})["parts"]}
    assert len(stored_first) == 2  # which two depends on which PUTs went first
    sent_again: list[str] = []
    page.on("request", lambda r: sent_again.append(r.url) if "/signed/" in r.url else None)
    page.click("button[data-tab=upload]")
    page.set_input_files("#upload-input", str(path))
    until(page, "#upload-list li", "li => li.textContent.includes('stored as')")

    resent = sorted(int(url.split("?")[0].rsplit("-", 1)[1]) for url in sent_again)
    assert resent == sorted({1, 2, 3, 4, 5, 6} - stored_first)
    assert sessions.count_documents({}) == 1  # the same session, resumed
    stored = app.test_client().get(
        "/stream/video/take.mp4", headers={"Authorization": f"Bearer {bearer}"}
    )
    assert stored.data == video
    context.close()
