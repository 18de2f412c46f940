"""The media panel in a real browser: upload with context, thumbnails, filters, links, delete."""

from __future__ import annotations

import io
import uuid

import requests

from tests.blueprints.media.helpers import make_pdf, uploaded_id
from tests.media import make_image
from tests.web.conftest import no_dialogs, open_tab, scene, screenshot, sign_in, until

HOSTILE = "<img src=x onerror=alert(1)>.png"
CARD = "#media-list li"


def choose_file(page, selector: str, name: str, data: bytes, mime: str) -> None:
    page.set_input_files(selector, files=[{"name": name, "mimeType": mime, "buffer": data}])


def test_upload_an_image_with_its_context_and_see_its_thumbnail(live, page, token):
    app, base = live
    dialogs = no_dialogs(page)
    context_id = str(uuid.uuid4())
    sign_in(page, base, token("alice"), tab="Media files")

    form = page.get_by_role("form", name="Upload a file")
    choose_file(page, "#media-file", HOSTILE, scene(), "image/jpeg")
    form.get_by_label("Context type").select_option("ticket_photo")
    form.get_by_label("Context id (a UUID, optional)").fill(context_id)
    form.get_by_label("Public: anyone with its address may download it").check()
    form.get_by_label("Expires").select_option("86400")
    form.get_by_role("button", name="Upload").click()

    page.wait_for_selector(CARD)
    assert page.inner_text("#media-upload-status") == f"Uploaded {HOSTILE}."
    card = page.locator(CARD).first
    assert card.locator(".name").inner_text() == HOSTILE  # text, never HTML
    until(page, f"{CARD} img.thumb", "img => img.complete && img.naturalWidth > 0")
    assert page.eval_on_selector(f"{CARD} img.thumb", "img => img.src").startswith("blob:")
    assert page.locator("#media-list img").count() == 1
    details = card.inner_text()
    assert "Public" in details and "Ticket photo" in details and context_id in details
    assert "expires" in details
    [stored] = app.extensions["mediastore"].database["media"].find({"owner": "alice"})
    assert (stored["context_type"], stored["context_id"], stored["is_public"]) == (
        "ticket_photo",
        context_id,
        True,
    )
    screenshot(page, "media")
    assert dialogs == [] and page.errors == []


def test_filters_and_pages(live, page, token, auth):
    app, base = live
    client = app.test_client()
    for index in range(11):
        uploaded_id(
            client, auth("alice"), make_image("png", size=(8 + index, 8)), name=f"p{index}.png"
        )
    uploaded_id(client, auth("alice"), make_pdf(), name="bill.pdf", context_type="invoice_pdf")
    sign_in(page, base, token("alice"), tab="Media files")
    page.get_by_label("Per page").select_option("10")

    until(page, "#media-page", "n => n.textContent === 'Page 1 of 2'")
    assert page.locator(CARD).count() == 10
    assert page.inner_text("#media-summary") == "12 files"
    page.get_by_role("button", name="Next page").click()
    until(page, "#media-page", "n => n.textContent === 'Page 2 of 2'")
    assert page.locator(CARD).count() == 2
    assert page.get_by_role("button", name="Next page").is_disabled()

    filters = page.get_by_role("search", name="Filter media files")
    filters.get_by_label("File type").select_option("pdf")
    filters.get_by_role("button", name="Filter").click()
    until(page, "#media-summary", "n => n.textContent === '1 file'")
    assert page.locator(f"{CARD} .name").all_inner_texts() == ["bill.pdf"]
    assert page.locator(f"{CARD} .thumb").inner_text() == "PDF"
    filters.get_by_label("File type").select_option("")
    filters.get_by_label("Context type").select_option("invoice_pdf")
    filters.get_by_role("button", name="Filter").click()
    until(page, "#media-summary", "n => n.textContent === '1 file'")
    assert page.errors == []


def test_copy_a_download_link_that_works_without_signing_in_then_delete(live, page, token, auth):
    app, base = live
    image = make_image("jpeg", size=(40, 30))
    uploaded_id(app.test_client(), auth("alice"), image, name="cat.jpg")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    sign_in(page, base, token("alice"), tab="Media files")
    page.wait_for_selector(CARD)

    page.get_by_role("button", name="Copy download link of cat.jpg").click()
    page.wait_for_selector("#media-link:not([hidden])")
    link = page.input_value("#media-link-input")
    assert link.startswith(f"{base}/api/v1/media/") and "/download?token=" in link
    assert page.evaluate("navigator.clipboard.readText()") == link
    assert "Copied to the clipboard" in page.inner_text("#media-link-note")
    assert requests.get(link, timeout=10).content == image  # no Authorization header

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete cat.jpg").click()
    until(page, "#media-summary", "n => n.textContent === 'No media files yet.'")
    assert app.extensions["mediastore"].database["media"].count_documents({}) == 0
    assert page.errors == []


def test_a_quota_refusal_is_shown_as_the_apis_message(make_app, browser, token):
    from tests.fixtures.live import serve

    app = make_app(DEFAULT_STORAGE_QUOTA_BYTES=1000)
    with serve(app) as base:
        context = browser.new_context()
        page = context.new_page()
        sign_in(page, base, token("alice"), tab="Media files")
        buffer = io.BytesIO(make_image("png", size=(300, 300)))
        choose_file(page, "#media-file", "big.png", buffer.getvalue(), "image/png")
        page.get_by_role("button", name="Upload", exact=True).click()
        until(page, "#media-upload-status", "n => n.textContent.startsWith('Not uploaded')")
        assert "Storage quota exceeded" in page.inner_text("#media-upload-status")
        open_tab(page, "Media files")
        assert page.inner_text("#media-summary") == "No media files yet."
        context.close()
