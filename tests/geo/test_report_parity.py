"""One flight, two writers: ``linepatrol report`` and the service write the same reports.

The same folder of DJI photos, ledger and model go through the CLI and through the service
(upload, submit, process, download); every format must hold the same features, columns and
values. Only what is the service's own may differ: its defect ids (database rows) and the
review status a fresh flight's defects get ("new").
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as ET
import pytest
from fastapi.testclient import TestClient

from linepatrol.cli import main
from linepatrol.report import COLUMNS, Format
from linepatrol_service.app import create_app
from linepatrol_service.auth import create_token
from linepatrol_service.roles import Role
from linepatrol_service.services import Services
from support.service_settings import make_settings

KML = "{http://www.opengis.net/kml/2.2}"
SERVICE_OWN = {"id", "status"}


def _same(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in SERVICE_OWN}


@pytest.fixture
def both(flight: tuple[Path, Path, Path, dict[str, Any]], tmp_path: Path
         ) -> Iterator[tuple[Path, dict[str, bytes]]]:
    """(the CLI's output folder, the service's report bytes by format) for one flight."""
    pytest.importorskip("reportlab")
    folder, ledger, model, _ = flight
    out = tmp_path / "cli"
    assert main(["report", str(folder), "--ledger", str(ledger), "--model", str(model),
                 "--out", str(out), "--tile", "off", "--line", "L1", "--pdf"]) == 0
    settings = make_settings(tmp_path / "data", model, batch_size=4)
    services = Services(settings)
    with TestClient(create_app(settings, services)) as client:
        with services.sessions.begin() as s:
            _, secret = create_token(s, Role.ADMIN, "parity")
        auth = {"Authorization": f"Bearer {secret}"}
        api = "/api/v1"
        r = client.put(f"{api}/lines/L1/ledger", content=ledger.read_bytes(),
                       headers={**auth, "Content-Type": "text/csv"})
        assert r.status_code == 200, r.text
        r = client.post(f"{api}/flights", headers=auth, json={"line": "L1", "date": "2026-11-20"})
        fid = r.json()["id"]
        files = [("files", (p.name, p.read_bytes(), "application/octet-stream"))
                 for p in sorted(folder.iterdir())]
        body = client.post(f"{api}/flights/{fid}/images", headers=auth, files=files).json()
        assert (body["accepted"], body["rejected"]) == (3, 1)  # broken.jpg is refused
        assert client.post(f"{api}/flights/{fid}/submit", headers=auth).status_code == 200
        for _ in range(600):
            if client.get(f"{api}/flights/{fid}", headers=auth).json()["status"] == "done":
                break
            time.sleep(0.1)
        reports = {}
        for fmt in ("geojson", "kml", "csv", "html", "pdf"):
            r = client.get(f"{api}/flights/{fid}/report?format={fmt}", headers=auth)
            assert r.status_code == 200, r.text
            assert r.headers["content-type"].split(";")[0] == Format(fmt).media_type.split(";")[0]
            assert f'filename="flight-{fid}.{fmt}"' in r.headers["content-disposition"]
            reports[fmt] = r.content
    services.close()
    yield out, reports


def test_geojson_features_are_the_same(both):
    out, service = both
    cli = json.loads((out / "report.geojson").read_text(encoding="utf-8"))["features"]
    svc = json.loads(service["geojson"])["features"]
    assert len(cli) == len(svc) == 4
    for a, b in zip(cli, svc, strict=True):
        assert a["geometry"] == b["geometry"]
        assert _same(a["properties"]) == _same(b["properties"])
        assert a["properties"]["status"] is None and b["properties"]["status"] == "new"
    assert {f["properties"]["line"] for f in cli} == {"L1"}


def test_csv_columns_and_values_are_the_same(both):
    out, service = both
    cli_bytes = (out / "report.csv").read_bytes()
    for data in (cli_bytes, service["csv"]):
        assert data.startswith(b"\xef\xbb\xbf")
    cli = list(csv.DictReader(io.StringIO(cli_bytes.decode("utf-8-sig"))))
    svc = list(csv.DictReader(io.StringIO(service["csv"].decode("utf-8-sig"))))
    assert list(cli[0]) == list(svc[0]) == list(COLUMNS)
    assert [_same(r) for r in cli] == [_same(r) for r in svc] and len(cli) == 4


def _placemarks(data: bytes) -> list[dict[str, str | None]]:
    root = ET.fromstring(data)
    return [{d.get("name"): d.findtext(f"{KML}value") for d in p.iter(f"{KML}Data")}
            for p in root.iter(f"{KML}Placemark")]


def test_kml_placemarks_and_extended_data_are_the_same(both):
    out, service = both
    cli = _placemarks((out / "report.kml").read_bytes())
    svc = _placemarks(service["kml"])
    assert len(cli) == len(svc) == 2  # the placed defects
    assert [_same(p) for p in cli] == [_same(p) for p in svc]
    assert list(cli[0]) == list(COLUMNS)


def test_html_reports_are_self_contained_alike(both):
    out, service = both
    for page in ((out / "report.html").read_text(encoding="utf-8"),
                 service["html"].decode("utf-8")):
        assert page.count('src="data:image/jpeg;base64,') == 4
        assert "127.0.0.1" not in page and "http://" not in page and "https://" not in page
        assert page.count("<tr class=") == 4


def _image_objects(reader) -> set[int]:
    """The image objects the pages draw, read from their resources (not decoded: pypdf's
    decoding depends on the installed Pillow's signature)."""
    held = set()
    for page in reader.pages:
        resources = page["/Resources"].get_object()
        for ref in (resources.get("/XObject") or {}).values():
            if ref.get_object()["/Subtype"] == "/Image":
                held.add(ref.idnum)
    return held


def test_pdf_reports_show_the_same_rows_counts_and_crops(both):
    pypdf = pytest.importorskip("pypdf")
    out, service = both
    cli_csv = list(csv.DictReader(io.StringIO(
        (out / "report.csv").read_bytes().decode("utf-8-sig"))))
    # the HTML's crops; a PDF holds an image once however often it shows it
    crops = set(re.findall(r'src="data:image/jpeg;base64,([^"]+)"',
                           (out / "report.html").read_text(encoding="utf-8")))
    for data in ((out / "report.pdf").read_bytes(), service["pdf"]):
        reader = pypdf.PdfReader(io.BytesIO(data))
        text = "".join("".join(p.extract_text().split()) for p in reader.pages)
        held = _image_objects(reader)
        assert len(held) == len(crops) > 0
        assert f"defects{len(cli_csv)}(" in text
        assert text.count("photo(s):") == len(cli_csv)  # once in every defect's row
        for row in cli_csv:  # the same defects, by the values every format shares
            assert "".join(row["photo_files"].split()) in text
            assert row["name_zh"] in text
