"""Hostile text and JSON, on SQLite and PostgreSQL alike: a 422 (or 413) with a short answer,
never a 500, and nothing of the request kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from linepatrol_service.validation import ECHO_CHARS, MAX_JSON_DEPTH, check_json, json_depth

from .conftest import make_settings, open_api
from .photos import jpeg

GOOD = jpeg(seed=300)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_api(request):
    return request.getfixturevalue("api" if request.param == "sqlite" else "pg_api")


def _flight_body(**kw):
    return {"line": "L1", "date": "2026-11-20", "team": "T1", **kw}


def _raw_json(api, method, url, text, role="admin"):
    return api.call(method, url, role, content=text.encode("utf-8", "surrogatepass"),
                    headers={"Content-Type": "application/json"})


def multipart(files: list[tuple[str, bytes]]) -> bytes:
    """A multipart body written by hand: clients escape what this test must send raw."""
    out = b""
    for name, data in files:
        out += (b"--BOUNDARY\r\nContent-Disposition: form-data; name=\"files\"; filename=\""
                + name.encode() + b"\"\r\nContent-Type: image/jpeg\r\n\r\n" + data + b"\r\n")
    return out + b"--BOUNDARY--\r\n"


def _assert_short_422(r):
    assert r.status_code == 422, r.text
    assert len(r.content) < 20 * ECHO_CHARS, r.content[:300]  # 20 errors at most, no input
    return r.json()["detail"]


@pytest.mark.parametrize("text", [
    '{"line": "L\\u0000", "date": "2026-11-20"}',
    '{"line": "L\\ud800", "date": "2026-11-20"}',
    '{"line": "L", "date": "2026-11-20", "notes": "a\\udfffb"}',
    '{"line": "L", "date": "2026-11-20", "x": NaN}',
    '{"line": "L", "date": "2026-11-20", "x": 1e999}',
    '{"line": "L", "date": "2026-11-20", "x": -Infinity}',
    '{"line": "L", "date": "2026-11-20", "\\u0000": 1}',
])
def test_bad_text_and_numbers_in_json_are_422(db_api, text):
    r = _raw_json(db_api, "POST", "/flights", text, "uploader")
    _assert_short_422(r)
    assert db_api.get("/flights").json()["total"] == 0


@pytest.mark.parametrize("ctype", ["application/vnd.x+json", None])
def test_every_body_parsed_as_json_is_checked(db_api, ctype):
    """FastAPI parses ``+json`` types, and bodies without a type, as JSON too."""
    headers = {"Content-Type": ctype} if ctype else {}
    r = db_api.client.post("/api/v1/flights", content=b'{"line": "L", "date": "2026-11-20", '
                           b'"x": NaN}', headers={**db_api.h("uploader"), **headers})
    assert "NaN is not a valid JSON number" in str(_assert_short_422(r))


def test_valid_surrogate_pairs_and_unicode_pass(db_api):
    r = db_api.post("/flights", "uploader", json=_flight_body(line="500kV 江城线 😀"))
    assert r.status_code == 201 and r.json()["line"] == "500kV 江城线 😀"


def test_nul_in_token_name_and_defect_patch(db_api):
    r = _raw_json(db_api, "POST", "/tokens", '{"role": "uploader", "name": "x\\u0000"}')
    _assert_short_422(r)
    r = _raw_json(db_api, "PATCH", "/defects/1", '{"note": "\\u0000"}')
    _assert_short_422(r)


@pytest.mark.parametrize("query", ["line=a%00b", "team=%00", "status=draft&line=%00",
                                   "x%00=1"])
def test_nul_in_query_filters_is_422(db_api, query):
    _assert_short_422(db_api.get(f"/flights?{query}"))
    _assert_short_422(db_api.get(f"/defects?{query}", "reviewer"))


def test_long_query_is_422(db_api):
    _assert_short_422(db_api.get("/flights?line=" + "x" * 10_000))


def test_nul_in_path_is_422(db_api):
    r = db_api.put("/lines/a%00b/ledger", content=b"tower,lat,lon\n1,30,120\n",
                   headers={"Content-Type": "text/csv"})
    _assert_short_422(r)
    assert db_api.get("/lines/a%00b/ledger").status_code == 422


def test_ledger_hostile_text_and_depth(db_api):
    csv = "tower,lat,lon\n1\x00,30,120\n"
    r = db_api.put("/lines/L/ledger", content=csv.encode(), headers={"Content-Type": "text/csv"})
    _assert_short_422(r)
    deep = b'{"features": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    for ctype in ("application/geo+json", "application/octet-stream"):
        r = db_api.put("/lines/L/ledger", content=deep, headers={"Content-Type": ctype})
        assert "nested" in str(_assert_short_422(r))


def test_deep_json_body_is_422(db_api):
    deep = '{"line": "L", "date": "2026-11-20", "notes": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert "nested" in str(_assert_short_422(_raw_json(db_api, "POST", "/flights", deep)))


def test_422_never_echoes_a_large_input(db_api):
    big = json.dumps(_flight_body(date="x" * 5_000_000))
    detail = _assert_short_422(_raw_json(db_api, "POST", "/flights", big, "uploader"))
    assert detail[0]["loc"][-1] == "date"
    many = json.dumps(_flight_body(**{f"extra{i}": "y" * 1000 for i in range(500)}))
    r = _raw_json(db_api, "POST", "/flights", many, "uploader")
    _assert_short_422(r)
    assert b"yyyy" not in r.content


def test_hostile_file_names_are_rejected_per_file(db_api):
    flight = db_api.new_flight()
    r = db_api.post(f"/flights/{flight['id']}/images", "uploader",
                    content=multipart([("a\x00b.jpg", jpeg(seed=301)), ("good.jpg", GOOD)]),
                    headers={"Content-Type": "multipart/form-data; boundary=BOUNDARY"})
    assert r.status_code == 200, r.text
    files = r.json()["files"]
    assert [f["status"] for f in files] == ["rejected", "accepted"]
    assert "NUL" in files[0]["reason"] and files[0]["filename"] == "a\\x00b.jpg"
    images = db_api.get(f"/flights/{flight['id']}/images").json()["items"]
    assert [i["filename"] for i in images] == ["good.jpg"]
    assert len(list(db_api.services.settings.photo_dir.rglob("*"))) == 2  # 1 file + its dir


def test_json_body_limit_is_413(tmp_path: Path, tiny_model: Path):
    for api in open_api(make_settings(tmp_path / "d", tiny_model, max_body_bytes=10_000)):
        r = _raw_json(api, "POST", "/flights", json.dumps(_flight_body(notes="x" * 20_000)),
                      "uploader")
        assert r.status_code == 413
        ok = api.upload(api.new_flight()["id"], [("big.jpg", jpeg(seed=302, width=400))])
        assert ok.status_code == 200 and ok.json()["accepted"] == 1  # uploads: their own limit


def test_json_depth_counts_brackets_outside_strings():
    assert json_depth(b'{"a": [1, {"b": "[[[[{{"}]}') == 3
    assert json_depth(b'"[\\"[["') == 0
    assert check_json(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH) is not None
