"""The library panel in a real browser: folders, thumbnails, an item's versions, changes, modes."""

from __future__ import annotations

import hashlib

from tests.fixtures.entities import create, make_picture, video
from tests.web.conftest import no_dialogs, scene, screenshot, sign_in, until

WRITE = {"permissions": ["media_store_write"]}
READ = {"permissions": ["media_store_read"]}
HOSTILE = "<img src=x onerror=alert(1)>"
GRID = "#library-grid li"


def tile(page, label: str):
    return page.locator(GRID).filter(has_text=label)


def open_tile(page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()


def test_a_collection_an_image_a_new_label_as_version_2_and_version_1_again(live, page, token):
    app, base = live
    picture = scene((480, 300))
    sign_in(page, base, token("alice", **WRITE), tab="Library")
    page.wait_for_selector("#library-summary:has-text('Nothing here yet.')")

    page.locator("summary", has_text="New collection").click()
    page.get_by_label("Name").fill("Holidays")
    page.get_by_role("button", name="Create collection").click()
    open_tile(page, "Open collection Holidays")
    until(page, "#library-crumbs li:nth-child(2)", "n => n.textContent === 'Holidays'")
    crumbs = page.get_by_role("navigation", name="Breadcrumb").get_by_role("button")
    assert crumbs.all_inner_texts() == ["Library", "Holidays"]
    assert crumbs.nth(1).get_attribute("aria-current") == "page"

    page.locator("summary", has_text="Add an image or video").click()
    page.set_input_files(
        "#library-file", files=[{"name": "beach.jpg", "mimeType": "image/jpeg", "buffer": picture}]
    )
    page.get_by_role("form", name="Add an image or video").get_by_label("Label").fill("Beach")
    page.get_by_role("button", name="Add here").click()
    page.wait_for_selector(f"{GRID} .tile-label:text-is('Beach')")
    until(page, f"{GRID} img.tile-thumb", "img => img.complete && img.naturalWidth > 0")
    screenshot(page, "library")

    open_tile(page, "Open Beach")
    page.wait_for_selector("#library-item:not([hidden])")
    assert page.evaluate("document.activeElement.id") == "item-title"
    assert page.inner_text("#item-where") == "In the collection Holidays"
    meta = dict(
        zip(
            page.locator("#item-meta dt").all_inner_texts(),
            page.locator("#item-meta dd").all_inner_texts(),
            strict=True,
        )
    )
    assert meta["Dimensions"] == "480 × 300 pixels"
    assert meta["MD5"] == hashlib.md5(picture).hexdigest()
    assert meta["Type"] == "image (image/jpeg)" and meta["Added"].endswith("by alice")
    until(page, "#item-preview img", "img => img.complete && img.naturalWidth === 480")

    page.get_by_role("textbox", name="Label").fill("Beach at dusk")
    page.get_by_role("textbox", name="Description").last.fill("Taken from the pier")
    page.get_by_role("button", name="Save").click()
    until(page, "#item-message", "n => n.textContent === 'Saved: now version 2.'")
    assert page.inner_text("#item-title") == "Beach at dusk"
    assert page.locator("#item-versions tr").count() == 2
    screenshot(page, "library-item")

    page.get_by_role("button", name="Open version 1").click()
    until(page, "#item-title", "n => n.textContent === 'Beach'")
    assert "version 1 of 2" in page.inner_text("#item-version-note")
    assert page.is_hidden("#item-actions")  # an older version is read, not edited
    src = page.eval_on_selector("#item-preview img", "img => img.src")
    assert "/file?version=1&token=" in src
    page.get_by_role("button", name="Show the current version").click()
    until(page, "#item-title", "n => n.textContent === 'Beach at dusk'")
    assert page.errors == []


def test_move_soft_delete_restore_search_and_filter(live, page, token):
    app, base = live
    client = app.test_client()
    writer = {"Authorization": f"Bearer {token('setup', **WRITE)}"}
    first = create(client, label="First", headers=writer).get_json()["id"]
    create(client, label="Second", headers=writer)
    create(client, make_picture(color=(1, 1, 1)), headers=writer, label="Sunset", parent_id=first)
    create(client, video(), headers=writer, label="Clip", description="a needle in here")
    sign_in(page, base, token("alice", **WRITE), tab="Library")
    page.wait_for_selector(f"{GRID} .tile-label:text-is('Clip')")
    until(page, f"{GRID} img.tile-thumb", "img => img.complete && img.naturalWidth > 0")

    open_tile(page, "Open collection First")
    open_tile(page, "Open Sunset")
    page.get_by_label("Move to").select_option(label="Second (#2)")
    page.get_by_role("button", name="Move", exact=True).click()
    until(page, "#item-where", "n => n.textContent === 'In the collection Second'")

    page.get_by_role("button", name="Delete", exact=True).click()
    page.wait_for_selector("#item-deleted:not([hidden])")
    page.get_by_role("button", name="Back to First").click()
    page.wait_for_selector("#library-browser:not([hidden])")
    page.get_by_role("button", name="Library", exact=True).click()
    open_tile(page, "Open collection Second")
    page.wait_for_selector("#library-summary:has-text('Nothing here yet.')")
    page.get_by_label("Include deleted").check()
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_selector(f"{GRID}.is-deleted .badge:text-is('Deleted')")

    page.get_by_label("Search labels and descriptions").fill("NEEDLE")
    page.get_by_role("button", name="Search", exact=True).click()
    until(page, "#library-grid", "n => n.innerText.includes('Clip')")
    assert page.locator(GRID).count() == 1
    page.get_by_label("Search labels and descriptions").fill("")
    page.get_by_label("Show").select_option(label="Images")
    page.get_by_role("button", name="Search", exact=True).click()
    # In Second, deleted ones included: the image alone.
    until(page, f"{GRID} .tile-label", "n => n.textContent === 'Sunset'")
    assert page.locator(f"{GRID} .tile-label").all_inner_texts() == ["Sunset"]

    open_tile(page, "Open Sunset")
    page.get_by_role("button", name="Restore").click()
    until(page, "#item-message", "n => n.textContent.startsWith('Restored')")
    assert page.is_hidden("#item-deleted")
    assert app.extensions["mediastore"].entities.get(3)["is_deleted"] is False
    assert page.errors == []


def test_a_video_plays_from_its_signed_url(live, page, token):
    app, base = live
    writer = {"Authorization": f"Bearer {token('setup', **WRITE)}"}
    create(
        app.test_client(), video("webm", seconds=3.0, size=(96, 64)), headers=writer, label="Run"
    )
    sign_in(page, base, token("alice"), tab="Library")
    until(page, f"{GRID} img.tile-thumb", "img => img.complete && img.naturalWidth === 96")

    open_tile(page, "Open Run")
    until(page, "#item-preview video", "v => v.readyState >= 1")
    page.eval_on_selector("#item-preview video", "v => { v.muted = true; v.currentTime = 1.5; }")
    until(page, "#item-preview video", "v => !v.seeking && v.readyState >= 2")
    assert page.eval_on_selector("#item-preview video", "v => v.error") is None
    assert "/file?version=1&token=" in page.eval_on_selector("#item-preview video", "v => v.src")
    assert page.errors == []


def test_labels_and_descriptions_are_shown_as_text(live, page, token):
    app, base = live
    dialogs = no_dialogs(page)
    writer = {"Authorization": f"Bearer {token('setup', **WRITE)}"}
    create(app.test_client(), make_picture(), headers=writer, label=HOSTILE, description=HOSTILE)
    sign_in(page, base, token("alice"), tab="Library")
    page.wait_for_selector(f"{GRID} .tile-label")

    assert page.inner_text(f"{GRID} .tile-label") == HOSTILE
    open_tile(page, f"Open {HOSTILE}")
    until(page, "#item-preview img", "img => img.complete")
    assert page.inner_text("#item-title") == HOSTILE
    assert page.inner_text("#item-description") == HOSTILE
    assert page.locator("#library-item img").count() == 1  # the preview, no injected one
    assert dialogs == [] and page.errors == []


def test_without_write_permission_the_write_controls_are_hidden(live, page, token):
    app, base = live
    writer = {"Authorization": f"Bearer {token('setup', **WRITE)}"}
    create(app.test_client(), make_picture(), headers=writer, label="Look only")
    sign_in(page, base, token("alice"), tab="Library")
    page.wait_for_selector(f"{GRID} .tile-label")

    assert "Read-only" in page.inner_text("#library-mode")
    assert page.is_hidden("#library-new-collection") and page.is_hidden("#library-add")
    open_tile(page, "Open Look only")
    page.wait_for_selector("#library-item:not([hidden])")
    assert page.is_hidden("#item-actions")
    assert page.get_by_role("button", name="Save").count() == 0
    screenshot(page, "library-read-only")


def test_with_read_auth_on_a_reader_without_permission_is_told_why(make_app, browser, token):
    from tests.fixtures.live import serve

    with serve(make_app(READ_AUTH_ENABLED=True)) as base:
        context = browser.new_context()
        page = context.new_page()
        sign_in(page, base, token("alice"), tab="Library")
        page.wait_for_selector("#library-mode:not([hidden])")
        assert "needs the media_store_read permission" in page.inner_text("#library-mode")
        assert page.is_hidden("#library-browser")
        context.close()


def test_the_apis_403_is_shown_as_a_message(live, page, token):
    app, base = live
    sign_in(page, base, token("alice", **WRITE), tab="Library")
    page.wait_for_selector("#library-summary:has-text('Nothing here yet.')")
    # An admin turns read authentication on while the page is open: this token cannot read.
    app.extensions["mediastore"].entities.access.read_auth.set(True, "root")

    page.get_by_role("button", name="Search", exact=True).click()
    until(page, "#library-message", "n => n.textContent === 'Not enough permissions'")
    assert page.is_visible("#app")  # a 403 is a message, not a sign-out
