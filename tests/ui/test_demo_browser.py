"""The first minute with the real bundled default: the sample flight, processed by
``linepatrol demo``'s own loader, shows geotagged missing-cap findings in the browser.

Skips until a bundled model is installed (it then runs the real detectors on CPU, so: slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ui.browser import browser_page, chromium_path, screenshot, serve
from ui.conftest import build_app, make_settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def bundled_default() -> str:
    """The bundled default model set, as ``linepatrol demo`` runs it (``A+B+...``)."""
    from linepatrol.model_store import ENSEMBLE_SEP, ModelNotFoundError, resolve_models

    try:
        return ENSEMBLE_SEP.join(str(p) for p in resolve_models(None))
    except ModelNotFoundError as exc:
        pytest.skip(f"no bundled model yet ({exc})")


def test_sample_flight_shows_real_findings(tmp_path: Path) -> None:
    from linepatrol_service.demo import load_sample

    model = bundled_default()
    chromium_path()
    app, _, tokens = build_app(make_settings(tmp_path / "data", model, tile="auto"))
    with serve(app) as base, browser_page() as page:
        flight = load_sample(base, tokens["admin"], wait=True)
        assert flight["status"] == "done" and flight["progress"]["failed"] == 0
        caps = [d for d in _defects(base, tokens["reviewer"], flight["id"])
                if d["class_key"] == "insulator_missing_cap"]
        assert caps, "the bundled default found no missing cap in the sample flight"
        assert all(d["tower"] and d["lat"] is not None for d in caps)

        page.goto(f"{base}/ui/login?next=/ui/flights/{flight['id']}")
        page.get_by_label("Access token").fill(tokens["reviewer"])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector("#map.loaded")
        screenshot(page, "10-demo-flight")
        page.goto(f"{base}/ui/defects/{caps[0]['id']}")
        page.wait_for_selector("#photo-viewer img.leaflet-image-layer")
        page.wait_for_selector("#map.loaded")
        screenshot(page, "11-demo-defect")
        assert not page.js_errors, page.js_errors


def _defects(base: str, token: str, flight_id: int) -> list[dict]:  # type: ignore[type-arg]
    import httpx

    r = httpx.get(f"{base}/api/v1/defects", params={"flight": flight_id, "limit": 500},
                  headers={"Authorization": f"Bearer {token}"})
    r.raise_for_status()
    return list(r.json()["items"])
