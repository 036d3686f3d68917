"""End to end in headless Chromium: sign in, upload a flight, watch it finish, open a defect,
confirm it, see the queue update, review from the keyboard; a screenshot of every page goes to
test-artifacts/ui/, and axe-core checks each page for serious accessibility problems."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from ui import support as ui_support
from ui.browser import axe_violations, browser_page, chromium_path, screenshot, serve
from ui.conftest import build_app, make_settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def check_a11y(page: Any, name: str) -> None:
    violations = axe_violations(page)
    assert not violations, f"{name}: accessibility violations {violations}"


def no_js_errors(page: Any) -> None:
    assert not page.js_errors, page.js_errors


def test_review_flow_in_browser(tmp_path: Path, tiny_model: Path) -> None:
    chromium_path()  # skip early (or fail under CI) without a browser
    from playwright.sync_api import expect
    # One photo per batch with a pause between: the flight page is usually still processing
    # when it opens, so its live progress runs (nothing below depends on that timing).
    app, _services, tokens = build_app(make_settings(tmp_path / "data", tiny_model,
                                                     batch_size=1, throttle_s=0.5))
    photos = []
    for i, (_, lat, lon) in enumerate(ui_support.TOWERS):
        path = tmp_path / f"DJI_{i:04d}.JPG"
        # 5 MP: large enough that the defect page first shows a 2048-px copy.
        path.write_bytes(ui_support.dji_photo(i, lat + 0.00005, lon, width=2600, height=1950))
        photos.append(str(path))
    ledger = tmp_path / "towers.csv"
    ledger.write_text(ui_support.ledger_csv(), encoding="utf-8")
    junk = tmp_path / "notes.txt"
    junk.write_text("not a photo")
    photos.append(str(junk))
    archive = tmp_path / "more.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        _, lat, lon = ui_support.TOWERS[1]
        zf.writestr("card/DJI_0100.JPG", ui_support.dji_photo(7, lat - 0.00004, lon))
        zf.writestr("card/readme.txt", "flight log")
    photos.append(str(archive))

    with serve(app) as base, browser_page() as page:
        # Sign in: a wrong token is refused, the right one lands on the page asked for.
        page.goto(f"{base}/ui/flights/new")
        assert "/ui/login" in page.url
        page.get_by_label("Access token").fill("lp_wrong")
        page.get_by_role("button", name="Sign in").click()
        assert page.locator("[role=alert]").inner_text().startswith("Unknown or revoked token")
        page.get_by_label("Access token").fill(tokens["admin"])
        screenshot(page, "01-sign-in")
        check_a11y(page, "sign-in")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/ui/flights/new$"))
        cookie = next(c for c in page.context.cookies() if c["name"] == "lp_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

        # New flight: three DJI photos, a text file and a zip (a photo and a text file inside);
        # every file, and every zip entry, gets its own verdict.
        page.get_by_label("Line 线路名称").fill(ui_support.LINE)
        page.get_by_label("Team").fill("Patrol team 3")
        page.get_by_label("Submit for processing when the upload ends").uncheck()
        page.set_input_files("#ledger", str(ledger))
        page.set_input_files("#files", photos)
        page.get_by_role("button", name="Upload and process").click()
        page.wait_for_selector("#upload-files li[data-status]", state="attached")
        # (Locator waits, not wait_for_function: that one evals, which the pages' CSP forbids.)
        expect(page.locator("#upload-summary")).to_have_text(
            "4 accepted · 0 duplicate · 2 rejected")
        rows = page.locator("#upload-files tbody tr")
        assert rows.count() == 5
        junk_row = rows.filter(has_text="notes.txt")
        assert "rejected" in junk_row.inner_text() and "not an image" in junk_row.inner_text()
        zip_row = rows.filter(has_text="more.zip")
        assert zip_row.locator('li[data-status="accepted"]').inner_text().startswith(
            "more.zip/card/DJI_0100.JPG: accepted")
        assert "more.zip/card/readme.txt: rejected" in zip_row.locator(
            'li[data-status="rejected"]').inner_text()
        assert page.locator('#upload-files li[data-status="accepted"]').count() == 4
        screenshot(page, "02-new-flight-uploaded")
        check_a11y(page, "new flight")
        assert "3 towers loaded" in page.locator("#ledger-result").inner_text()
        page.get_by_role("button", name="Submit for processing").click()

        # Flight page: live progress until done, then the map, report links and defects.
        page.wait_for_url(re.compile(r"/ui/flights/\d+$"))
        if page.locator("#flight-state").get_attribute("data-status") in ("queued", "processing"):
            screenshot(page, "03a-flight-processing")
        page.wait_for_selector('#flight-state[data-status="done"]', timeout=60_000)
        page.wait_for_selector("#map.loaded")
        assert int(page.locator("#map").get_attribute("data-defects") or 0) >= 1
        assert page.locator("#flight-defects tbody tr").count() >= 1
        for fmt in ("HTML", "GEOJSON", "KML", "CSV"):
            assert page.get_by_role("link", name=fmt, exact=True).count() == 1
        href = page.get_by_role("link", name="GEOJSON", exact=True).get_attribute("href")
        report = page.request.get(base + str(href))
        assert report.ok and report.json()["type"] == "FeatureCollection"
        screenshot(page, "03-flight-done")
        check_a11y(page, "flight")
        flight_url = page.url

        page.goto(f"{base}/ui/flights")
        assert page.locator('#flights tr[data-status="done"]').count() == 1
        screenshot(page, "03b-flights")
        check_a11y(page, "flights")

        # Queue: what awaits review, most urgent first.
        page.goto(f"{base}/ui/defects")
        queue_rows = page.locator("#queue tbody tr")
        before = queue_rows.count()
        assert before >= 2
        total_before = int(page.locator("#queue-total").inner_text())
        screenshot(page, "04-queue")
        check_a11y(page, "queue")

        # Defect page: zoomable photo with the box, crop, map, history; confirm it.
        first = queue_rows.first
        defect_id = first.get_attribute("data-defect")
        first.locator("a.open").click()
        page.wait_for_url(re.compile(rf"/ui/defects/{defect_id}$"))
        page.wait_for_selector("#photo-viewer img.leaflet-image-layer")
        expect(page.locator("img.crop")).to_have_js_property("complete", True)
        assert page.locator("img.crop").evaluate("img => img.naturalWidth") > 0
        page.wait_for_selector("#map.loaded")
        assert page.locator("#status-badge [data-status]").get_attribute(
            "data-status") == "new"
        assert "杆塔" in page.content() or "Tower" in page.content()
        overlay = page.locator("#photo-viewer img.leaflet-image-layer")
        assert "variant=thumbnail&size=2048" in (overlay.get_attribute("src") or "")
        screenshot(page, "05-defect")
        page.get_by_role("button", name="Zoom to the box").click()
        expect(overlay).to_have_attribute("src", re.compile(r"/api/v1/images/\d+$"))
        expect(overlay).to_have_js_property("complete", True)
        screenshot(page, "05b-defect-zoomed")
        check_a11y(page, "defect")
        page.get_by_role("button", name=re.compile("^Confirm")).click()
        page.wait_for_selector('#status-badge [data-status="confirmed"]')
        assert "status: new → confirmed" in page.locator("#history").inner_text()
        screenshot(page, "06-defect-confirmed")

        # The queue no longer offers the confirmed defect for review.
        page.goto(f"{base}/ui/defects")
        assert int(page.locator("#queue-total").inner_text()) == total_before - 1
        assert page.locator(f'#queue tr[data-defect="{defect_id}"]').count() == 0

        # Keyboard review: j selects the first row, r rejects it and moves on.
        rejected_id = page.locator("#queue tbody tr").first.get_attribute("data-defect")
        page.keyboard.press("j")
        page.keyboard.press("r")
        page.wait_for_selector(
            f'#queue tr[data-defect="{rejected_id}"] .st[data-status="rejected"]')
        screenshot(page, "07-queue-after-review")
        confirmed = page.request.get(f"{base}/api/v1/defects/{rejected_id}").json()
        assert confirmed["status"] == "rejected"

        # Map of open defects along the line, drawn offline (no tile server configured).
        page.goto(f"{base}/ui/map")
        page.wait_for_selector("#map.loaded")
        assert page.locator(".tower-label").count() == len(ui_support.TOWERS)
        assert page.locator("img.leaflet-tile").count() == 0
        screenshot(page, "08-map")
        check_a11y(page, "map")

        page.goto(flight_url)
        page.set_viewport_size({"width": 820, "height": 1180})  # a tablet, portrait
        page.goto(f"{base}/ui/defects/{defect_id}")
        page.wait_for_selector("#map.loaded")
        screenshot(page, "09-defect-tablet")
        no_js_errors(page)
