"""Security in a real browser: user text on the map is text (a photo and a tower named with
HTML put no element into the page; only the Content-Security-Policy stopped the script before),
and the API docs work offline under their policy."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from ui import support as ui_support
from ui.browser import browser_page, chromium_path, serve
from ui.conftest import build_app, make_settings

pytestmark = [pytest.mark.browser]

PHOTO = "<img src=x onerror=window.pwned=1><b id=injected>INJECTED</b>.jpg"
TOWER = '<b id="injected-tower">N1</b>'


def test_hostile_names_render_as_text_on_the_map(tmp_path: Path, tiny_model: Path) -> None:
    chromium_path()
    app, _services, tokens = build_app(make_settings(tmp_path / "data", tiny_model))
    _, lat, lon = ui_support.TOWERS[0]
    ledger = ui_support.ledger_csv().replace(",N1,", f",{TOWER},")
    with serve(app) as base, browser_page() as page:
        with httpx.Client(base_url=f"{base}/api/v1", timeout=60,
                          headers={"Authorization": f"Bearer {tokens['admin']}"}) as api:
            api.put(f"/lines/{ui_support.LINE}/ledger", content=ledger.encode(),
                    headers={"Content-Type": "text/csv"}).raise_for_status()
            flight = api.post("/flights", json={"line": ui_support.LINE, "date": "2026-11-20"}
                              ).raise_for_status().json()
            photo = ui_support.dji_photo(1, lat + 0.00005, lon)
            up = api.post(f"/flights/{flight['id']}/images",
                          files=[("files", (PHOTO, photo, "image/jpeg"))]).raise_for_status()
            assert up.json()["files"][0]["filename"] == PHOTO
            api.post(f"/flights/{flight['id']}/submit").raise_for_status()

        page.goto(f"{base}/ui/login")
        page.get_by_label("Access token").fill(tokens["admin"])
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"{base}/ui/flights/{flight['id']}")
        page.wait_for_selector('#flight-state[data-status="done"]', timeout=60_000)
        page.wait_for_selector("#map.loaded")
        # Hover every marker so that each tooltip opens (the photo's opens on hover only).
        page.evaluate("""() => document.querySelectorAll("#map path.leaflet-interactive")
            .forEach(p => p.dispatchEvent(new MouseEvent("mouseover", {bubbles: true})))""")
        tooltips = page.locator("#map .leaflet-tooltip")
        texts = [tooltips.nth(i).inner_text() for i in range(tooltips.count())]
        assert "Photo " + PHOTO in texts, texts
        assert TOWER in texts, texts
        assert page.locator("#injected").count() == 0
        assert page.locator("#injected-tower").count() == 0
        assert page.locator("#map img:not(.leaflet-tile)").count() == 0
        assert page.evaluate("() => window.pwned") is None


def test_api_docs_render_offline_under_their_policy(tmp_path: Path, tiny_model: Path) -> None:
    """Swagger UI from the service's own assets (the browser reaches nothing else here), with
    no Content-Security-Policy refusal."""
    chromium_path()
    app, _services, _tokens = build_app(make_settings(tmp_path / "data", tiny_model))
    with serve(app) as base, browser_page() as page:
        outside: list[str] = []
        page.on("request", lambda r: outside.append(r.url)
                if not r.url.startswith(base) and not r.url.startswith("data:") else None)
        page.goto(f"{base}/api/v1/docs")
        page.wait_for_selector(".swagger-ui .info .title")
        assert "LinePatrol" in page.locator(".swagger-ui .info .title").inner_text()
        assert page.locator(".opblock").count() >= 20
        assert not page.js_errors, page.js_errors
        assert not outside, outside
