"""``linepatrol geo locate`` and ``linepatrol report`` end to end: real JPEGs with DJI metadata,
a real (tiny) ONNX detector with fixed boxes, a ledger CSV, and the files a user opens."""

from __future__ import annotations

import csv
import json
import sys

import defusedxml.ElementTree as ET
import pytest
from geo_support import (
    CENTRE,
    GROUND,
    HAZARD_PIXEL,
    SCENE,
    blank_jpeg,
    dji_jpeg_bytes,
    horizontal_error,
    independent_ray_cast,
    make_pose,
)

from linepatrol.cli import main


def test_geo_locate_prints_pose_and_points(tmp_path, capsys):
    pose = make_pose(yaw=37.5, pitch=-55.0, roll=0.5)
    path = tmp_path / "DJI_0001.JPG"
    path.write_bytes(dji_jpeg_bytes(pose))
    pixels = [(319.5, 239.5), (10.0, 470.0), (600.0, 20.0)]
    args = ["geo", "locate", str(path)]
    for x, y in pixels:
        args += ["--pixel", str(x), str(y)]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["camera"]["yaw"] == 37.5 and out["camera"]["takeoff_alt"] == 50.0
    assert out["camera"]["altitude_datum"] == "egm96"
    for pixel, point in zip(pixels, out["points"], strict=True):
        assert point["pixel"] == list(pixel)
        lat, lon, rng = independent_ray_cast(pose, pixel, 50.0)
        assert horizontal_error(point["lat"], point["lon"], lat, lon) <= 0.5 + 0.002 * rng
        assert point["alt"] == pytest.approx(50.0)
    # a constant ground 20 m higher: the nadir-ish centre moves, the altitude follows
    assert main([*args[:3], "--pixel", "319.5", "239.5", "--ground-alt", "70"]) == 0
    assert json.loads(capsys.readouterr().out)["points"][0]["alt"] == pytest.approx(70.0)


def test_geo_locate_sky_pixel_and_default_centre(tmp_path, capsys):
    path = tmp_path / "oblique.jpg"
    path.write_bytes(dji_jpeg_bytes(make_pose(pitch=-20.0, fx=300.0, fy=300.0)))
    assert main(["geo", "locate", str(path), "--pixel", "319.5", "0"]) == 0
    (point,) = json.loads(capsys.readouterr().out)["points"]
    assert point["lat"] is None and "horizon" in point["reason"]
    assert main(["geo", "locate", str(path)]) == 0
    (point,) = json.loads(capsys.readouterr().out)["points"]
    assert point["pixel"] == [319.5, 239.5] and point["lat"] is not None


def test_geo_locate_without_metadata(tmp_path, capsys):
    path = tmp_path / "plain.jpg"
    path.write_bytes(blank_jpeg(64, 48))
    assert main(["geo", "locate", str(path), "--pixel", "1", "2"]) == 1
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["camera"] is None and out["points"][0]["lat"] is None
    assert "no GPS position" in out["points"][0]["reason"] and "no GPS" in captured.err
    assert main(["geo", "locate", str(tmp_path / "missing.jpg")]) == 2
    assert main(["geo", "locate", str(path), "--dem", str(tmp_path / "no.tif")]) == 2


def test_report_places_defects_at_towers_and_hazards_on_the_ground(flight, tmp_path, capsys):
    folder, ledger, model, poses = flight
    out = tmp_path / "out"
    code = main(["report", str(folder), "--ledger", str(ledger), "--model", str(model),
                 "--out", str(out), "--tile", "off"])
    assert code == 0
    captured = capsys.readouterr()
    assert "broken.jpg" in captured.err and "no_metadata.jpg: no camera pose" in captured.err
    assert "4 photos: 3 read, 1 unreadable, 1 without a camera pose" in captured.out

    doc = json.loads((out / "report.geojson").read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection"
    features = {(f["properties"]["class"], f["geometry"] is not None): f for f in doc["features"]}
    assert len(doc["features"]) == 4  # nest, excavator, and both again from the bare photo

    nest = features[("bird_nest", True)]
    assert nest["properties"]["tower"] == "T2" and nest["properties"]["placement"] == "tower"
    t2 = next(r for r in csv.DictReader(ledger.open()) if r["tower"] == "T2")
    lon, lat = nest["geometry"]["coordinates"]  # the nest sits on T2's axis
    assert horizontal_error(lat, lon, float(t2["lat"]), float(t2["lon"])) < 0.05
    assert sorted(e["photo"] for e in nest["properties"]["evidence"]) == list(poses)

    hazard = features[("excavator", True)]
    sightings = sorted(hazard["properties"]["evidence"], key=lambda e: e["photo"])
    # the footprint anchor: between the box's bottom edge and its centre (steeper: higher)
    for seen in sightings:
        assert seen["pixel"][0] == CENTRE
        assert HAZARD_PIXEL[1] - 20.0 < seen["pixel"][1] < HAZARD_PIXEL[1]
    expected = [independent_ray_cast(poses[seen["photo"]], tuple(seen["pixel"]), GROUND)
                for seen in sightings]
    mean_lat = sum(e[0] for e in expected) / 2
    mean_lon = sum(e[1] for e in expected) / 2
    lon, lat = hazard["geometry"]["coordinates"]
    assert horizontal_error(lat, lon, mean_lat, mean_lon) < 0.05
    for (exp_lat, exp_lon, _), seen in zip(expected, sightings, strict=True):
        assert horizontal_error(seen["lat"], seen["lon"], exp_lat, exp_lon) < 0.05
    north = float(SCENE.to_enu(mean_lat, mean_lon, 0.0)[0, 1])
    props = hazard["properties"]
    assert props["distance_to_line_m"] == pytest.approx(abs(north), abs=0.5)
    assert props["span"] in ("T1-T2", "T2-T3") and props["line"] == "L1"
    assert props["severity"] == ("critical" if abs(north) < 10 else
                                 "serious" if abs(north) < 30 else "general")
    assert len(props["evidence"]) == 2

    for key in ("bird_nest", "excavator"):
        lost = features[(key, False)]["properties"]
        assert lost["geo_reason"].startswith("no GPS position")
        assert lost["evidence"][0]["photo"] == "no_metadata.jpg"

    rows = list(csv.DictReader((out / "report.csv").open(encoding="utf-8-sig")))
    assert len(rows) == 4 and rows[0]["id"] == "D0001"
    assert (out / "report.csv").read_bytes().startswith(b"\xef\xbb\xbfid,class,")
    assert "no_metadata.jpg" in {r["photo"] for r in rows} <= {*poses, "no_metadata.jpg"}
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count('src="data:image/jpeg;base64,') == 4 and "http" not in html
    kml = ET.fromstring((out / "report.kml").read_bytes())
    assert len(kml.findall(".//{http://www.opengis.net/kml/2.2}Placemark")) == 2


def test_report_kmz_pdf_and_bad_inputs(flight, tmp_path, capsys, monkeypatch):
    pytest.importorskip("reportlab")
    folder, _, model, _ = flight
    out = tmp_path / "kmz"
    assert main(["report", str(folder), "--model", str(model), "--out", str(out),
                 "--tile", "off", "--kmz", "--pdf"]) == 0
    assert (out / "report.kmz").read_bytes()[:2] == b"PK"
    assert (out / "report.pdf").read_bytes()[:5] == b"%PDF-"
    with monkeypatch.context() as m:  # without the extra: said before any photo is read
        m.setitem(sys.modules, "reportlab", None)
        capsys.readouterr()
        assert main(["report", str(folder), "--model", str(tmp_path / "no.onnx"),
                     "--out", str(tmp_path / "nopdf"), "--pdf"]) == 2
        assert "install the pdf extra: pip install 'linepatrol[pdf]'" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("line,tower,lat,lon\nL1,1,30.5,114.25\nL1,2,30.5,east\n")
    capsys.readouterr()
    assert main(["report", str(folder), "--ledger", str(bad), "--model", str(model),
                 "--out", str(out)]) == 2
    assert "row 3: lon 'east' is not a number" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "nowhere"), "--model", str(model),
                 "--out", str(out)]) == 2
    assert main(["report", str(folder), "--model", str(tmp_path / "no.onnx"),
                 "--out", str(out)]) == 2


def test_report_opens_with_gdal_as_qgis_reads_it(flight, tmp_path):
    """QGIS reads vector files through GDAL/OGR; pyogrio is that same reader."""
    pyogrio = pytest.importorskip("pyogrio")
    folder, ledger, model, _ = flight
    out = tmp_path / "out"
    assert main(["report", str(folder), "--ledger", str(ledger), "--model", str(model),
                 "--out", str(out), "--tile", "off"]) == 0
    info = pyogrio.read_info(out / "report.geojson")
    assert (info["driver"], info["crs"], info["geometry_type"]) == ("GeoJSON", "EPSG:4326",
                                                                    "Point")
    assert info["features"] == 4
    assert {"class", "severity", "tower", "span", "distance_to_line_m", "evidence"} <= set(
        info["fields"])
    meta, _, geometry, fields = pyogrio.raw.read(out / "report.geojson")
    columns = dict(zip(meta["fields"], fields, strict=True))
    placed = [i for i, g in enumerate(geometry) if g is not None]
    assert sorted(columns["class"][i] for i in placed) == ["bird_nest", "excavator"]
    layers = {name for name, _ in pyogrio.list_layers(out / "report.kml")}
    assert layers == {"危急 critical", "严重 serious"}
