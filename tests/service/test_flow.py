"""The main path on SQLite: create, upload, submit, process, report, review."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest

from .photos import jpeg, zip_of


def test_flight_from_upload_to_reviewed_defect(api):
    flight = api.new_flight(notes="tower 12-15")
    assert flight["status"] == "draft"
    assert flight["progress"] == {"total": 0, "done": 0, "failed": 0, "pending": 0}
    photos = [(f"DJI_{i:04d}.JPG", jpeg(seed=i)) for i in range(3)]
    r = api.upload(flight["id"], photos)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [f["status"] for f in body["files"]] == ["accepted"] * 3
    assert body["accepted"] == 3

    r = api.post(f"/flights/{flight['id']}/submit", "uploader")
    assert r.status_code == 200, r.text
    assert r.json()["status"] in ("queued", "processing", "done")
    done = api.wait(flight["id"])
    assert done["status"] == "done", done
    assert done["progress"] == {"total": 3, "done": 3, "failed": 0, "pending": 0}
    assert done["timings"]["processing_s"] is not None
    # The tiny model finds a missing cap and a bird nest in every photo; the insulator is a
    # component and no defect.
    assert done["defects"] >= 2

    report = api.get(f"/flights/{flight['id']}/report?format=json", "uploader").json()
    classes = {d["class"] for d in report["defects"]}
    assert classes == {"insulator_missing_cap", "bird_nest"}
    geo = api.get(f"/flights/{flight['id']}/report?format=geojson").json()
    assert geo["type"] == "FeatureCollection"
    assert len(geo["features"]) == len(report["defects"])
    rows = list(csv.DictReader(io.StringIO(
        api.get(f"/flights/{flight['id']}/report?format=csv").text)))
    assert {r["class"] for r in rows} == classes
    kml = api.get(f"/flights/{flight['id']}/report?format=kml")
    assert kml.status_code == 200 and kml.text.startswith("<?xml")
    html = api.get(f"/flights/{flight['id']}/report?format=html")
    assert "<table>" in html.text and "鸟巢" in html.text

    queue = api.get("/defects?status=new", "reviewer").json()
    assert queue["total"] == done["defects"]
    first = queue["items"][0]
    # Same severity (serious): the more confident missing cap comes before the nest.
    assert first["class_key"] == "insulator_missing_cap" and first["severity"] == "serious"
    r = api.patch(f"/defects/{first['id']}", "reviewer",
                  json={"status": "confirmed", "assignee": "王工", "note": "seen on site"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "confirmed" and r.json()["assignee"] == "王工"
    history = api.get(f"/defects/{first['id']}/history", "reviewer").json()
    assert history[0]["changes"]["status"] == ["new", "confirmed"]
    assert history[0]["note"] == "seen on site"
    assert history[0]["actor"].startswith("test-reviewer")
    # The report reflects the review.
    report = api.get(f"/flights/{flight['id']}/report?format=json").json()
    assert {d["id"]: d["status"] for d in report["defects"]}[first["id"]] == "confirmed"
    # A rejected defect leaves the report, and the flight's count with it, in every format.
    second = queue["items"][1]
    assert api.patch(f"/defects/{second['id']}", "reviewer",
                     json={"status": "rejected"}).status_code == 200
    fid = flight["id"]
    count = api.get(f"/flights/{fid}").json()["defects"]
    report = api.get(f"/flights/{fid}/report?format=json").json()
    assert count == done["defects"] - 1 == report["flight"]["defects"] == len(report["defects"])
    assert len(api.get(f"/flights/{fid}/report?format=geojson").json()["features"]) == count
    csv_rows = list(csv.DictReader(io.StringIO(
        api.get(f"/flights/{fid}/report?format=csv").content.decode("utf-8-sig"))))
    assert len(csv_rows) == count and second["id"] not in {int(r["id"]) for r in csv_rows}
    everything = api.get(f"/flights/{fid}/report?format=json&include_rejected=true").json()
    assert len(everything["defects"]) == count + 1
    pytest.importorskip("reportlab")  # the pdf extra: last, the rest was checked without it
    pdf = api.get(f"/flights/{fid}/report?format=pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == f'attachment; filename="flight-{fid}.pdf"'
    text = pdf_text(pdf.content)
    assert text.count("photo(s):") == count and f"defects{count}(" in text
    assert "鸟巢" in text and "绝缘子自爆/缺片" in text


def pdf_text(data: bytes) -> str:
    """A PDF's text with the whitespace taken out (table cells wrap)."""
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "".join("".join(p.extract_text().split()) for p in reader.pages)


def test_pdf_report_without_reportlab_says_which_extra(api, monkeypatch):
    flight = api.new_flight()
    api.upload(flight["id"], [("a.jpg", jpeg(seed=2))])
    api.post(f"/flights/{flight['id']}/submit", "uploader")
    assert api.wait(flight["id"])["status"] == "done"
    monkeypatch.setitem(sys.modules, "reportlab", None)
    r = api.get(f"/flights/{flight['id']}/report?format=pdf", "uploader")
    assert r.status_code == 501
    assert "install the pdf extra: pip install 'linepatrol[pdf]'" in r.json()["detail"]


def test_evidence_images(api):
    flight = api.new_flight()
    api.upload(flight["id"], [("a.jpg", jpeg(seed=1, width=640, height=480))])
    api.post(f"/flights/{flight['id']}/submit", "uploader")
    api.wait(flight["id"])
    defect = api.get("/defects", "reviewer").json()["items"][0]
    detail = api.get(f"/defects/{defect['id']}", "reviewer").json()
    assert detail["evidence"] and detail["evidence"][0]["image_id"] == defect["image_id"]
    for url in (f"/defects/{defect['id']}/crop", f"/images/{defect['image_id']}?variant=thumbnail",
                f"/images/{defect['image_id']}?variant=annotated"):
        r = api.get(url, "reviewer")
        assert r.status_code == 200, (url, r.text)
        assert r.headers["content-type"] == "image/jpeg" and r.content[:3] == b"\xff\xd8\xff"
    original = api.get(f"/images/{defect['image_id']}", "reviewer")
    assert original.content == jpeg(seed=1, width=640, height=480)
    thumb = api.get(f"/images/{defect['image_id']}?variant=thumbnail&size=64", "reviewer")
    import cv2
    import numpy as np
    img = cv2.imdecode(np.frombuffer(thumb.content, np.uint8), cv2.IMREAD_COLOR)
    assert max(img.shape[:2]) == 64


def test_zip_upload_and_duplicates(api):
    flight = api.new_flight()
    a, b = jpeg(seed=10), jpeg(seed=11)
    archive = zip_of({"flight/DJI_0001.JPG": a, "flight/DJI_0002.JPG": b, "readme.txt": b"hi"})
    r = api.upload(flight["id"], [("photos.zip", archive), ("again.jpg", a)]).json()
    by_name = {f["filename"]: f for f in r["files"]}
    assert by_name["photos.zip/flight/DJI_0001.JPG"]["status"] == "accepted"
    assert by_name["photos.zip/flight/DJI_0002.JPG"]["status"] == "accepted"
    assert by_name["photos.zip/readme.txt"]["status"] == "rejected"
    assert "not an image" in by_name["photos.zip/readme.txt"]["reason"]
    assert by_name["again.jpg"]["status"] == "duplicate"
    assert "DJI_0001" in by_name["again.jpg"]["reason"]
    # Uploading the same photo to another flight is accepted and stored once.
    other = api.new_flight()
    r2 = api.upload(other["id"], [("x.jpg", a)]).json()
    assert r2["files"][0]["status"] == "accepted"
    assert r2["files"][0]["sha256"] == by_name["photos.zip/flight/DJI_0001.JPG"]["sha256"]
    assert f"the same photo is also in flight {flight['id']}" in r2["files"][0]["warnings"]
    stored = list((api.services.settings.photo_dir).rglob("*"))
    assert len([p for p in stored if p.is_file()]) == 2


def test_list_flights_filters_and_paging(api):
    for i in range(5):
        api.new_flight(line="A" if i % 2 else "B", date=f"2026-11-0{i + 1}")
    page = api.get("/flights?limit=2&offset=0").json()
    assert page["total"] == 5 and len(page["items"]) == 2
    assert [f["date"] for f in page["items"]] == ["2026-11-05", "2026-11-04"]
    assert api.get("/flights?line=A").json()["total"] == 2
    assert api.get("/flights?date_from=2026-11-02&date_to=2026-11-03").json()["total"] == 2
    assert api.get("/flights?status=draft").json()["total"] == 5
    assert api.get("/flights?status=done").json()["total"] == 0


def test_submit_rules_and_cancel(api):
    flight = api.new_flight()
    assert api.post(f"/flights/{flight['id']}/submit", "uploader").status_code == 409  # empty
    api.upload(flight["id"], [("a.jpg", jpeg(seed=3))])
    r = api.post(f"/flights/{flight['id']}/cancel", "uploader")
    assert r.json()["status"] == "cancelled"
    assert api.upload(flight["id"], [("b.jpg", jpeg(seed=4))]).status_code == 409
    assert api.post(f"/flights/{flight['id']}/cancel", "uploader").status_code == 409
    # A cancelled flight can be submitted again and finishes.
    assert api.post(f"/flights/{flight['id']}/submit", "uploader").status_code == 200
    assert api.wait(flight["id"])["status"] == "done"


def test_defect_queue_filters_sort_and_patch_class(api):
    flight = api.new_flight()
    api.upload(flight["id"], [(f"{i}.jpg", jpeg(seed=20 + i)) for i in range(2)])
    api.post(f"/flights/{flight['id']}/submit", "uploader")
    api.wait(flight["id"])
    all_ = api.get("/defects", "reviewer").json()
    assert all_["total"] >= 2
    nests = api.get("/defects?class=bird_nest", "reviewer").json()
    assert nests["total"] and all(d["class_key"] == "bird_nest" for d in nests["items"])
    crit = api.get("/defects?severity=critical", "reviewer").json()
    assert all(d["severity"] == "critical" for d in crit["items"])
    assert api.get("/defects?line=nope", "reviewer").json()["total"] == 0
    assert api.get(f"/defects?flight={flight['id']}", "reviewer").json()["total"] == all_["total"]
    assert api.get("/defects?date_from=2026-12-01", "reviewer").json()["total"] == 0
    assert api.get("/defects?category=hazard", "reviewer").json()["total"] == 0
    by_conf = api.get("/defects?sort=-confidence", "reviewer").json()["items"]
    confs = [d["confidence"] for d in by_conf]
    assert confs == sorted(confs, reverse=True)
    nest = nests["items"][0]
    api.patch(f"/defects/{nest['id']}", "reviewer", json={"severity": "critical"})
    assert api.get("/defects", "reviewer").json()["items"][0]["id"] == nest["id"]
    r = api.patch(f"/defects/{nest['id']}", "reviewer", json={"class": "foreign_object"})
    assert r.status_code == 200, r.text
    assert r.json()["class_key"] == "foreign_object"
    assert r.json()["detected_class"] == "bird_nest"
    assert api.patch(f"/defects/{nest['id']}", "reviewer",
                     json={"class": "no_such_class"}).status_code == 422
    assert api.patch(f"/defects/{nest['id']}", "reviewer",
                     json={"status": "bogus"}).status_code == 422
    assert api.get("/defects/999999", "reviewer").status_code == 404


def test_tokens_api_and_revocation(api):
    r = api.post("/tokens", json={"role": "uploader", "name": "field team 2"})
    assert r.status_code == 201
    secret, token_id = r.json()["token"], r.json()["id"]
    hdr = {"Authorization": f"Bearer {secret}"}
    assert api.client.get("/api/v1/flights", headers=hdr).status_code == 200
    listed = api.get("/tokens").json()
    assert all("token" not in t for t in listed)
    assert api.client.delete(f"/api/v1/tokens/{token_id}", headers=api.h("admin")).json()[
        "revoked_at"]
    assert api.client.get("/api/v1/flights", headers=hdr).status_code == 401


def test_uploader_sees_only_own_flights(api):
    mine = api.new_flight()
    r = api.post("/tokens", json={"role": "uploader", "name": "other"})
    other = {"Authorization": f"Bearer {r.json()['token']}"}
    # 404, as for a flight that does not exist: a 403 would tell which flight ids exist.
    assert api.client.get(f"/api/v1/flights/{mine['id']}", headers=other).status_code == 404
    assert api.client.get("/api/v1/flights", headers=other).json()["total"] == 0
    assert api.get(f"/flights/{mine['id']}", "reviewer").status_code == 200


def test_health_and_metrics(api):
    r = api.client.get("/api/v1/health")
    assert r.status_code == 200, r.text
    h = r.json()
    assert h["ok"] and h["database"]["ok"] and h["queue"]["mode"] == "embedded"
    assert "CPUExecutionProvider" in h["model"]["active_providers"]
    m = api.client.get("/api/v1/metrics")
    assert m.status_code == 200
    assert "linepatrol_http_requests_total" in m.text
    assert 'linepatrol_flights' in m.text


def test_openapi_documents_the_contract(api):
    spec = api.client.get("/api/v1/openapi.json").json()
    paths = spec["paths"]
    for p in ("/api/v1/flights", "/api/v1/flights/{flight_id}/images",
              "/api/v1/flights/{flight_id}/submit", "/api/v1/flights/{flight_id}/report",
              "/api/v1/defects", "/api/v1/defects/{defect_id}/history",
              "/api/v1/lines/{line}/ledger", "/api/v1/health", "/api/v1/metrics"):
        assert p in paths, p
    assert "multipart/form-data" in paths["/api/v1/flights/{flight_id}/images"]["post"][
        "requestBody"]["content"]
    json.dumps(spec)


CPLID = Path("/work/shared/datasets/cplid/Normal_Insulators/images")


@pytest.mark.skipif(not CPLID.is_dir(), reason="the CPLID sample is not on this machine")
def test_real_uav_photos_go_through(api):
    """Real UAV photos (CPLID, 1152x864, no GPS) as a zip: accepted, processed, unlocated."""
    photos = sorted(CPLID.glob("*.jpg"))[:3]
    flight = api.new_flight()
    archive = zip_of({p.name: p.read_bytes() for p in photos})
    body = api.upload(flight["id"], [("cplid.zip", archive)]).json()
    assert body["accepted"] == 3, body
    api.post(f"/flights/{flight['id']}/submit", "uploader")
    done = api.wait(flight["id"])
    assert done["progress"] == {"total": 3, "done": 3, "failed": 0, "pending": 0}
    images = api.get(f"/flights/{flight['id']}/images").json()["items"]
    assert {(i["width"], i["height"]) for i in images} == {(1152, 864)}
    defects = api.get(f"/flights/{flight['id']}/report?format=json").json()["defects"]
    assert defects and all(d["lat"] is None and d["geo_reason"] for d in defects)


def test_a_model_set_runs_as_one_and_health_names_its_members(tmp_path, tiny_model):
    """The default runs several models together (linepatrol.ensemble); the service takes such a
    set as LINEPATROL_MODEL=A+B: each class from the first model that detects it."""
    from support.service_settings import make_settings
    from support.tiny_onnx import make_yolo_onnx

    from .conftest import open_api

    # a second model that also "sees" a bird nest (dropped: the first model owns nests) and a
    # foreign object (kept: only it detects those)
    other = make_yolo_onnx(tmp_path / "other.onnx", ["bird_nest", "foreign_object"],
                           [(10.0, 50.0, 6.0, 6.0, 0, 0.99), (50.0, 12.0, 8.0, 6.0, 1, 0.6)])
    settings = make_settings(tmp_path / "data", tiny_model)
    settings = settings.model_copy(update={"model": f"{tiny_model}+{other}"})
    for api in open_api(settings):
        h = api.client.get("/api/v1/health").json()["model"]
        assert [m["path"] for m in h["members"]] == [str(tiny_model), str(other)]
        assert h["members"][1]["owns"] == ["foreign_object"]
        flight = api.new_flight()
        assert api.upload(flight["id"], [("DJI_0001.JPG", jpeg(seed=1))]).status_code == 200
        api.post(f"/flights/{flight['id']}/submit", "uploader")
        assert api.wait(flight["id"])["status"] == "done"
        report = api.get(f"/flights/{flight['id']}/report?format=json").json()
        found = sorted((d["class"], round(d["confidence"], 2)) for d in report["defects"])
        assert found == [("bird_nest", 0.8), ("foreign_object", 0.6),
                         ("insulator_missing_cap", 0.9)]


def test_the_service_finds_what_linepatrol_detect_finds_in_the_same_photo(tmp_path):
    """One path for every caller: the service decodes a photo only as large as the models
    need, as `linepatrol detect` does, so a real photo gives the same detections in both (it
    decoded every photo in full before, and a borderline detection could differ)."""
    from pathlib import Path

    from linepatrol.detect_config import DetectorConfig
    from linepatrol.model_store import ENSEMBLE_SEP, resolve_models
    from linepatrol.pipeline import detect_files, open_detector
    from linepatrol.settings import CoreSettings
    from support.service_settings import make_settings

    from .conftest import open_api

    photo = sorted((Path(__file__).resolve().parents[2] / "service" / "linepatrol_service"
                    / "sample_flight" / "photos").glob("*.JPG"))[0]
    spec = ENSEMBLE_SEP.join(str(p) for p in resolve_models(None))  # the bundled default
    settings = make_settings(tmp_path / "data", Path(spec), tile="auto")
    cli = open_detector(spec, CoreSettings(providers=["cpu"]), DetectorConfig(tile="auto"))
    [mine] = list(detect_files(cli, [(photo.name, photo)]))
    assert mine.detections is not None and len(mine.detections) > 0
    for api in open_api(settings):
        flight = api.new_flight()
        assert api.upload(flight["id"], [(photo.name, photo.read_bytes())]).status_code == 200
        api.post(f"/flights/{flight['id']}/submit", "uploader")
        assert api.wait(flight["id"])["status"] == "done"
        [image] = api.get(f"/flights/{flight['id']}/images").json()["items"]
        theirs = sorted((d["class"], round(d["confidence"], 3)) for d in image["detections"])
        assert theirs == sorted((r["class"], round(r["confidence"], 3))
                                for r in mine.to_json()["detections"])
