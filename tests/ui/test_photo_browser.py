"""The photo page in headless Chromium (issue #17): every item's box on one photo; a box marked
false with the keyboard, a missed object drawn with the mouse and one with a finger, a box
corrected and a class changed, each through the API and audited."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ui import support as ui_support
from ui.browser import axe_violations, browser_page, chromium_path, screenshot, serve
from ui.conftest import build_app, make_settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _processed_photo(base: str, token: str) -> tuple[int, list[int]]:
    """A processed one-photo flight through the API: the photo's id and its items' ids."""
    api = httpx.Client(base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {token}"})
    flight = api.post("/flights", json={"line": ui_support.LINE, "date": "2026-11-21"}).json()
    _, lat, lon = ui_support.TOWERS[0]
    api.post(f"/flights/{flight['id']}/images",
             files=[("files", ("DJI_0002.JPG", ui_support.dji_photo(2, lat, lon), "image/jpeg"))])
    api.post(f"/flights/{flight['id']}/submit")
    deadline = time.monotonic() + 60
    while api.get(f"/flights/{flight['id']}").json()["status"] != "done":
        assert time.monotonic() < deadline, "the flight did not finish"
        time.sleep(0.2)
    items = api.get("/defects", params={"flight": flight["id"], "sort": "id"}).json()["items"]
    return int(items[0]["image_id"]), [int(d["id"]) for d in items]


def _photo_box(page: Any) -> dict[str, float]:
    """Where the shown photo is in the viewport, the viewer scrolled into view first."""
    page.locator("#photo-viewer").evaluate("el => el.scrollIntoView()")
    box = page.locator("#photo-viewer img.leaflet-image-layer").bounding_box()
    assert box is not None
    return dict(box)


def _drag(page: Any, start: tuple[float, float], end: tuple[float, float]) -> None:
    """A mouse drag between two fractions of the shown photo."""
    box = _photo_box(page)
    page.mouse.move(box["x"] + box["width"] * start[0], box["y"] + box["height"] * start[1])
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * end[0], box["y"] + box["height"] * end[1], steps=5)
    page.mouse.up()


def _touch_drag(page: Any, start: tuple[float, float], end: tuple[float, float]) -> None:
    """The same with one finger, as a tablet sends it (touch events through DevTools, which
    Chromium turns into pointer events of type touch)."""
    box = _photo_box(page)
    cdp = page.context.new_cdp_session(page)

    def at(f: tuple[float, float]) -> list[dict[str, float]]:
        return [{"x": box["x"] + box["width"] * f[0], "y": box["y"] + box["height"] * f[1]}]

    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": at(start)})
    for i in range(1, 6):
        f = (start[0] + (end[0] - start[0]) * i / 5, start[1] + (end[1] - start[1]) * i / 5)
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": at(f)})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_review_every_box_of_a_photo(tmp_path: Path, tiny_model: Path) -> None:
    chromium_path()
    from playwright.sync_api import expect

    app, _services, tokens = build_app(make_settings(tmp_path / "data", tiny_model))
    with serve(app) as base, browser_page() as page:
        image_id, items = _processed_photo(base, tokens["admin"])
        assert len(items) == 2  # the tiny model's two defects (its component is no item)
        api = httpx.Client(base_url=f"{base}/api/v1",
                           headers={"Authorization": f"Bearer {tokens['admin']}"})
        page.goto(f"{base}/ui/login")
        page.get_by_label("Access token").fill(tokens["reviewer"])
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"{base}/ui/images/{image_id}")
        page.wait_for_selector("#photo-viewer img.leaflet-image-layer")
        expect(page.locator("#box-count")).to_have_text("2")
        expect(page.locator("#photo-viewer path.box")).to_have_count(2)
        expect(page.locator("#keys-hint")).to_contain_text("draw a missed object")
        page.keyboard.press("n")
        expect(page.locator("#selected")).to_be_visible()
        assert axe_violations(page) == []
        screenshot(page, "photo")
        page.keyboard.press("p")  # the last box: n below wraps round to the first

        # the keyboard: n selects the first box, r marks it false (and moves on)
        page.keyboard.press("n")
        expect(page.locator("#selected")).to_have_attribute("data-item", str(items[0]))
        page.keyboard.press("r")
        expect(page.locator(f"#photo-viewer path.box-{items[0]}")).to_have_class(
            re.compile("box-rejected"))
        expect(page.locator("#selected")).to_have_attribute("data-item", str(items[1]))
        assert api.get(f"/defects/{items[0]}").json()["status"] == "rejected"

        # a click on a box selects it
        page.locator(f"#photo-viewer path.box-{items[0]}").click(force=True)
        expect(page.locator("#selected")).to_have_attribute("data-item", str(items[0]))
        expect(page.locator("#sel-status")).to_have_attribute("data-status", "rejected")

        # a missed object: its class, d, a mouse drag -> a confirmed item drawn by the reviewer
        page.locator("#draw-class").select_option("pin_missing")
        page.locator("#draw-class").evaluate("el => el.blur()")  # keys typed in a field: none
        page.keyboard.press("d")
        expect(page.locator("#draw-start")).to_have_attribute("aria-pressed", "true")
        _drag(page, (0.6, 0.6), (0.8, 0.85))
        expect(page.locator("#box-count")).to_have_text("3")
        drawn = api.get("/defects", params={"class": "pin_missing"}).json()["items"]
        assert len(drawn) == 1
        item = api.get(f"/defects/{drawn[0]['id']}").json()
        assert item["status"] == "confirmed" and item["image_id"] == image_id
        assert item["evidence"][0]["origin"] == "drawn"
        x1, y1, x2, y2 = item["xyxy"]
        assert 182 < x1 < 202 and 134 < y1 < 154 and 246 < x2 < 266 and 194 < y2 < 214
        expect(page.locator("#selected")).to_have_attribute("data-item", str(item["id"]))

        # and one with a finger, as on a tablet (Esc first cancels a drawing under way)
        page.locator("#draw-class").select_option("bird_nest")
        page.locator("#draw-start").click()
        page.keyboard.press("Escape")
        expect(page.locator("#draw-start")).to_have_attribute("aria-pressed", "false")
        page.locator("#draw-start").click()
        _touch_drag(page, (0.05, 0.05), (0.2, 0.25))
        expect(page.locator("#box-count")).to_have_text("4")
        nests = api.get("/defects", params={"class": "bird_nest"}).json()["items"]
        touched = [d for d in nests if d["status"] == "confirmed"]
        assert len(touched) == 1
        x1, y1, x2, y2 = touched[0]["xyxy"]
        assert 6 < x1 < 26 and 2 < y1 < 22 and 54 < x2 < 74 and 50 < y2 < 70

        # correct the second box by its numbers, then change its class: both audited
        page.locator(f'#box-list button[data-id="{items[1]}"]').click()
        expect(page.locator("#selected")).to_have_attribute("data-item", str(items[1]))
        before = api.get(f"/defects/{items[1]}").json()
        for name, value in zip(("x1", "y1", "x2", "y2"), ("100", "80", "160", "120"),
                               strict=True):
            page.locator(f"#sel-{name}").fill(value)
        loads = page.evaluate("Number(document.body.dataset.boxesLoaded || 0)")
        page.get_by_role("button", name=re.compile("^Save the box")).click()
        deadline = time.monotonic() + 10
        while api.get(f"/defects/{items[1]}").json()["xyxy"] != [100.0, 80.0, 160.0, 120.0]:
            assert time.monotonic() < deadline, "the box was not corrected"
            time.sleep(0.1)
        # the page reloads its boxes after the edit: choose the class once that is done, or
        # the reload puts the select back to the class it read
        expect(page.locator("body")).to_have_attribute("data-boxes-loaded", str(loads + 1))
        new_class = "insulator_flashover" if before["class_key"] != "insulator_flashover" \
            else "bird_nest"
        page.locator("#sel-class").select_option(new_class)
        page.get_by_role("button", name=re.compile("^Change class")).click()
        deadline = time.monotonic() + 10
        while api.get(f"/defects/{items[1]}").json()["class_key"] != new_class:
            assert time.monotonic() < deadline, "the class was not changed"
            time.sleep(0.1)
        changes = [e["changes"] for e in api.get(f"/defects/{items[1]}/history").json()]
        assert {"xyxy": [before["xyxy"], [100.0, 80.0, 160.0, 120.0]]} in changes
        assert any(c.get("class") == [before["class_key"], new_class] for c in changes), changes
        assert all("ui-reviewer" in e["actor"]
                   for e in api.get(f"/defects/{items[1]}/history").json())
        assert not page.js_errors, page.js_errors
