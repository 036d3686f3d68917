"""Geotagged reports: DJI photos + a tower ledger -> located defects merged across photos."""

from __future__ import annotations

import json

import pytest

from .photos import dji_jpeg, jpeg

LEDGER_CSV = """line,tower,lat,lon,ground_elev,height
500kV 江城线,N12,30.49990,114.30000,100,45
500kV 江城线,N13,30.50300,114.30000,100,45
"""


def test_dji_flight_is_located_and_merged(api):
    r = api.put("/lines/500kV 江城线/ledger", content=LEDGER_CSV.encode(),
                headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    assert r.json()["towers"] == 2
    flight = api.new_flight()
    # Three photos taken a few metres apart looking straight down at the same spot: the same
    # physical objects, so the defects merge across photos.
    photos = [(f"DJI_{i:04d}.JPG", dji_jpeg(seed=i, lat=30.5 + i * 1e-6)) for i in range(3)]
    body = api.upload(flight["id"], photos).json()
    assert body["accepted"] == 3 and not any(f["warnings"] for f in body["files"])
    api.post(f"/flights/{flight['id']}/submit", "uploader")
    done = api.wait(flight["id"])
    assert done["status"] == "done"
    report = api.get(f"/flights/{flight['id']}/report?format=json").json()
    defects = report["defects"]
    # Two defect classes, each seen in three photos -> two defects with three evidences.
    assert sorted(d["class"] for d in defects) == ["bird_nest", "insulator_missing_cap"]
    images = api.get(f"/flights/{flight['id']}/images").json()["items"]
    assert all(abs(i["pose"]["lat"] - 30.5) < 1e-4 and i["pose"]["pitch"] == -90 for i in images)
    for d in defects:
        assert d["lat"] is not None and abs(d["lat"] - 30.5) < 0.001, d
        assert abs(d["lon"] - 114.3) < 0.001
        assert len(d["evidence"]) == 3
        assert {e["image_id"] for e in d["evidence"]} <= {f["image_id"] for f in body["files"]}
        assert {e["class"] for e in d["evidence"]} == {d["class"]}  # each view's class
        assert {e["photo"] for e in d["evidence"]} == {n for n, _ in photos}
        assert all(e["lat"] is not None and e["placement"] for e in d["evidence"])
    geo = json.loads(api.get(f"/flights/{flight['id']}/report?format=geojson").text)
    assert all(f["geometry"]["type"] == "Point" for f in geo["features"])
    lon, lat = geo["features"][0]["geometry"]["coordinates"][:2]
    assert abs(lat - 30.5) < 0.001 and abs(lon - 114.3) < 0.001
    kml = api.get(f"/flights/{flight['id']}/report?format=kml").text
    assert kml.count("<Placemark") == 2


def test_photo_without_gps_is_processed_but_not_located(api):
    flight = api.new_flight()
    body = api.upload(flight["id"], [("nogps.jpg", jpeg(seed=5, gps=None))]).json()
    item = body["files"][0]
    assert item["status"] == "accepted"
    assert item["warnings"] and "GPS" in item["warnings"][0]
    api.post(f"/flights/{flight['id']}/submit", "uploader")
    assert api.wait(flight["id"])["status"] == "done"
    defects = api.get(f"/flights/{flight['id']}/report?format=json").json()["defects"]
    assert defects and all(d["lat"] is None and d["geo_reason"] for d in defects)
    geo = api.get(f"/flights/{flight['id']}/report?format=geojson").json()
    assert all(f["geometry"] is None for f in geo["features"])


def test_ledger_validation(api):
    bad = "line,tower,lat,lon\nL,1,95.0,114\n"
    r = api.put("/lines/L/ledger", content=bad.encode(),
                headers={"Content-Type": "text/csv"})
    assert r.status_code == 422 and "ledger" in r.json()["detail"]
    gj = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [114.3, 30.5]},
         "properties": {"line": "L", "tower": "1"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [114.3, 30.51]},
         "properties": {"line": "L", "tower": "2"}}]}
    r = api.put("/lines/L/ledger", json=gj)
    assert r.status_code == 200, r.text
    assert r.json()["format"] == "geojson" and r.json()["towers"] == 2
    assert api.get("/lines/L/ledger", "reviewer").json()["towers"] == 2
    assert api.get("/lines/nope/ledger", "reviewer").status_code == 404


def test_stored_pose_round_trips_to_the_same_camera(api):
    """The pose stored at upload rebuilds the CameraPose that reading the photo gives."""
    import dataclasses

    from linepatrol.geo.pose import CameraPose, read_pose
    from linepatrol_service.geotag import read_pose_summary

    path = api.services.settings.data_dir / "p.jpg"
    path.write_bytes(dji_jpeg(seed=3, yaw=37.5, pitch=-60.0))
    stored, error = read_pose_summary(path)
    assert error is None
    rebuilt = CameraPose.from_json(json.loads(json.dumps(stored)))
    assert dataclasses.asdict(rebuilt) == dataclasses.asdict(read_pose(path))
    with pytest.raises(ValueError, match="not a stored camera pose"):
        CameraPose.from_json({"lat": 1.0})


def test_a_machine_seen_under_two_names_keeps_each_views_class():
    """The geo merge votes a machine's class over its views (linepatrol.geo.merge); the stored
    defect keeps what each photo's detection was called, for the reviewer."""
    import datetime as dt

    from linepatrol.geo.locate import Defect, Evidence, Placement
    from linepatrol_service.geotag import defect_row
    from linepatrol_service.reports import evidence_view
    from linepatrol_service.schemas import Evidence as EvidenceOut

    place = Placement(30.5, 114.3, 100.0, "ground")
    views = [Evidence("1", (0.0, 0.0, 10.0, 10.0), 0.8, (5.0, 10.0), place, False, "excavator"),
             Evidence("2", (1.0, 0.0, 11.0, 10.0), 0.7, (6.0, 10.0), place, False, "truck_crane")]
    d = Defect(defect_id="D0001", class_key="excavator", category="hazard", name_zh="挖掘机",
               name_en="Excavator", severity="general", confidence=0.8, lat=30.5, lon=114.3,
               alt=100.0, alt_datum=None, geo_reason=None, placement="ground",
               uncertainty_m=1.0, line=None, tower=None, span=None, distance_to_line_m=None,
               evidence=views)
    row = defect_row(d, 7, dt.datetime(2026, 11, 20, tzinfo=dt.UTC))
    assert (row.class_key, row.flight_id, row.status) == ("excavator", 7, "new")
    assert [e["detected_class"] for e in row.evidence] == ["excavator", "truck_crane"]
    assert EvidenceOut(**row.evidence[1]).detected_class == "truck_crane"
    assert row.evidence[1]["pixel"] == [6.0, 10.0] and row.evidence[1]["lat"] == 30.5
    # rows stored before per-view classes and placements were kept still read
    old = {"image_id": 1, "xyxy": [0, 0, 1, 1], "confidence": 0.5}
    assert EvidenceOut(**old).detected_class is None
    view = evidence_view(old, {1: "DJI_0001.JPG"})
    assert (view.photo, view.class_key, view.lat, view.pixel) == ("DJI_0001.JPG", None, None, None)
