"""The Screenshots tab: a catalog id's screenshots, sent by peers, as a gallery."""

from __future__ import annotations

import dataclasses

from tests.blueprints.screenshots.test_routes import post
from tests.fixtures.live import serve
from tests.fixtures.screenshots import build_rig
from tests.web.conftest import open_tab, scene, screenshot, sign_in, until


def test_a_catalogs_screenshots_show_as_a_gallery(
    make_app, httpserver, database, store, clock, browser, token
):
    rig = build_rig(httpserver, database=database, store=store, clock=clock)
    app = make_app()
    services = app.extensions["mediastore"]
    app.extensions["mediastore"] = dataclasses.replace(services, screenshots=rig.service)
    shots = [scene((480, 300)), scene((480, 300), sky=(120, 170, 240), sea=(30, 90, 60))]
    peer = rig.offer("film-42")["p1"]
    assert post(app.test_client(), shots, peer, url="/api/screenshot/film-42").status_code == 200

    with serve(app) as base:
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        page = context.new_page()
        sign_in(page, base, token("alice"))
        open_tab(page, "Screenshots")
        page.get_by_label("Catalog id").fill("film-42")
        page.keyboard.press("Enter")
        until(page, "#gallery img:nth-child(2)", "img => img.complete && img.naturalWidth === 480")

        alts = page.eval_on_selector_all("#gallery img", "ns => ns.map(n => n.alt)")
        assert alts == ["Screenshot 1 of film-42", "Screenshot 2 of film-42"]
        until(page, "#announce", "n => n.textContent === '2 screenshots'")
        screenshot(page, "screenshots")

        page.get_by_label("Catalog id").fill("nothing-here")
        page.keyboard.press("Enter")
        page.wait_for_selector("#gallery-empty:not([hidden])")
        assert page.locator("#gallery img").count() == 0
        context.close()
