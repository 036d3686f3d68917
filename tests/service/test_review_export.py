"""Review that produces labels (a corrected box, a drawn missed object) and the labelled export
(YOLO, COCO, Label Studio), read back by the dataset readers: issue #17's contract."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import zipfile
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from linepatrol_datasets.readers.coco import read_coco
from linepatrol_datasets.readers.yolo import read_yolo
from linepatrol_service.client import api_client
from linepatrol_service.export_download import PART, ExportRequest, download, unpack
from ui import browser

from .conftest import Api
from .photos import dji_jpeg
from .test_geotag import LEDGER_CSV

LINE = "500kV 江城线"
CAP_BOX = [75.0, 35.0, 125.0, 85.0]  # where the tiny model finds the cap in a 320 x 240 photo
NEST_BOX = [190.0, 140.0, 250.0, 180.0]
CORRECTED = [70.0, 30.0, 131.5, 90.0]
DRAWN = [200.0, 100.0, 230.0, 140.0]


def _fly(api: Api, line: str, date: str, photos: int, seed: int = 0) -> dict[str, Any]:
    """A processed flight: its id, photo ids and items by class (each photo shows both)."""
    flight = api.new_flight(line=line, date=date)
    files = [(f"DJI_{seed + i:04d}.JPG", dji_jpeg(seed=seed + i, lat=30.5 + i * 1e-6))
             for i in range(photos)]
    assert api.upload(flight["id"], files).json()["accepted"] == photos
    api.post(f"/flights/{flight['id']}/submit", "uploader")
    assert api.wait(flight["id"])["status"] == "done"
    report = api.get(f"/flights/{flight['id']}/report?format=json").json()
    images = api.get(f"/flights/{flight['id']}/images").json()["items"]
    return {"id": flight["id"], "images": [i["id"] for i in images],
            "items": {d["class"]: d["id"] for d in report["defects"]}}


def _review(api: Api, item: int, **body: Any) -> dict[str, Any]:
    r = api.patch(f"/defects/{item}", "reviewer", json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


# ------------------------------------------------------------------------- correcting a box

def test_a_corrected_box_reads_back_and_is_audited(api: Api) -> None:
    api.put(f"/lines/{LINE}/ledger", content=LEDGER_CSV.encode(),
            headers={"Content-Type": "text/csv"})
    f = _fly(api, LINE, "2026-11-20", 2)
    cap = f["items"]["insulator_missing_cap"]
    body = _review(api, cap, xyxy=CORRECTED, status="confirmed", **{"class": "insulator_broken"})
    assert body["xyxy"] == CORRECTED and body["class_key"] == "insulator_broken"
    best = body["evidence"][0]
    assert (best["xyxy"], best["origin"], best["detected_xyxy"]) == (
        CORRECTED, "corrected", CAP_BOX)
    assert [e["origin"] for e in body["evidence"][1:]] == ["detected"]  # the other photo's box
    (sighting,) = body["sightings_list"]
    assert sighting["evidence"][0]["xyxy"] == CORRECTED
    assert sighting["evidence"][0]["origin"] == "corrected"
    again = api.get(f"/defects/{cap}", "reviewer").json()
    assert again["xyxy"] == CORRECTED and again["evidence"][0]["xyxy"] == CORRECTED
    (event,) = api.get(f"/defects/{cap}/history", "reviewer").json()
    assert event["actor"] == "test-reviewer (reviewer)"
    assert event["changes"]["xyxy"] == [CAP_BOX, CORRECTED]
    assert event["changes"]["class"] == ["insulator_missing_cap", "insulator_broken"]
    # corrected again: the detector's box stays what the detector said
    body = _review(api, cap, xyxy=[60, 30, 130, 90])
    assert body["evidence"][0]["detected_xyxy"] == CAP_BOX
    # the crop follows the corrected box
    assert api.get(f"/defects/{cap}/crop", "reviewer").status_code == 200
    # the same box again changes nothing and records nothing
    _review(api, cap, xyxy=[60, 30, 130, 90])
    assert len(api.get(f"/defects/{cap}/history", "reviewer").json()) == 2


@pytest.mark.parametrize(("box", "message"), [
    ([10, 10, 5, 20], "x1 < x2"),
    ([10, 30, 20, 20], "y1 < y2"),
    ([10, 10, 10, 20], "empty"),
    ([0, 0, 321, 10], "outside the photo (0..320 x 0..240"),
    ([-1, 0, 10, 10], "outside the photo"),
    ([0, 0, 10, 241], "outside the photo"),
    ([1, 2, 3], None),
    ([1, 2, 3, 4, 5], None),
    (["a", 2, 3, 4], None),
    ([True, 2, 3, 4], None),
    (None, None),
])
def test_a_bad_box_is_422_and_changes_nothing(api: Api, box: Any, message: str | None) -> None:
    f = _fly(api, LINE, "2026-11-20", 1)
    cap = f["items"]["insulator_missing_cap"]
    body = {"xyxy": box} if box is not None else {"xyxy": [1, 2, 3, 4], "class": "no_such"}
    r = api.patch(f"/defects/{cap}", "reviewer", json=body)
    assert r.status_code == 422, r.text
    if message is not None:
        assert message in r.json()["detail"]
    item = api.get(f"/defects/{cap}", "reviewer").json()
    assert item["xyxy"] == CAP_BOX and item["evidence"][0]["origin"] == "detected"
    assert api.get(f"/defects/{cap}/history", "reviewer").json() == []


def test_a_non_finite_box_is_422(api: Api) -> None:
    f = _fly(api, LINE, "2026-11-20", 1)
    cap = f["items"]["insulator_missing_cap"]
    for raw in (b'{"xyxy": [NaN, 1, 2, 3]}', b'{"xyxy": [1e999, 1, 2, 3]}'):
        r = api.patch(f"/defects/{cap}", "reviewer", content=raw,
                      headers={"Content-Type": "application/json"})
        assert r.status_code == 422, r.text


# ------------------------------------------------------------------------- drawing a box

def test_a_drawn_box_becomes_a_confirmed_placed_item_with_a_sighting(api: Api) -> None:
    api.put(f"/lines/{LINE}/ledger", content=LEDGER_CSV.encode(),
            headers={"Content-Type": "text/csv"})
    f = _fly(api, LINE, "2026-11-20", 2)
    photo = f["images"][1]
    r = api.post(f"/images/{photo}/annotations", "reviewer",
                 json={"class": "pin_missing", "xyxy": DRAWN, "note": "behind the clamp"})
    assert r.status_code == 201, r.text
    item = r.json()
    assert (item["status"], item["class_key"], item["severity"]) == (
        "confirmed", "pin_missing", "serious")
    assert (item["image_id"], item["xyxy"], item["confidence"]) == (photo, DRAWN, 1.0)
    assert item["evidence"] == [{"image_id": photo, "xyxy": DRAWN, "confidence": 1.0,
                                 "detected_class": "pin_missing", "origin": "drawn",
                                 "detected_xyxy": None}]
    # placed like a detection: the same tower as the detected items of that photo
    detected = api.get(f"/defects/{f['items']['bird_nest']}", "reviewer").json()
    assert item["placement"] == "tower" and item["tower"] == detected["tower"] == "N12"
    assert item["lat"] is not None and item["line"] == LINE
    assert item["confirmed_at"] is not None and item["due_at"] is not None
    assert (item["first_seen"], item["last_seen"], item["sightings"]) == (
        "2026-11-20", "2026-11-20", 1)
    assert [s["flight_id"] for s in item["sightings_list"]] == [f["id"]]
    queue = api.get("/defects", "reviewer", params={"status": "confirmed"}).json()["items"]
    assert [d["id"] for d in queue] == [item["id"]]
    flight_items = api.get("/defects", "reviewer", params={"flight": f["id"]}).json()
    assert flight_items["total"] == 3
    assert api.get(f"/flights/{f['id']}").json()["defects"] == 3
    (event,) = api.get(f"/defects/{item['id']}/history", "reviewer").json()
    assert event["note"] == f"drawn by test-reviewer (reviewer) on photo {photo}; behind the clamp"
    assert event["changes"]["status"] == [None, "confirmed"]
    assert event["changes"]["xyxy"] == [None, DRAWN]
    # in the flight's report like any other item
    report = api.get(f"/flights/{f['id']}/report?format=json").json()
    assert item["id"] in [d["id"] for d in report["defects"]]


def test_drawing_refuses_what_cannot_be_an_item(api: Api, held_api: Api) -> None:
    f = _fly(api, LINE, "2026-11-20", 1)
    photo = f["images"][0]
    url = f"/images/{photo}/annotations"
    ok = {"class": "bird_nest", "xyxy": DRAWN}
    assert api.post("/images/999999/annotations", "reviewer", json=ok).status_code == 404
    assert api.post(url, "uploader", json=ok).status_code == 403
    for body, text in (({"class": "no_such", "xyxy": DRAWN}, "unknown class"),
                       ({"class": "insulator", "xyxy": DRAWN}, "component"),
                       ({"class": "bird_nest", "xyxy": [0, 0, 400, 10]}, "outside the photo"),
                       ({"class": "bird_nest", "xyxy": [5, 5, 5, 9]}, "empty")):
        r = api.post(url, "reviewer", json=body)
        assert r.status_code == 422 and text in r.json()["detail"], r.text
    assert api.post(url, "reviewer", json={"class": "bird_nest"}).status_code == 422
    assert api.get("/defects", "reviewer").json()["total"] == 2
    # a photo of a flight still queued: 409
    queued = held_api.new_flight()
    held_api.upload(queued["id"], [("a.jpg", dji_jpeg(seed=5))])
    held_api.post(f"/flights/{queued['id']}/submit", "uploader")
    (image,) = held_api.get(f"/flights/{queued['id']}/images").json()["items"]
    r = held_api.post(f"/images/{image['id']}/annotations", "reviewer", json=ok)
    assert r.status_code == 409, r.text


# ------------------------------------------------------------------------- the export


@dataclass(frozen=True)
class Reviewed:
    """Four flights on four lines (so their items stay apart), reviewed so that every kind of
    photo is there."""

    a: dict[str, Any]  # cap confirmed (corrected on its best photo), nest rejected, pin drawn
    b: dict[str, Any]  # every item rejected: a negative photo
    c: dict[str, Any]  # nothing reviewed
    d: dict[str, Any]  # nest rejected, cap unreviewed: not a negative (the cap may be there)
    pin: int


def reviewed(api: Api) -> Reviewed:
    a = _fly(api, "L-A", "2026-11-20", 3)
    b = _fly(api, "L-B", "2026-11-21", 1, seed=10)
    c = _fly(api, "L-C", "2026-11-22", 1, seed=20)
    d = _fly(api, "L-D", "2026-11-23", 1, seed=30)
    _review(api, a["items"]["insulator_missing_cap"], status="confirmed", xyxy=CORRECTED)
    _review(api, a["items"]["bird_nest"], status="rejected")
    r = api.post(f"/images/{a['images'][1]}/annotations", "reviewer",
                 json={"class": "pin_missing", "xyxy": DRAWN})
    assert r.status_code == 201, r.text
    for item in b["items"].values():
        _review(api, item, status="rejected")
    _review(api, d["items"]["bird_nest"], status="rejected")
    return Reviewed(a, b, c, d, r.json()["id"])


def expected_boxes(r: Reviewed) -> dict[int, list[tuple[str, list[float]]]]:
    """Photo id -> its positives (class, pixel box), as the review made them."""
    a1, a2, a3 = r.a["images"]
    cap = "insulator_missing_cap"
    return {a1: [(cap, CORRECTED)], a2: [(cap, CAP_BOX), ("pin_missing", DRAWN)],
            a3: [(cap, CAP_BOX)], r.b["images"][0]: []}


def _export(api: Api, role: str = "reviewer", **params: Any) -> httpx.Response:
    r = api.get("/datasets/export", role, params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    return r  # type: ignore[no-any-return]


def _unzip(data: bytes, out: Path) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        zf.extractall(out)
        return sorted(zf.namelist())


def _photo_id(path: Path) -> int:
    return int(path.name.split("_")[1])  # f{flight}_{image}_{name}


def _read_back(samples: Any) -> dict[int, list[tuple[str, list[float]]]]:
    return {_photo_id(s.image_path): sorted(
        (b.class_name, [round(v, 2) for v in (b.x1, b.y1, b.x2, b.y2)]) for b in s.boxes)
        for s in samples}


def _sorted(boxes: dict[int, list[tuple[str, list[float]]]]) -> dict[int, Any]:
    return {k: sorted(v) for k, v in boxes.items()}


def test_yolo_export_reads_back_exactly_the_review(api: Api, tmp_path: Path) -> None:
    r = reviewed(api)
    names = _unzip(_export(api, format="yolo").content, tmp_path)
    a1 = r.a["images"][0]
    assert f"images/f{r.a['id']}_{a1}_DJI_0000.JPG" in names
    assert {"data.yaml", "manifest.json"} <= set(names)
    assert len([n for n in names if n.startswith("labels/")]) == 4
    dataset = read_yolo(tmp_path)
    assert not [i for i in dataset.issues if i.kind.is_error], dataset.issues
    from linepatrol import taxonomy

    assert dataset.source_names == [c.key for c in taxonomy.CLASSES]
    assert _read_back(dataset.samples) == _sorted(expected_boxes(r))
    negative = tmp_path / "labels" / f"f{r.b['id']}_{r.b['images'][0]}_DJI_0010.txt"
    assert negative.read_text() == ""  # a negative: an empty label file
    data_yaml = (tmp_path / "data.yaml").read_text()
    assert "train: images\n" in data_yaml and "val: images\n" in data_yaml
    # the originals, byte for byte
    original = api.get(f"/images/{a1}").content
    assert (tmp_path / "images" / f"f{r.a['id']}_{a1}_DJI_0000.JPG").read_bytes() == original
    manifest = {m["image_id"]: m for m in json.loads((tmp_path / "manifest.json").read_text())}
    assert manifest[a1]["corrected"] == 1 and manifest[r.a["images"][1]]["drawn"] == 1
    assert manifest[r.b["images"][0]]["negative"] is True
    assert manifest[a1]["rejected"] == 1


def test_components_are_labelled_on_request_so_a_fine_tune_keeps_them(api: Api,
                                                                     tmp_path: Path) -> None:
    """Nobody reviews insulators (components are never items): ``components=true`` labels
    each exported photo's component boxes as the detector drew them, beside the review's."""
    r = reviewed(api)
    _unzip(_export(api, format="yolo", components="true").content, tmp_path)
    dataset = read_yolo(tmp_path)
    boxes = _read_back(dataset.samples)
    reviewed_only = _sorted(expected_boxes(r))
    for image_id, labels in boxes.items():
        insulators = [b for b in labels if b[0] == "insulator"]
        assert len(insulators) == 1  # the tiny model's insulator, on every exported photo
        assert sorted(b for b in labels if b[0] != "insulator") == reviewed_only[image_id]
    manifest = {m["image_id"]: m for m in json.loads((tmp_path / "manifest.json").read_text())}
    assert manifest[r.b["images"][0]]["components"] == 1
    assert manifest[r.b["images"][0]]["negative"] is True  # still no defect on it


def test_coco_export_reads_back_exactly_the_review(api: Api, tmp_path: Path) -> None:
    r = reviewed(api)
    names = _unzip(_export(api, format="coco").content, tmp_path)
    assert "annotations.json" in names
    coco = json.loads((tmp_path / "annotations.json").read_text())
    assert {i["id"] for i in coco["images"]} == set(expected_boxes(r))
    assert all((i["width"], i["height"]) == (320, 240) for i in coco["images"])
    dataset = read_coco(tmp_path / "annotations.json")
    assert not [i for i in dataset.issues if i.kind.is_error], dataset.issues
    assert _read_back(dataset.samples) == _sorted(expected_boxes(r))
    origins = sorted(a["origin"] for a in coco["annotations"])
    assert origins == ["corrected", "detected", "detected", "drawn"]


def test_label_studio_export_has_the_review_and_pre_annotations(api: Api, tmp_path: Path) -> None:
    r = reviewed(api)
    names = _unzip(_export(api, format="labelstudio").content, tmp_path)
    assert {"tasks.json", "label_config.xml"} <= set(names)
    tasks = {t["data"]["image_id"]: t for t in json.loads((tmp_path / "tasks.json").read_text())}
    d1 = r.d["images"][0]
    assert set(tasks) == {*expected_boxes(r), d1}
    for photo, boxes in expected_boxes(r).items():
        (annotation,) = tasks[photo]["annotations"]
        got = sorted((x["value"]["rectanglelabels"][0], [
            round(x["value"]["x"] * 3.2, 2), round(x["value"]["y"] * 2.4, 2),
            round((x["value"]["x"] + x["value"]["width"]) * 3.2, 2),
            round((x["value"]["y"] + x["value"]["height"]) * 2.4, 2)])
            for x in annotation["result"])
        assert got == sorted(boxes)
        assert "predictions" not in tasks[photo]
        assert (tmp_path / tasks[photo]["data"]["image"]).is_file()
    assert tasks[r.b["images"][0]]["annotations"] == [{"result": []}]  # the negative
    # the unreviewed cap of flight d is a pre-annotation, and d's photo is not a negative
    assert "annotations" not in tasks[d1]
    (prediction,) = tasks[d1]["predictions"]
    (result,) = prediction["result"]
    assert result["value"]["rectanglelabels"] == ["insulator_missing_cap"]
    assert result["score"] == pytest.approx(0.9) and result["type"] == "rectanglelabels"
    # status=new: the photos of unreviewed items, as tasks to label
    only_new = _unzip(_export(api, format="labelstudio", status="new").content, tmp_path / "n")
    tasks = json.loads((tmp_path / "n" / "tasks.json").read_text())
    assert sorted(t["data"]["image_id"] for t in tasks) == [r.c["images"][0], d1]
    assert len([n for n in only_new if n.startswith("images/")]) == 2


def test_export_filters_access_and_ranges(api: Api, tmp_path: Path) -> None:
    r = reviewed(api)
    assert api.get("/datasets/export", "uploader").status_code == 403
    assert api.get("/datasets/export", "admin").status_code == 200

    def photos(**params: Any) -> list[int]:
        data = _export(api, **params).content
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return sorted(int(n.split("_")[1]) for n in zf.namelist() if n.startswith("images/"))

    assert photos(line="L-B") == r.b["images"]
    assert photos(since="2026-11-21") == r.b["images"]  # c: nothing reviewed; d: no positive
    assert photos(status="rejected", line="L-A") == r.a["images"]
    assert photos(line="nowhere") == []
    assert api.get("/datasets/export", "reviewer", params={"format": "voc"}).status_code == 422

    # the same export twice: the same bytes and ETag; a range of it resumes a download
    first, second = _export(api), _export(api)
    assert first.content == second.content and first.headers["etag"] == second.headers["etag"]
    part = api.get("/datasets/export", "reviewer",
                   headers={"Range": "bytes=100-", "If-Range": first.headers["etag"]})
    assert part.status_code == 206 and part.content == first.content[100:]
    # a review changes the archive: a stale If-Range gets the whole new one
    _review(api, r.pin, xyxy=[200, 100, 240, 150])
    fresh = api.get("/datasets/export", "reviewer",
                    headers={"Range": "bytes=100-", "If-Range": first.headers["etag"]})
    assert fresh.status_code == 200 and fresh.headers["etag"] != first.headers["etag"]


# ------------------------------------------------------------------------- the command line


def serve(api: Api) -> AbstractContextManager[str]:
    """The test's app (started by its TestClient) on a loopback port, for real HTTP."""
    return browser.serve(api.client.app, lifespan="off")


def test_export_reviewed_command_downloads_resumes_and_unpacks(
        api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from linepatrol.cli import main

    r = reviewed(api)
    out = tmp_path / "out"
    token = api.tokens["reviewer"]
    with serve(api) as base:
        argv = ["data", "export-reviewed", "--server", base, "--token", token, "--out", str(out)]
        assert main(argv) == 0
        assert "unpacked data.yaml, images, labels, manifest.json" in capsys.readouterr().out
        assert _read_back(read_yolo(out).samples) == _sorted(expected_boxes(r))
        assert not (out / PART).exists()
        assert main(argv) == 2  # an export is there already
        assert "--overwrite" in capsys.readouterr().err
        assert main([*argv, "--overwrite", "--format", "coco", "--line", "L-B"]) == 0
        assert not (out / "labels").exists() and (out / "annotations.json").is_file()
        coco = read_coco(out / "annotations.json")
        assert _read_back(coco.samples) == {r.b["images"][0]: []}
        uploader = ["data", "export-reviewed", "--server", base, "--token",
                    api.tokens["uploader"], "--out", str(tmp_path / "u")]
        assert main(uploader) == 2 and "403" in capsys.readouterr().err

        # an interrupted download: the first half is there, the rest is fetched with Range
        whole = _export(api)
        resumed = tmp_path / "resumed"
        resumed.mkdir()
        part = resumed / PART
        part.write_bytes(whole.content[: len(whole.content) // 2])
        part.with_name(PART + ".etag").write_text(whole.headers["etag"])
        statuses: list[int] = []
        with api_client(base, token, event_hooks={
                "response": [lambda response: statuses.append(response.status_code)]}) as client:
            download(client, ExportRequest(), part)
            assert statuses == [206] and part.read_bytes() == whole.content
            # a stale partial file (the export changed since): started over, whole
            part.write_bytes(b"x" * 50)
            part.with_name(PART + ".etag").write_text('"stale"')
            download(client, ExportRequest(), part)
            assert statuses == [206, 200] and part.read_bytes() == whole.content
            # complete already (the unpack was interrupted): nothing more is fetched
            download(client, ExportRequest(), part)
            assert statuses[-1] == 416 and part.read_bytes() == whole.content
        assert unpack(part, resumed, overwrite=False) == ["data.yaml", "images", "labels",
                                                          "manifest.json"]
        assert _read_back(read_yolo(resumed).samples) == _sorted(expected_boxes(r))


def test_the_command_s_help_imports_no_http_client() -> None:
    """``linepatrol --help`` stays light: httpx comes with the service extra and is imported
    when the export runs."""
    code = ("import sys\nfrom linepatrol.cli import main\n"
            "try:\n    main(['data', 'export-reviewed', '--help'])\nexcept SystemExit:\n    pass\n"
            "bad = [m for m in ('httpx', 'fastapi') if m in sys.modules]\n"
            "assert not bad, bad")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "--server URL" in out.stdout and "resumed" in out.stdout


def test_archives_older_than_a_day_are_swept(tmp_path: Path) -> None:
    from linepatrol_service.export_zip import KEEP_S, sweep

    old, fresh, other = tmp_path / "a.zip", tmp_path / "b.zip", tmp_path / "keep.txt"
    for path in (old, fresh, other):
        path.write_bytes(b"x")
    now = time.time()
    os.utime(old, (now - KEEP_S - 5, now - KEEP_S - 5))
    os.utime(other, (now - KEEP_S - 5, now - KEEP_S - 5))
    sweep(tmp_path, now)
    assert not old.exists() and fresh.exists() and other.exists()
