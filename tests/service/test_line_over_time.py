"""The line over time: one record per real-world defect across flights, its sightings, its
review surviving later flights, and deadlines from confirmation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from linepatrol.geo.locate import Defect as GeoDefect
from linepatrol_service.models import Flight, Sighting
from linepatrol_service.tracking import attach_flight
from support.service_settings import make_settings

from .conftest import Api, open_api
from .photos import dji_jpeg
from .test_geotag import LEDGER_CSV

LINE = "500kV 江城线"


def _fly(api: Api, date: str, seeds: range = range(3)) -> tuple[int, list[dict[str, Any]]]:
    flight = api.new_flight(date=date)
    photos = [(f"DJI_{i:04d}.JPG", dji_jpeg(seed=i, lat=30.5 + i * 1e-6)) for i in seeds]
    assert api.upload(flight["id"], photos).json()["accepted"] == len(photos)
    api.post(f"/flights/{flight['id']}/submit", "uploader")
    assert api.wait(flight["id"])["status"] == "done"
    report = api.get(f"/flights/{flight['id']}/report?format=json").json()
    return flight["id"], report["defects"]


def _queue(api: Api, **params: Any) -> list[dict[str, Any]]:
    r = api.get("/defects", "reviewer", params={"limit": 500, **params})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def test_a_second_flight_over_the_same_objects_adds_sightings_not_queue_entries(api: Api) -> None:
    api.put(f"/lines/{LINE}/ledger", content=LEDGER_CSV.encode(),
            headers={"Content-Type": "text/csv"})
    first, found1 = _fly(api, "2026-11-20")
    assert len(found1) == 2
    nest = next(d for d in found1 if d["class"] == "bird_nest")
    cap = next(d for d in found1 if d["class"] == "insulator_missing_cap")
    r = api.patch(f"/defects/{nest['id']}", "reviewer",
                  json={"status": "rejected", "note": "a shadow"})
    assert r.status_code == 200

    second, found2 = _fly(api, "2026-11-27")
    # the same two objects: the same items, each seen twice, with the second flight's photos
    assert sorted(d["id"] for d in found2) == [cap["id"]]  # the rejected one is not reported
    assert found2[0]["sightings"] == 2 and found2[0]["first_seen"] == "2026-11-20"
    second_photos = {i["id"] for i in api.get(f"/flights/{second}/images").json()["items"]}
    assert {e["image_id"] for e in found2[0]["evidence"]} <= second_photos
    assert len(_queue(api)) == 2  # two objects, not four queue entries
    assert [d["id"] for d in _queue(api, flight=second, status="new")] == [cap["id"]]
    assert api.get(f"/flights/{second}").json()["defects"] == 1

    item = api.get(f"/defects/{cap['id']}", "reviewer").json()
    assert (item["first_seen"], item["last_seen"], item["sightings"]) == (
        "2026-11-20", "2026-11-27", 2)
    assert [s["flight_id"] for s in item["sightings_list"]] == [first, second]
    assert all(s["evidence"] for s in item["sightings_list"])

    rejected = api.get(f"/defects/{nest['id']}", "reviewer").json()
    assert rejected["status"] == "rejected" and rejected["sightings"] == 2
    notes = [e["note"] for e in api.get(f"/defects/{nest['id']}/history", "reviewer").json()]
    assert any(f"seen again on flight {second}" in (n or "") and "still rejected" in n
               for n in notes), notes


def test_reprocessing_a_flight_does_not_count_it_twice(api: Api) -> None:
    first, found = _fly(api, "2026-11-20")
    services = api.services
    from linepatrol_service.processing import finalize

    with services.sessions.begin() as s:
        s.get(Flight, first).status = "processing"
    assert finalize(services, first)
    again = api.get(f"/flights/{first}/report?format=json").json()["defects"]
    assert sorted(d["id"] for d in again) == sorted(d["id"] for d in found)
    assert all(d["sightings"] == 1 for d in again)
    with services.sessions() as s:
        assert s.query(Sighting).count() == len(found)


def _geo(class_key: str, category: str, severity: str | None, distance: float | None,
         dn_m: float = 0.0) -> GeoDefect:
    return GeoDefect(
        defect_id="D1", class_key=class_key, category=category, name_zh="", name_en="",
        severity=severity, confidence=0.8, lat=30.5 + dn_m / 110_850.0, lon=114.3, alt=100.0,
        alt_datum=None, geo_reason=None, placement="ground", uncertainty_m=3.0, line=LINE,
        tower=None, span=None, distance_to_line_m=distance, evidence=[],
    )


def test_a_machine_coming_closer_escalates_and_a_rejected_one_returns(api: Api) -> None:
    services = api.services
    now = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    with services.sessions.begin() as s:
        flights = [Flight(line=LINE, date=dt.date(2026, 11, 20 + i), status="done",
                          created_by=None) for i in range(3)]
        s.add_all(flights)
        s.flush()
        attach_flight(s, flights[0], [_geo("excavator", "hazard", "general", 40.0)], now)
    (item,) = _queue(api, category="hazard")
    assert item["severity"] == "general"
    api.patch(f"/defects/{item['id']}", "reviewer", json={"status": "rejected"})
    with services.sessions.begin() as s:
        f1 = s.get(Flight, flights[1].id)
        # the same machine, now called a truck crane, 4 m away and 8 m from the line
        attach_flight(s, f1, [_geo("truck_crane", "hazard", "critical", 8.0, dn_m=4.0)], now)
    back = api.get(f"/defects/{item['id']}", "reviewer").json()
    assert (back["status"], back["severity"], back["sightings"]) == ("new", "critical", 2)
    assert back["class_key"] == "excavator"  # the item keeps its class; the views vote on it
    assert back["distance_to_line_m"] == 8.0
    notes = [e["note"] for e in api.get(f"/defects/{item['id']}/history", "reviewer").json()]
    assert any("8.0 m from the line" in (n or "") and "back in the queue" in n for n in notes)
    with services.sessions.begin() as s:  # far away: another machine
        attach_flight(s, s.get(Flight, flights[2].id),
                      [_geo("excavator", "hazard", "general", 50.0, dn_m=60.0)], now)
    assert len(_queue(api, category="hazard")) == 2


@pytest.fixture
def quick_deadlines(tmp_path: Path, tiny_model: Path) -> Any:
    settings = make_settings(tmp_path / "data", tiny_model)
    settings = settings.model_copy(update={"due_general_h": 1e-6})
    yield from open_api(settings)


def test_confirmation_starts_the_deadline_of_its_grade(quick_deadlines: Api) -> None:
    api = quick_deadlines
    _flight, found = _fly(api, "2026-11-20", range(1))
    nest = next(d for d in found if d["class"] == "bird_nest")
    cap = next(d for d in found if d["class"] == "insulator_missing_cap")
    assert api.get(f"/defects/{nest['id']}", "reviewer").json()["due_at"] is None
    r = api.patch(f"/defects/{cap['id']}", "reviewer", json={"status": "confirmed",
                                                             "severity": "critical"})
    body = r.json()
    confirmed = dt.datetime.fromisoformat(body["confirmed_at"])
    assert dt.datetime.fromisoformat(body["due_at"]) - confirmed == dt.timedelta(hours=24)
    assert not body["overdue"]
    r = api.patch(f"/defects/{cap['id']}", "reviewer", json={"severity": "serious"})
    assert dt.datetime.fromisoformat(r.json()["due_at"]) - confirmed == dt.timedelta(days=7)
    # graded general here, whose deadline this deployment set to (almost) nothing
    api.patch(f"/defects/{nest['id']}", "reviewer", json={"status": "confirmed",
                                                          "severity": "general"})
    late = _queue(api, overdue="true")
    assert [d["id"] for d in late] == [nest["id"]] and late[0]["overdue"]
    assert [d["id"] for d in _queue(api, overdue="false")] == [cap["id"]]
    api.patch(f"/defects/{nest['id']}", "reviewer", json={"status": "fixed"})
    assert _queue(api, overdue="true") == []
    by_due = _queue(api, sort="due_at", status=["confirmed", "fixed"])
    assert [d["id"] for d in by_due] == [nest["id"], cap["id"]]


def test_the_line_summary_counts_open_overdue_and_hazard_trends(quick_deadlines: Api) -> None:
    api = quick_deadlines
    flight, found = _fly(api, "2026-11-20", range(1))
    nest = next(d for d in found if d["class"] == "bird_nest")
    api.patch(f"/defects/{nest['id']}", "reviewer", json={"status": "confirmed",
                                                          "severity": "general"})
    services = api.services
    now = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    with services.sessions.begin() as s:
        flights = [Flight(line=LINE, date=dt.date(2026, 11, 21 + i), status="done")
                   for i in range(2)]
        s.add_all(flights)
        s.flush()
        attach_flight(s, flights[0], [_geo("excavator", "hazard", "general", 40.0)], now)
        attach_flight(s, flights[1], [_geo("excavator", "hazard", "serious", 25.0, 2.0)], now)
    r = api.get(f"/lines/{LINE}/summary", "reviewer")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["open_by_grade"] == {"general": 1, "serious": 2}
    assert body["overdue"] == 1
    (hazard,) = body["hazards"]
    assert [p["distance_to_line_m"] for p in hazard["distances"]] == [40.0, 25.0]
    assert hazard["closer_by_m"] == 15.0 and hazard["severity"] == "serious"
    assert [f["id"] for f in body["latest_flights"]][-1] == flight
    assert body["coverage_latest"] is None and body["stale"] is None  # no ledger
    assert api.get(f"/lines/{LINE}/summary", "uploader").status_code == 403
    overview = api.get("/lines", "reviewer").json()
    assert [s["line"] for s in overview] == [LINE] and overview[0] == body


def test_the_line_report_lists_open_items_in_every_format(api: Api) -> None:
    api.put(f"/lines/{LINE}/ledger", content=LEDGER_CSV.encode(),
            headers={"Content-Type": "text/csv"})
    _first, found = _fly(api, "2026-11-20")
    second, _ = _fly(api, "2026-11-27")
    nest = next(d for d in found if d["class"] == "bird_nest")
    api.patch(f"/defects/{nest['id']}", "reviewer", json={"status": "fixed"})
    r = api.get(f"/lines/{LINE}/report", "reviewer")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["line"]["line"] == LINE and body["line"]["flights"] == 2
    (cap,) = body["defects"]  # the fixed nest is not open
    assert cap["class"] == "insulator_missing_cap" and cap["sightings"] == 2
    latest = {i["id"] for i in api.get(f"/flights/{second}/images").json()["items"]}
    assert {e["image_id"] for e in cap["evidence"]} <= latest  # the latest sighting's photos
    csv = api.get(f"/lines/{LINE}/report?format=csv", "reviewer")
    assert csv.status_code == 200 and len(csv.content.decode("utf-8-sig").splitlines()) == 2
    assert "filename*=utf-8''line-500kV%20" in csv.headers["content-disposition"]
    for fmt in ("geojson", "kml", "html"):
        assert api.get(f"/lines/{LINE}/report?format={fmt}", "reviewer").status_code == 200
    assert api.get(f"/lines/{LINE}/report", "uploader").status_code == 403
    summary = api.get(f"/lines/{LINE}/summary", "reviewer").json()
    flight_cov = api.get(f"/flights/{second}/coverage", "reviewer").json()
    assert summary["coverage_latest"] == flight_cov["ratio"]
    line_cov = api.get(f"/lines/{LINE}/coverage", "reviewer").json()
    assert summary["coverage_period"] == line_cov["ratio"]
    assert summary["stale"] == len(line_cov["stale"]) == 3  # two towers, one span: none close


def test_two_flights_of_a_line_finishing_at_once_make_one_item_per_object(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both workers geotag, wait for each other, then store at the same moment: the line's
    lock (PostgreSQL) or the single writer (SQLite) makes the second attach to the first's
    items instead of opening its own."""
    import threading

    from linepatrol_service import processing

    flights = []
    for date in ("2026-11-20", "2026-11-21"):
        flight = api.new_flight(date=date)
        photos = [(f"DJI_{i:04d}.JPG", dji_jpeg(seed=i, lat=30.5 + i * 1e-6)) for i in range(2)]
        assert api.upload(flight["id"], photos).json()["accepted"] == 2
        flights.append(flight["id"])
    with api.services.sessions.begin() as s:  # processed by hand, not by the embedded worker
        for fid in flights:
            s.get(Flight, fid).status = "processing"
    both_located = threading.Barrier(2, timeout=30)
    real_locate = processing.locate

    def locate_then_wait(*args: Any) -> Any:
        found = real_locate(*args)
        both_located.wait()
        return found

    monkeypatch.setattr(processing, "locate", locate_then_wait)
    outcomes: dict[int, Any] = {}

    def work(fid: int) -> None:
        outcomes[fid] = processing.run_flight(api.services, fid, f"w{fid}")

    threads = [threading.Thread(target=work, args=(fid,)) for fid in flights]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {o.state for o in outcomes.values()} == {"done"}, outcomes
    items = _queue(api)
    assert sorted(d["class_key"] for d in items) == ["bird_nest", "insulator_missing_cap"]
    assert all(d["sightings"] == 2 for d in items)
