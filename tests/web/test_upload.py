"""The page's upload panel against the part upload API, in a real browser."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.live import serve
from tests.media import make_video_of_size
from tests.web.conftest import RECORD_PROGRESS, open_tab, screenshot, sign_in, until
from tests.web.videos import noisy_webm

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


# --- A 30 MB video through the panel, as a person would send it --------------------------

MB = 1_000_000
SIGNED = "**/signed/**"


@pytest.fixture
def thirty_mb(tmp_path):
    """A 30 MB WebM made with PyAV, on disk as a person would pick it."""
    path = tmp_path / "harbour at dawn.webm"
    path.write_bytes(noisy_webm(30 * MB))
    return path


class HeldParts:
    """Part PUTs held at the browser's edge until the test lets each go (or never does)."""

    def __init__(self, page):
        self.waiting: list = []
        self.seen: list[int] = []
        page.route(SIGNED, self.hold)

    def hold(self, route) -> None:
        if route.request.method != "PUT":  # the player's signed GETs go straight through
            route.continue_()
            return
        self.seen.append(part_number(route.request.url))
        self.waiting.append(route)

    def release(self, page, count: int) -> list[int]:
        """Let `count` held PUTs through, the first ones asked for, waiting for them to arrive."""
        released = []
        while len(released) < count:
            if not self.waiting:
                page.wait_for_timeout(20)
                continue
            route = self.waiting.pop(0)
            released.append(part_number(route.request.url))
            route.continue_()
        return released


def part_number(url: str) -> int:
    return int(url.split("?")[0].rsplit("-", 1)[1])


def stored_parts(database) -> set[int]:
    session = database["upload_sessions"].find_one({})
    return {int(n) for n in session["parts"]} if session else set()


def wait_for_parts(page, database, wanted: set[int]) -> None:
    for _ in range(600):
        if stored_parts(database) >= wanted:
            return
        page.wait_for_timeout(25)
    raise AssertionError(f"parts {wanted} never registered: {stored_parts(database)}")


def row_text(page) -> str:
    return page.inner_text("#upload-list li")


def test_a_30_mb_video_goes_up_with_progress_to_100_moves_the_gauges_and_plays(
    live, page, token, thirty_mb, database
):
    app, base = live
    video = thirty_mb.read_bytes()
    page.add_init_script(RECORD_PROGRESS)
    held = HeldParts(page)
    sign_in(page, base, token("alice"))
    page.wait_for_selector("#storage-text:has-text('(0.0%)')")
    open_tab(page, "Upload")
    page.set_input_files("#upload-input", str(thirty_mb))

    # Parts of 8 MiB: four, three in flight. One lands: the row and the total say a quarter.
    until(page, "#upload-list li", "li => true")
    first = held.release(page, 1)
    wait_for_parts(page, database, set(first))
    until(page, "#upload-list li", "li => /\\(2[5-9]%\\)|\\([3-9]\\d%\\)/.test(li.textContent)")
    row = page.locator("#upload-list li progress")
    assert 25 <= row.evaluate("p => p.value") < 100
    assert 25 <= page.eval_on_selector("#upload-overall", "p => p.value") < 100
    # Two more land at once: the second, coming within one redraw of the first, shows too.
    wait_for_parts(page, database, set(first + held.release(page, 2)))
    until(page, "#upload-list li", "li => /\\(7[5-9]%\\)/.test(li.textContent)")
    screenshot(page, "upload")
    completing: list = []
    page.route(
        "**/complete/", lambda route: completing.append(route)
    )  # held: the store is putting parts together
    held.release(page, 1)
    until(page, "#upload-list li", "li => li.textContent.includes('putting the parts together')")
    drawn = len(page.evaluate("window.__progress"))
    page.wait_for_timeout(700)
    assert len(page.evaluate("window.__progress")) >= drawn + 2  # still drawn, not frozen
    assert not page.get_by_role("button", name="Cancel").is_visible()
    completing[0].continue_()
    until(page, "#upload-list li", "li => li.textContent.includes('stored as')")

    assert row.evaluate("p => p.value") == 100
    assert page.eval_on_selector("#upload-overall", "p => p.value") == 100
    assert "(100%)" in row_text(page) and "stored as harbour at dawn.webm" in row_text(page)
    until(page, "#announce", "n => n.textContent.includes('uploaded')")  # to a screen reader too
    shown = [
        value for name, value, _ in page.evaluate("window.__progress") if name == "upload-overall"
    ]
    assert shown == sorted(shown) and shown[-1] == 100 and any(0 < v < 100 for v in shown)
    assert sorted(held.seen) == [1, 2, 3, 4]  # each part once

    # The gauges moved and the video is in the list, byte for byte what was picked.
    open_tab(page, "My videos")
    page.wait_for_selector("#video-rows tr:has-text('harbour at dawn.webm')")
    until(page, "#storage-text", "n => !n.textContent.includes('(0.0%)')")
    assert page.inner_text("#storage-text").startswith("32.8 MB of 52.4 MB")
    assert page.inner_text("#bandwidth-text").startswith("32.8 MB of")
    bearer = {"Authorization": f"Bearer {token('alice')}"}
    stored = app.test_client().get("/stream/video/harbour at dawn.webm", headers=bearer)
    assert stored.status_code == 200 and stored.data == video

    # Play it from its signed URL and seek to the middle: frames decode there, no error.
    until(page, "#video-rows img.poster", "img => img.complete && img.naturalWidth > 0")
    page.get_by_role("button", name="harbour at dawn.webm", exact=True).click()
    until(page, "#video", "v => v.readyState >= 1 && v.duration > 20")
    page.eval_on_selector("#video", "v => { v.muted = true; v.currentTime = v.duration / 2; }")
    until(page, "#video", "v => !v.seeking && v.readyState >= 2")
    state = page.eval_on_selector(
        "#video",
        "v => ({time: v.currentTime, half: v.duration / 2, error: v.error && v.error.code,"
        " width: v.videoWidth, frames: v.getVideoPlaybackQuality().totalVideoFrames})",
    )
    assert state["error"] is None and state["width"] == 320
    assert abs(state["time"] - state["half"]) < 0.5
    page.eval_on_selector("#video", "v => v.play()")
    until(page, "#video", "v => v.currentTime > v.duration / 2 + 0.3")  # it plays on from there
    assert page.eval_on_selector("#video", "v => v.error") is None
    assert page.errors == []


def test_closed_mid_upload_then_reopened_only_the_missing_parts_are_sent(
    make_app, browser, token, thirty_mb, database
):
    app = make_app(MULTIPART_PART_SIZE_BYTES=4 * 1024 * 1024)  # eight parts
    video = thirty_mb.read_bytes()
    with serve(app) as base:
        context = browser.new_context()
        page = context.new_page()
        held = HeldParts(page)
        sign_in(page, base, token("alice"), tab="Upload")
        page.set_input_files("#upload-input", str(thirty_mb))
        landed = held.release(page, 3)
        wait_for_parts(page, database, set(landed))
        until(page, "#upload-list li", "li => /\\([1-9]\\d%\\)/.test(li.textContent)")
        page.close()  # mid-upload: three parts stored, three more in flight and lost

        there = stored_parts(database)
        assert there == set(landed) and len(there) == 3
        page = context.new_page()  # the same browser: localStorage kept, sessionStorage not
        puts: list[int] = []
        page.on("request", lambda r: puts.append(part_number(r.url)) if "/signed/" in r.url else 0)
        sign_in(page, base, token("alice"), tab="Upload")
        page.set_input_files("#upload-input", str(thirty_mb))
        until(page, "#upload-list li", "li => li.textContent.includes('stored as')")

        assert sorted(puts) == sorted(set(range(1, 9)) - there)  # only the missing, once each
        assert database["upload_sessions"].count_documents({}) == 1  # the same session
        bearer = {"Authorization": f"Bearer {token('alice')}"}
        stored = app.test_client().get("/stream/video/harbour at dawn.webm", headers=bearer)
        assert stored.data == video
        context.close()


@pytest.mark.parametrize(
    ("setting", "said"),
    [
        ("DEFAULT_STORAGE_QUOTA_BYTES", "Exceeds storage limit, cannot upload video..!!"),
        ("DAILY_BANDWIDTH_LIMIT_BYTES", "Bandwidth limit exceeded or some internal upload error"),
    ],
)
def test_a_refusal_is_the_apis_message_before_any_byte_is_sent(
    make_app, browser, token, thirty_mb, setting, said
):
    app = make_app(**{setting: 20 * MB})
    with serve(app) as base:
        context = browser.new_context()
        page = context.new_page()
        sent: list[str] = []
        page.on("request", lambda r: sent.append(r.url) if r.method == "PUT" else None)
        sign_in(page, base, token("alice"), tab="Upload")
        page.set_input_files("#upload-input", str(thirty_mb))
        until(page, "#upload-list li", "li => li.textContent.includes('failed')")

        assert said in row_text(page)
        until(page, "#announce", f"n => n.textContent.includes({said!r})")
        assert sent == []  # refused at create, with the size declared: nothing went up
        assert page.locator("#upload-list li").get_by_role("button", name="Retry").is_visible()
        context.close()


def test_a_token_that_expires_mid_session_brings_the_sign_in_back(
    live, page, token, clock, tmp_path
):
    _, base = live
    sign_in(page, base, token("alice", hours=1), tab="Upload")
    clock.advance(hours=2)  # the service's clock passes the token's expiry
    path = tmp_path / "late.mp4"
    path.write_bytes(make_video_of_size(5 * 64 * 1024))
    page.set_input_files("#upload-input", str(path))

    page.wait_for_selector("#sign-in:not([hidden])")
    assert page.inner_text("#sign-in-message").startswith("Please sign in again:")
    assert page.evaluate("document.activeElement.id") == "token-input"
    assert page.evaluate("sessionStorage.length") == 0  # the refused token is forgotten


def test_a_large_file_goes_in_at_most_16_larger_parts_and_resumes_cut_the_same_way(
    small_parts, browser, token, tmp_path, database
):
    app, base = small_parts
    video = make_video_of_size(40 * PART)  # 40 advised parts: sent as 16 of 2.5 times the size
    path = tmp_path / "long take.mp4"
    path.write_bytes(video)
    context = browser.new_context()
    page = context.new_page()
    held = HeldParts(page)
    sign_in(page, base, token("alice"), tab="Upload")
    page.set_input_files("#upload-input", str(path))
    landed = held.release(page, 5)
    wait_for_parts(page, database, set(landed))
    page.close()

    page = context.new_page()
    puts: list[int] = []
    page.on("request", lambda r: puts.append(part_number(r.url)) if "/signed/" in r.url else 0)
    sign_in(page, base, token("alice"), tab="Upload")
    page.set_input_files("#upload-input", str(path))
    until(page, "#upload-list li", "li => li.textContent.includes('stored as')")

    session = database["upload_sessions"].find_one({})
    sizes = sorted(part["size"] for part in session["parts"].values())
    assert len(sizes) == 16 and sizes[-1] == 40 * PART // 16 and sum(sizes) == len(video)
    assert sorted(puts) == sorted(set(range(1, 17)) - set(landed))
    stored = app.test_client().get(
        "/stream/video/long take.mp4", headers={"Authorization": f"Bearer {token('alice')}"}
    )
    assert stored.data == video
    context.close()
