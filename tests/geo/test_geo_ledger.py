"""Tower ledgers: CSV and GeoJSON, spans in file order, and an error naming each bad row."""

from __future__ import annotations

import json

import pytest

from linepatrol.geo import Ledger, LedgerError

CSV = """line,tower,lat,lon,ground_elev,height
500kV Xinghe I,N12,30.5000,114.2500,45.5,42
500kV Xinghe I,N13,30.5000,114.2540,,
500kV Xinghe I,N14,30.5002,114.2580,47,45
220kV Guanghe,7,30.6,114.3,,
"""


def test_csv_ledger_and_spans():
    ledger = Ledger.parse(CSV, "csv")
    assert [t.tower for t in ledger.towers] == ["N12", "N13", "N14", "7"]
    assert ledger.towers[0].ground_elev == 45.5 and ledger.towers[0].height == 42
    assert ledger.towers[1].ground_elev is None and ledger.towers[1].height is None
    assert [(s.line, s.name) for s in ledger.spans] == [
        ("500kV Xinghe I", "N12-N13"), ("500kV Xinghe I", "N13-N14"),
    ]


def test_chinese_headers_bom_and_file_load(tmp_path):
    text = "\ufeff线路,杆塔号,纬度,经度,呼高\n兴和一线,1,30.5,114.25,36\n兴和一线,2,30.5,114.255,36\n"
    path = tmp_path / "台账.csv"
    path.write_text(text, encoding="utf-8")
    ledger = Ledger.load(path)
    assert ledger.towers[0].line == "兴和一线" and ledger.towers[1].height == 36
    assert ledger.spans[0].name == "1-2"


def test_geojson_ledger(tmp_path):
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [114.25, 30.5, 45.0]},
         "properties": {"line": "L1", "tower": 12, "height": 40}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [114.254, 30.5]},
         "properties": {"line_name": "L1", "tower_no": "13"}},
    ]}
    path = tmp_path / "towers.geojson"
    path.write_text(json.dumps(doc))
    ledger = Ledger.load(path)
    assert ledger.towers[0].tower == "12" and ledger.towers[0].ground_elev == 45.0
    assert ledger.towers[1].lat == 30.5 and ledger.spans[0].name == "12-13"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty ledger"),
        ("line,tower,lat\nL,1,30\n", "lacks column.*lon"),
        ("line,tower,lat,lon\nL,1,30.5,114\nL,,30.5,114.1\n", "row 3: tower is empty"),
        ("line,tower,lat,lon\nL,1,30.5,114\nL,2,north,114.1\n", "row 3: lat 'north' is not"),
        ("line,tower,lat,lon\nL,1,95,114\n", "row 2: lat 95.0 is outside"),
        ("line,tower,lat,lon\nL,1,nan,114\n", "row 2: lat nan is outside"),
        ("line,tower,lat,lon\nL,1,30,114\nL,1,30.1,114\n", "row 3: tower '1' .* twice.*row 2"),
        ("line,tower,lat,lon,height\nL,1,30,114,-5\n", "row 2: height -5.0 is outside"),
        ("line,tower,lat,lon\nL,1,30,114,extra\n", "row 2: 5 cells"),
        ("line,tower,lat,lon\n\n\n", "no towers"),
    ],
)
def test_malformed_csv_rows_are_named(text, message):
    with pytest.raises(LedgerError, match=message):
        Ledger.parse(text, "csv")


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("{", "not JSON"),
        ('{"type": "Feature"}', "FeatureCollection"),
        ('{"type": "FeatureCollection"}', "no features"),
        ('{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": '
         '{"type": "LineString", "coordinates": []}, "properties": {}}]}', "feature 0: geometry"),
        ('{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": '
         '{"type": "Point", "coordinates": [114, 30]}, "properties": {"line": "L"}}]}',
         "feature 0: tower is empty"),
        ('{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": '
         '{"type": "Point", "coordinates": ["x", 30]}, "properties": {"line": "L", "tower": 1}}]}',
         "feature 0: lon 'x' is not a number"),
        ('{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": '
         '{"type": "Point", "coordinates": [114, 30]}, "properties": {"line": "L", "tower": 1, '
         '"height": [1]}}]}', "feature 0: height must be a number"),
    ],
)
def test_malformed_geojson_is_named(doc, message):
    with pytest.raises(LedgerError, match=message):
        Ledger.parse(doc, "geojson")


def test_file_errors(tmp_path):
    with pytest.raises(LedgerError, match="must be .csv or .geojson"):
        Ledger.load(tmp_path / "towers.xlsx")
    with pytest.raises(LedgerError, match="cannot read"):
        Ledger.load(tmp_path / "missing.csv")
    bad = tmp_path / "gbk.csv"
    bad.write_bytes("线路,杆塔号,纬度,经度\n".encode("gbk"))
    with pytest.raises(LedgerError, match="not UTF-8"):
        Ledger.load(bad)
    rows = tmp_path / "rows.csv"
    rows.write_text("line,tower,lat,lon\nL,1,30,x\n")
    with pytest.raises(LedgerError, match=r"rows\.csv: row 2: lon"):
        Ledger.load(rows)
