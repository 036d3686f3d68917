"""Visual coverage through the API: GET /flights/{id}/coverage and /lines/{line}/coverage,
from DJI photos aimed at a ledger's tower."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from linepatrol.geo.coverage import DEFAULT_COVERAGE
from linepatrol_service.settings import ServiceSettings

from .conftest import Api, make_settings, open_api
from .photos import dji_jpeg

LINE = "500kV 江城线"
# N13 is 345 m north of N12; both 45 m tall on ground at 100 m
LEDGER_CSV = f"""line,tower,lat,lon,ground_elev,height
{LINE},N12,30.49990,114.30000,100,45
{LINE},N13,30.50300,114.30000,100,45
"""
# 20 m south of N12, level with its top (100 + 45 m), looking north at it; the test photos'
# focal length is 0.9 x 320 = 288 px: 20 m / 288 px = 6.9 cm per pixel, and a 255 mm cap
# spans 3.7 px there — covered at 2 px (the threshold these tests run with)
NEAR_N12 = {"lat": 30.49990 - 20 / 110_850, "lon": 114.3, "rel_alt": 45.0, "yaw": 0.0,
            "pitch": 0.0}


@pytest.fixture
def api(tmp_path: Path, tiny_model: Path) -> Iterator[Api]:
    yield from open_api(make_settings(tmp_path / "data", tiny_model, coverage_min_object_px=2.0))


def _today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


def _flight_with_photos(api: Api, role: str = "uploader", line: str = LINE) -> int:
    flight = api.new_flight(role, line=line, date=_today())
    photos = [("DJI_0001.JPG", dji_jpeg(seed=1, **NEAR_N12)),
              ("DJI_0002.JPG", dji_jpeg(seed=2, **{**NEAR_N12, "lat": NEAR_N12["lat"] - 2e-6}))]
    assert api.upload(flight["id"], photos, role).json()["accepted"] == 2
    return int(flight["id"])


def _ledger(api: Api) -> None:
    r = api.put(f"/lines/{LINE}/ledger", content=LEDGER_CSV.encode(),
                headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text


def test_flight_coverage_from_the_stored_poses(api):
    _ledger(api)
    flight_id = _flight_with_photos(api)
    # a draft already shows what its photos cover (poses are read at upload)
    r = api.get(f"/flights/{flight_id}/coverage", "uploader")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["flight_id"] == flight_id and body["line"] == LINE
    assert body["min_object_px"] == 2.0 and body["photos"] == 2
    n12, n13 = body["towers"]
    assert (n12["id"], n12["covered"], n12["photos"]) == ("N12", True, 2)
    assert n12["best_gsd_cm"] == pytest.approx(20 / 288 * 100, rel=0.02)
    # N13 is straight ahead but 365 m off: framed at 1.3 m per pixel, not covered
    assert (n13["id"], n13["covered"], n13["photos"]) == ("N13", False, 0)
    assert n13["best_gsd_cm"] > 100
    (span,) = body["spans"]
    assert span["id"] == "N12-N13" and not span["covered"]
    assert body["gaps"] == [{"kind": "tower", "id": "N13", "line": LINE},
                            {"kind": "span", "id": "N12-N13", "line": LINE}]
    assert body["ratio"] == pytest.approx(1 / 3, abs=1e-4)
    assert api.get(f"/flights/{flight_id}/coverage", "reviewer").status_code == 200


def test_another_teams_flight_is_not_found(api):
    _ledger(api)
    flight_id = _flight_with_photos(api)
    r = api.post("/tokens", json={"role": "uploader", "name": "other team"})
    other = {"Authorization": f"Bearer {r.json()['token']}"}
    r = api.client.get(f"/api/v1/flights/{flight_id}/coverage", headers=other)
    assert r.status_code == 404 and r.json()["detail"] == f"no flight {flight_id}"
    assert api.get("/flights/999999/coverage").status_code == 404
    # the line's coverage counts only the flights an uploader may read
    r = api.client.get(f"/api/v1/lines/{LINE}/coverage", headers=other)
    assert r.status_code == 200 and r.json()["flights"] == 0


def test_without_a_ledger_the_answer_says_so(api):
    flight_id = _flight_with_photos(api, line="220kV 无台账线")
    r = api.get(f"/flights/{flight_id}/coverage", "uploader")
    assert r.status_code == 409
    assert "no tower ledger" in r.json()["detail"] and "220kV 无台账线" in r.json()["detail"]
    r = api.get("/lines/220kV 无台账线/coverage", "reviewer")
    assert r.status_code == 404 and "no ledger" in r.json()["detail"]


def test_line_coverage_over_its_processed_flights(api):
    _ledger(api)
    flight_id = _flight_with_photos(api)
    # a flight not yet processed does not count
    assert api.get(f"/lines/{LINE}/coverage", "reviewer").json()["flights"] == 0
    api.post(f"/flights/{flight_id}/submit", "uploader")
    assert api.wait(flight_id)["status"] == "done"
    r = api.get(f"/lines/{LINE}/coverage", "reviewer")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["flights"] == 1 and body["since"] is None and body["as_of"] == _today()
    assert body["stale_after_days"] == DEFAULT_COVERAGE.stale_after_days
    n12, n13 = body["towers"]
    assert (n12["covered"], n12["flights"], n12["photos"]) == (True, 1, 2)
    assert n12["last_covered"] == _today() and not n12["stale"]
    assert (n13["covered"], n13["last_covered"], n13["stale"]) == (False, None, True)
    assert body["ratio"] == pytest.approx(1 / 3, abs=1e-4)
    assert [g["id"] for g in body["gaps"]] == ["N13", "N12-N13"]
    assert [g["id"] for g in body["stale"]] == ["N13", "N12-N13"]
    # since tomorrow: no flight, nothing covered, everything stale
    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
    later = api.get(f"/lines/{LINE}/coverage?since={tomorrow}", "reviewer").json()
    assert later["flights"] == 0 and later["ratio"] == 0 and len(later["stale"]) == 3
    assert later["since"] == tomorrow
    assert api.get(f"/lines/{LINE}/coverage?since=someday", "reviewer").status_code == 422


def test_coverage_settings_default_to_the_cores_and_read_the_environment(monkeypatch):
    settings = ServiceSettings()
    assert settings.coverage_config() == DEFAULT_COVERAGE
    monkeypatch.setenv("LINEPATROL_COVERAGE_MIN_OBJECT_PX", "24")
    monkeypatch.setenv("LINEPATROL_COVERAGE_STALE_AFTER_DAYS", "30")
    config = ServiceSettings().coverage_config()
    assert (config.min_object_px, config.stale_after_days) == (24.0, 30)
