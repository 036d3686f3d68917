"""GeoJSON (RFC 7946), KML/KMZ and CSV writers."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import defusedxml.ElementTree as ET

from linepatrol.geo import Defect, Evidence, Placement, to_csv, to_geojson, to_kml
from linepatrol.geo.export import CSV_COLUMNS, SEVERITY_COLOURS

KML_NS = {"k": "http://www.opengis.net/kml/2.2"}


def evidence(image: str, conf: float, lat: float | None = 30.5) -> Evidence:
    placement = (Placement(lat, 114.25, 80.0, "tower", line="L1", tower="T2")
                 if lat is not None else Placement(None, None, None, "none", "no GPS position"))
    return Evidence(image, (10.0, 20.0, 30.0, 40.0), conf, (20.0, 30.0), placement)


def defects() -> list[Defect]:
    nest = Defect("D0001", "bird_nest", "line_defect", "鸟巢", "Bird nest", "serious", 0.9,
                  30.5, 114.25, 85.0, "egm96", None, "tower", None, "L1", "T2", None, None,
                  [evidence("b.jpg", 0.9), evidence("a.jpg", 0.7)])
    crane = Defect("D0002", "truck_crane", "hazard", "吊车", "Truck crane", "critical", 0.8,
                   30.5001, 114.2490, 50.0, "egm96", None, "ground", 1.5, "L1", "T1", "T1-T2",
                   8.04, [evidence("a.jpg", 0.8)])
    lost = Defect("D0003", "foreign_object", "line_defect", "导线异物",
                  "Foreign object on conductor", "critical", 0.6, None, None, None, None,
                  "no GPS position", "none", None, None, None, None, None,
                  [evidence("c.jpg", 0.6, lat=None)])
    return [nest, crane, lost]


def test_geojson_is_rfc7946():
    doc = json.loads(json.dumps(to_geojson(defects()), ensure_ascii=False))
    assert doc["type"] == "FeatureCollection" and "crs" not in doc
    assert len(doc["features"]) == 3
    nest, crane, lost = doc["features"]
    for f in doc["features"]:
        assert f["type"] == "Feature" and set(f) == {"type", "id", "geometry", "properties"}
    assert nest["geometry"] == {"type": "Point", "coordinates": [114.25, 30.5]}  # lon, lat
    p = nest["properties"]
    assert (p["class"], p["name_zh"], p["severity"], p["severity_zh"]) == (
        "bird_nest", "鸟巢", "serious", "严重")
    assert (p["line"], p["tower"], p["span"], p["confidence"]) == ("L1", "T2", None, 0.9)
    assert [e["image"] for e in p["evidence"]] == ["b.jpg", "a.jpg"]
    assert p["evidence"][0]["xyxy"] == [10.0, 20.0, 30.0, 40.0] and p["photos"] == 2
    assert crane["properties"]["distance_to_line_m"] == 8.0
    assert crane["properties"]["span"] == "T1-T2"
    assert lost["geometry"] is None and lost["properties"]["geo_reason"] == "no GPS position"


def test_kml_placemarks_styled_by_severity():
    root = ET.fromstring(to_kml(defects()))
    placemarks = root.findall(".//k:Placemark", KML_NS)
    assert len(placemarks) == 2  # the unplaced defect has no position to show
    names = [p.findtext("k:name", namespaces=KML_NS) for p in placemarks]
    assert any("鸟巢" in n and "#T2" in n for n in names)
    coords = {p.findtext(".//k:coordinates", namespaces=KML_NS).strip() for p in placemarks}
    assert "114.25,30.5,0.0" in coords
    colours = {c.text for c in root.findall(".//k:IconStyle/k:color", KML_NS)}
    assert {SEVERITY_COLOURS["critical"], SEVERITY_COLOURS["serious"]} <= colours
    folders = [f.findtext("k:name", namespaces=KML_NS) for f in root.findall(".//k:Folder", KML_NS)]
    assert sorted(folders) == ["严重 serious", "危急 critical"]


def test_kmz_is_zipped_kml():
    kmz = to_kml(defects(), kmz=True)
    with zipfile.ZipFile(io.BytesIO(kmz)) as zf:
        assert zf.namelist() == ["doc.kml"]
        root = ET.fromstring(zf.read("doc.kml"))
    assert len(root.findall(".//k:Placemark", KML_NS)) == 2


def test_csv_round_trip():
    rows = list(csv.DictReader(io.StringIO(to_csv(defects()))))
    assert len(rows) == 3 and list(rows[0]) == list(CSV_COLUMNS)
    assert rows[0]["id"] == "D0001" and rows[0]["best_image"] == "b.jpg"
    assert rows[0]["images"] == "b.jpg;a.jpg" and rows[0]["best_xyxy"] == "10.0 20.0 30.0 40.0"
    assert rows[1]["distance_to_line_m"] == "8.0" and rows[1]["severity_zh"] == "危急"
    assert rows[2]["lat"] == "" and rows[2]["geo_reason"] == "no GPS position"
