"""The map in a real browser: a metric scale bar, towers drawn above the findings snapped to them
(which still open on a click), and count badges above the tower labels."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from ui.browser import browser_page, chromium_path, screenshot, serve
from ui.conftest import build_app, make_settings
from ui.test_pages import process_flight

pytestmark = [pytest.mark.browser]

# The stacking order of an element's pane (Leaflet puts each layer in one), read in the page.
PANE_Z = """el => {
  const pane = el.closest('.leaflet-pane:not(.leaflet-map-pane)');
  return Number(getComputedStyle(pane).zIndex);
}"""


def test_map_stacks_towers_over_defects_and_shows_a_scale(tmp_path: Path,
                                                           tiny_model: Path) -> None:
    chromium_path()
    from linepatrol_service.models import Defect

    app, services, tokens = build_app(make_settings(tmp_path / "data", tiny_model))
    with serve(app) as base, browser_page() as page:
        with httpx.Client(base_url=base, timeout=30) as client:
            flight = process_flight(client, tokens, "admin")  # type: ignore[arg-type]
        with services.sessions.begin() as s:  # two findings at one place: a count badge
            first, second = s.query(Defect).order_by(Defect.id).limit(2)
            second.lat, second.lon = first.lat, first.lon
        page.goto(f"{base}/ui/login")
        page.get_by_label("Access token").fill(tokens["reviewer"])
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"{base}/ui/map")
        page.wait_for_selector("#map.loaded")
        assert int(page.locator("#map").get_attribute("data-defects") or 0) == flight["defects"]

        scale = page.locator(".leaflet-control-scale-line")
        assert scale.count() == 1 and scale.inner_text().strip().endswith(("m", "km"))

        towers = page.locator(".leaflet-lpTowers-pane path")
        defects = page.locator(".leaflet-lpDefects-pane path.leaflet-interactive")
        labels = page.locator(".leaflet-tooltip.tower-label")
        assert towers.count() >= 3 and defects.count() >= 1 and labels.count() >= 3
        tower_z = towers.first.evaluate(PANE_Z)
        defect_z = defects.first.evaluate(PANE_Z)
        label_z = labels.first.evaluate(PANE_Z)
        assert defect_z < tower_z < label_z

        screenshot(page, "map-stacking")

        # A finding snapped to a tower: the tower's dot is drawn over the middle of its ring,
        # yet a click there opens the finding's popup (towers take no clicks).
        box = defects.first.bounding_box()
        assert box is not None
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        centres = [(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2)
                   for b in (t.bounding_box() for t in towers.all()) if b]
        assert any(abs(cx - x) < 5 and abs(cy - y) < 5 for cx, cy in centres), (x, y, centres)
        page.mouse.click(x, y)
        page.wait_for_selector(".leaflet-popup-content a[href*='/ui/defects/']")

        counts = page.locator(".leaflet-tooltip.count-label")
        assert counts.count() == 1 and counts.inner_text() == "2"
        assert counts.evaluate(PANE_Z) > label_z  # no tower label covers a count
        assert not page.js_errors, page.js_errors  # type: ignore[attr-defined]

        # the line's dashboard draws the same line's map, with no script error
        page.get_by_role("link", name="Lines").first.click()
        page.locator("#lines a").first.click()
        page.wait_for_selector("#map.loaded")
        assert int(page.locator("#map").get_attribute("data-defects") or 0) == flight["defects"]
        assert page.locator("#figures").is_visible()
        assert not page.js_errors, page.js_errors  # type: ignore[attr-defined]


def test_the_warnings_page_draws_its_warnings_coloured_by_status(tmp_path: Path,
                                                                 tiny_model: Path) -> None:
    chromium_path()
    import datetime as dt

    from linepatrol_service.models import Defect, Flight
    from linepatrol_service.warnings import raise_warnings

    app, services, tokens = build_app(make_settings(tmp_path / "data", tiny_model))
    with services.sessions.begin() as s:
        flight = Flight(line="500kV 江城线", date=dt.date(2026, 11, 20), status="done")
        s.add(flight)
        s.flush()
        item = Defect(flight_id=flight.id, class_key="truck_crane", detected_class="truck_crane",
                      category="hazard", confidence=0.9, line=flight.line, tower="N7",
                      distance_to_line_m=12.0, evidence=[], lat=30.5123, lon=114.3121)
        s.add(item)
        s.flush()
        (warning,) = raise_warnings(s, services.settings, [item])
        warning_id = warning.id
    with serve(app) as base, browser_page() as page:
        page.goto(f"{base}/ui/login")
        page.get_by_label("Access token").fill(tokens["reviewer"])
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"{base}/ui/warnings")
        page.wait_for_selector("#map.loaded")
        assert page.locator("#map").get_attribute("data-warnings") == "1"
        marker = page.locator(".leaflet-lpDefects-pane path.warning-issued")
        assert marker.count() == 1
        marker.click()
        link = page.locator(f".leaflet-popup-content a[href='/ui/warnings/{warning_id}']")
        link.wait_for()
        assert "12.0 m" in page.locator(".leaflet-popup-content").inner_text()
        screenshot(page, "warnings-map")
        assert not page.js_errors, page.js_errors  # type: ignore[attr-defined]
