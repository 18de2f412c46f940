"""The page at phone width, with the keyboard alone, and as a screen reader meets it."""

from __future__ import annotations

import pytest

from tests.blueprints.media.helpers import uploaded_id
from tests.fixtures.entities import create
from tests.helpers import upload
from tests.media import make_video
from tests.web.conftest import open_tab, scene, screenshot, sign_in, until

WRITE = {"permissions": ["media_store_write"]}
TABS = ["My videos", "Upload", "Media files", "Library", "Screenshots"]


@pytest.fixture
def stocked(live, token, auth):
    """Alice has a video, a media image, and the library a collection holding a picture."""
    app, base = live
    client = app.test_client()
    video = make_video("webm", seconds=2.0, size=(160, 90), fps=10)
    assert upload(client, auth("alice"), video, "A walk along the harbour.webm").status_code == 200
    uploaded_id(client, auth("alice"), scene(), name="receipt photo with a long name.jpg")
    writer = {"Authorization": f"Bearer {token('setup', **WRITE)}"}
    folder = create(client, label="Summer 2025", headers=writer).get_json()["id"]
    create(client, scene((300, 200)), headers=writer, label="Harbour", parent_id=folder)
    return app, base


def overflows(page) -> bool:
    return page.eval_on_selector("html", "html => html.scrollWidth > html.clientWidth + 1")


def test_every_panel_fits_a_phone(browser, stocked, token):
    _, base = stocked
    context = browser.new_context(viewport={"width": 375, "height": 740}, device_scale_factor=2)
    page = context.new_page()
    sign_in(page, base, token("alice", **WRITE))
    page.wait_for_selector("#video-rows tr")
    for name in TABS:
        open_tab(page, name)
        page.wait_for_timeout(300)  # the panel's list arrives
        assert not overflows(page), f"{name} scrolls sideways at 375 px"
    open_tab(page, "Library")
    page.get_by_role("button", name="Open collection Summer 2025").click()
    page.get_by_role("button", name="Open Harbour").click()
    page.wait_for_selector("#library-item:not([hidden])")
    assert not overflows(page)
    screenshot(page, "phone-library-item")
    open_tab(page, "My videos")
    screenshot(page, "phone-videos")
    context.close()


def test_sign_in_tabs_and_the_library_work_with_the_keyboard_alone(live, page, token):
    app, base = live
    writer = {"Authorization": f"Bearer {token('setup', **WRITE)}"}
    create(app.test_client(), scene((200, 150)), headers=writer, label="Pier")
    page.goto(base + "/")
    page.wait_for_selector("#sign-in:not([hidden])")
    # The sign-in takes the focus: type, Tab to the button, Enter.
    assert page.evaluate("document.activeElement.id") == "token-input"
    page.keyboard.type(token("alice"))
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("#app:not([hidden])")

    # One tab stop for the tab list; arrows, Home and End move between the tabs.
    page.focus("#tab-button-videos")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.id") == "tab-button-library"
    page.wait_for_selector("#tab-library:not([hidden])")
    assert page.get_attribute("#tab-button-library", "aria-selected") == "true"
    assert page.get_attribute("#tab-button-videos", "tabindex") == "-1"
    page.keyboard.press("End")
    assert page.evaluate("document.activeElement.id") == "tab-button-screenshots"
    page.keyboard.press("Home")
    page.keyboard.press("ArrowLeft")  # wraps around to the last tab
    assert page.evaluate("document.activeElement.id") == "tab-button-screenshots"
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("document.activeElement.id") == "tab-button-library"
    page.wait_for_selector("#library-grid li")

    # Into the grid with Tab, open with Enter: the item's title has the focus; Back returns.
    tile = page.get_by_role("button", name="Open Pier")
    for _ in range(30):
        page.keyboard.press("Tab")
        if tile.evaluate("node => node === document.activeElement"):
            break
    assert tile.evaluate("node => node === document.activeElement")
    page.keyboard.press("Enter")
    page.wait_for_selector("#library-item:not([hidden])")
    assert page.evaluate("document.activeElement.id") == "item-title"
    page.keyboard.press("Shift+Tab")  # the Back button is just before the title
    assert page.evaluate("document.activeElement.id") == "item-back"
    page.keyboard.press("Enter")
    until(page, "#library-grid [data-id]", "node => node === document.activeElement")
    assert page.errors == []


def test_controls_have_names_and_news_is_announced(stocked, page, token):
    _, base = stocked
    sign_in(page, base, token("alice", **WRITE))
    tabs = page.get_by_role("tablist", name="Sections").aria_snapshot()
    assert '- tab "My videos" [selected]' in tabs and '- tab "Library"' in tabs
    page.wait_for_selector("#video-rows tr")
    unnamed = []
    for name in TABS:
        open_tab(page, name)
        page.wait_for_timeout(300)
        unnamed += page.eval_on_selector_all(
            "[role=tabpanel]:not([hidden]) :is(input, select, textarea, button, progress, video)",
            """nodes => nodes.filter(n => n.offsetParent !== null || n.type === 'file')
                .filter(n => !(n.labels && n.labels.length) && !n.getAttribute('aria-label')
                    && !n.getAttribute('aria-labelledby') && !n.textContent.trim())
                .map(n => n.outerHTML.slice(0, 80))""",
        )
    assert unnamed == []
    # Images that carry meaning say what they show; thumbnails beside their names are decoration.
    open_tab(page, "Library")
    page.get_by_role("button", name="Open collection Summer 2025").click()
    page.get_by_role("button", name="Open Harbour").click()
    until(page, "#item-preview img", "img => img.complete")
    assert page.get_attribute("#item-preview img", "alt") == "Harbour"
    # What happens is said in a live region: here, a change saved as a new version.
    page.get_by_role("textbox", name="Label").fill("Harbour at noon")
    page.get_by_role("button", name="Save").click()
    until(page, "#announce", "n => n.textContent === 'Saved: now version 2.'")
    assert page.get_attribute("#announce", "aria-live") == "polite"
    assert page.get_attribute("#item-message", "role") == "status"
