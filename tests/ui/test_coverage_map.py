"""The coverage layer of the map data: a flight's and a line's towers carry ``covered``, and the
line's spans come as ``span`` features with ``covered``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from support.service_settings import make_settings
from ui import support

from .conftest import build_app
from .test_pages import process_flight, sign_in


@pytest.fixture
def client(tmp_path: Path, tiny_model: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    # The test photos look straight down from 15 m over each tower's top with a 288 px focal
    # length: a cap spans 0.255 * 288 / 15 = 4.9 px, covered at 4. A long staleness limit keeps
    # the line's flight, dated 2026-11-20, within it whenever the test runs.
    settings = make_settings(tmp_path / "data", tiny_model, coverage_min_object_px=4.0,
                             coverage_stale_after_days=100_000)
    app, _, tokens = build_app(settings)
    with TestClient(app) as c:
        yield c, tokens


def _layer(data: dict[str, Any]) -> tuple[dict[str, bool], dict[str, bool]]:
    towers = {f["properties"]["tower"]: f["properties"].get("covered")
              for f in data["features"] if f["properties"]["kind"] == "tower"}
    spans = {f["properties"]["span"]: f["properties"]["covered"]
             for f in data["features"] if f["properties"]["kind"] == "span"}
    return towers, spans


def test_flight_and_line_maps_carry_the_coverage_layer(client):
    c, tokens = client
    flight_id = process_flight(c, tokens, "admin")["id"]
    r = sign_in(c, tokens["reviewer"])
    assert r.status_code == 303
    towers, spans = _layer(c.get(f"/ui/data/map.geojson?flight={flight_id}").json())
    # each photo is over its tower; the spans' conductors 250 m long lie outside the views
    assert towers == {"N1": True, "N2": True, "N3": True}
    assert spans == {"N1-N2": False, "N2-N3": False}
    page = c.get(f"/ui/flights/{flight_id}").text  # the ratio and the gaps, in words
    assert "60 % of 3 towers and 2 spans" in page and "not covered: N1-N2, N2-N3" in page
    assert _layer(c.get(f"/ui/data/map.geojson?line={support.LINE}").json()) == (towers, spans)
    # the all-lines map and a defect's map draw no coverage
    everything = c.get("/ui/data/map.geojson").json()
    assert _layer(everything) == ({"N1": None, "N2": None, "N3": None}, {})
    assert c.get("/ui/data/map.geojson?line=no such line").json()["features"] == []


@pytest.mark.browser
def test_the_flight_map_draws_covered_spans_and_gaps(tmp_path: Path, tiny_model: Path) -> None:
    """In a browser: the flight page's map draws each span of the line as a gap (red, dashed)
    when the photos did not cover it."""
    import httpx

    from ui.browser import browser_page, chromium_path, serve

    chromium_path()
    settings = make_settings(tmp_path / "data", tiny_model, coverage_min_object_px=4.0)
    app, _, tokens = build_app(settings)
    with serve(app) as base, browser_page() as page:
        with httpx.Client(base_url=base, timeout=30) as c:
            flight_id = process_flight(c, tokens, "admin")["id"]  # type: ignore[arg-type]
        page.goto(f"{base}/ui/login")
        page.get_by_label("Access token").fill(tokens["reviewer"])
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"{base}/ui/flights/{flight_id}")
        page.wait_for_selector("#map.loaded")
        gaps = page.locator('#map path[stroke="#b3141b"][stroke-dasharray="8 6"]')
        assert gaps.count() == 2
        # each photo is over its tower: the three towers' rings are green
        covered = page.locator('.leaflet-lpTowers-pane path[stroke="#15803d"]')
        assert covered.count() == 3
        assert not page.js_errors, page.js_errors  # type: ignore[attr-defined]


def test_a_confirmed_defect_a_covering_flight_did_not_see_becomes_a_candidate_fix(
        client, monkeypatch: pytest.MonkeyPatch) -> None:
    """Flight 2 photographs every tower closely (coverage) but finds nothing there: the
    confirmed defects on those towers become "not seen on flight 2" — never closed — and a
    review of the candidate clears the mark."""
    from linepatrol_service import processing

    c, tokens = client
    process_flight(c, tokens, "admin")
    rev = {"Authorization": f"Bearer {tokens['reviewer']}"}
    items = c.get("/api/v1/defects", headers=rev).json()["items"]
    on_towers = [d for d in items if d["placement"] == "tower"]
    assert on_towers, items
    for d in items:
        c.patch(f"/api/v1/defects/{d['id']}", json={"status": "confirmed"}, headers=rev)
    monkeypatch.setattr(processing, "locate", lambda *_args: [])  # flight 2 sees nothing
    second = process_flight(c, tokens, "admin", expect_defects=False)["id"]
    after = {d["id"]: d for d in c.get("/api/v1/defects", headers=rev).json()["items"]}
    for d in items:
        expected = second if d["placement"] == "tower" else None
        assert after[d["id"]]["not_seen_on_flight"] == expected, after[d["id"]]
        assert after[d["id"]]["status"] == "confirmed"  # never closed by the machine
    candidates = c.get("/api/v1/defects?not_seen=true", headers=rev).json()["items"]
    assert sorted(d["id"] for d in candidates) == sorted(d["id"] for d in on_towers)
    one = on_towers[0]["id"]
    notes = [e["note"] for e in c.get(f"/api/v1/defects/{one}/history", headers=rev).json()]
    assert any(f"not seen on flight {second}" in (n or "") for n in notes), notes
    r = c.patch(f"/api/v1/defects/{one}", json={"status": "fixed", "note": "cap replaced"},
                headers=rev)
    assert r.json()["not_seen_on_flight"] is None

