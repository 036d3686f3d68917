"""The defect page's box tools in headless Chromium: a drag on the photo fills the box fields,
which correct the defect's box or add a missed object as a new confirmed defect (issue #17)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from ui import support as ui_support
from ui.browser import browser_page, chromium_path, serve
from ui.conftest import build_app, make_settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _processed_defect(base: str, token: str) -> int:
    """A processed one-photo flight through the API; the id of its first defect."""
    api = httpx.Client(base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {token}"})
    flight = api.post("/flights", json={"line": ui_support.LINE, "date": "2026-11-20"}).json()
    _, lat, lon = ui_support.TOWERS[0]
    api.post(f"/flights/{flight['id']}/images",
             files=[("files", ("DJI_0001.JPG", ui_support.dji_photo(1, lat, lon), "image/jpeg"))])
    api.post(f"/flights/{flight['id']}/submit")
    deadline = time.monotonic() + 60
    while api.get(f"/flights/{flight['id']}").json()["status"] != "done":
        assert time.monotonic() < deadline, "the flight did not finish"
        time.sleep(0.2)
    return int(api.get("/defects", params={"sort": "id"}).json()["items"][0]["id"])


def test_drag_a_box_then_correct_it_and_add_a_missed_object(tmp_path: Path,
                                                            tiny_model: Path) -> None:
    chromium_path()
    from playwright.sync_api import expect

    app, _services, tokens = build_app(make_settings(tmp_path / "data", tiny_model))
    with serve(app) as base, browser_page() as page:
        defect_id = _processed_defect(base, tokens["admin"])
        page.goto(f"{base}/ui/login")
        page.get_by_label("Access token").fill(tokens["reviewer"])
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"{base}/ui/defects/{defect_id}")
        viewer = page.locator("#photo-viewer")
        page.wait_for_selector("#photo-viewer img.leaflet-image-layer")
        # a drag across the middle of the photo (the viewer fits the whole photo)
        page.get_by_role("button", name=re.compile("^Drag on the photo")).click()
        viewer.scroll_into_view_if_needed()
        box = viewer.locator("img.leaflet-image-layer").bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.25)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.6, steps=5)
        page.mouse.up()
        x1, y1, x2, y2 = (float(page.locator(f"#box-{n}").input_value())
                          for n in ("x1", "y1", "x2", "y2"))
        assert 70 < x1 < 90 and 50 < y1 < 70 and 150 < x2 < 170 and 134 < y2 < 154
        # correct the defect's box to exact numbers
        for name, value in zip(("x1", "y1", "x2", "y2"), ("70", "30", "131.5", "90"),
                               strict=True):
            page.locator(f"#box-{name}").fill(value)
        page.get_by_role("button", name=re.compile("^Correct this defect's box")).click()
        expect(page.locator("#history")).to_contain_text("xyxy:")
        item = page.request.get(f"{base}/api/v1/defects/{defect_id}").json()
        assert item["xyxy"] == [70.0, 30.0, 131.5, 90.0]
        # a missed object on the shown photo: a new confirmed defect, and its page
        page.locator("#box-x1").fill("200")
        page.locator("#box-y1").fill("100")
        page.locator("#box-x2").fill("230")
        page.locator("#box-y2").fill("140")
        page.get_by_label("Missed object 漏检目标").select_option("pin_missing")
        page.get_by_role("button", name=re.compile("^Add it on the shown photo")).click()
        page.wait_for_url(re.compile(rf"/ui/defects/(?!{defect_id}$)\d+$"))
        new_id = int(page.url.rsplit("/", 1)[1])
        drawn = page.request.get(f"{base}/api/v1/defects/{new_id}").json()
        assert (drawn["status"], drawn["class_key"], drawn["xyxy"]) == (
            "confirmed", "pin_missing", [200.0, 100.0, 230.0, 140.0])
        expect(page.locator("#history")).to_contain_text("drawn by ui-reviewer")
        assert not page.js_errors, page.js_errors
