"""Front end + back end: ``linepatrol edge run`` against a real server on loopback, with a tiny
model on both ends; the edge fields of the upload API; the camera client's request."""

from __future__ import annotations

import datetime as dt
import io
import json
import sqlite3
import zipfile
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from linepatrol.edge.client import CameraTarget, EdgeClient, SentKind
from linepatrol.edge.spool import EdgeVerdict, SpooledPhoto, SpoolState
from ui import browser

from .conftest import BOXES, NAMES, Api
from .test_review_export import serve


@pytest.fixture
def ui_api(tmp_path: Path, tiny_model: Path) -> Iterator[Api]:
    """The conftest's app, with the UI (for the flight page)."""
    from fastapi.testclient import TestClient

    from linepatrol_service.app import create_app
    from linepatrol_service.services import Services
    from support.service_settings import make_settings

    settings = make_settings(tmp_path / "data", tiny_model)
    services = Services(settings)
    with TestClient(create_app(settings, services, ui=True)) as client:
        yield Api(client, services)


def brightness_model(path: Path) -> Path:
    """The conftest's tiny model whose scores scale with the photo's mean brightness: a bright
    photo has the three boxes, a dark one none over the threshold (the letterbox's grey
    padding keeps a black photo's mean at about 0.11)."""
    nc = len(NAMES)
    coords = np.zeros((1, 4 + nc, 16), np.float32)
    scores = np.zeros_like(coords)
    for i, (cx, cy, w, h, c, s) in enumerate(BOXES):
        coords[0, 0:4, i] = (cx, cy, w, h)
        scores[0, 4 + c, i] = s
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["m4"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Squeeze", ["m4", "ax"], ["m"]),
        helper.make_node("Mul", ["m", "scores"], ["scaled"]),
        helper.make_node("Add", ["scaled", "coords"], ["output0"]),
    ]
    inits = [numpy_helper.from_array(coords, "coords"), numpy_helper.from_array(scores, "scores"),
             numpy_helper.from_array(np.array([3], np.int64), "ax")]
    graph = helper.make_graph(
        nodes, "bright", [helper.make_tensor_value_info("images", TensorProto.FLOAT,
                                                        ["batch", 3, 64, 64])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["batch", 4 + nc, 16])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in {"names": str(dict(enumerate(NAMES))), "imgsz": "[64, 64]",
                       "stride": "32", "task": "detect"}.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))
    return path


def plain_jpeg(level: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    img = np.clip(level + rng.integers(-8, 8, (240, 320, 3)), 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return bytes(buf)


@pytest.fixture
def cpu_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINEPATROL_PROVIDERS", "cpu")
    monkeypatch.setenv("LINEPATROL_INTRA_OP_THREADS", "1")


def test_edge_run_sends_findings_once_through_an_outage_and_the_back_end_agrees(
        ui_api: Api, tmp_path: Path, cpu_only: None, capsys: pytest.CaptureFixture[str]) -> None:
    from linepatrol.cli import main
    from linepatrol.edge.spool import Spool
    from ui.test_pages import sign_in

    api = ui_api
    card = tmp_path / "card"
    card.mkdir()
    for name, level, seed in (("DJI_0001.JPG", 235, 1), ("DJI_0002.JPG", 10, 2),
                              ("DJI_0003.JPG", 240, 3)):
        (card / name).write_bytes(plain_jpeg(level, seed))
    flight = api.new_flight()["id"]
    spool = tmp_path / "spool"

    def edge(server: str) -> int:
        return main(["edge", "run", str(card), "--flight", str(flight), "--server", server,
                     "--token", api.tokens["uploader"], "--model",
                     str(brightness_model(tmp_path / "edge.onnx")), "--tile", "off",
                     "--spool", str(spool), "--device", "rc-07"])

    # the server is away: everything is judged and spooled, nothing lost
    assert edge(f"http://127.0.0.1:{browser.free_port()}") == 75
    assert "3 seen, 0 sent, 1 skipped on the edge, 2 waiting" in capsys.readouterr().err
    assert api.get(f"/flights/{flight}/images").json()["total"] == 0

    with serve(api) as base:
        assert edge(base) == 0
        assert "3 seen, 2 sent, 1 skipped on the edge, 0 waiting" in capsys.readouterr().err
        assert edge(base) == 0  # run again: nothing is sent twice
        # a crash after the server took a photo and before the spool marked it: re-sent, and
        # the server answers the same image id (content hash per flight)
        with Spool(spool) as s:
            first = next(p for p in s.photos(f"flight:{flight}") if p.image_id)
        with sqlite3.connect(spool / Spool.FILE) as db:
            db.execute("UPDATE photos SET state = 'pending', image_id = NULL WHERE sha256 = ?",
                       (first.sha256,))
        assert edge(base) == 0
        with Spool(spool) as s:
            assert s.get(f"flight:{flight}", first.sha256).image_id == first.image_id  # type: ignore[union-attr]

    rows = api.get(f"/flights/{flight}/images").json()["items"]
    assert sorted(r["filename"] for r in rows) == ["DJI_0001.JPG", "DJI_0003.JPG"]
    for row in rows:
        assert row["edge"]["model"] == "edge"
        assert {d["class"] for d in row["edge"]["detections"]} == set(NAMES)
        assert row["edge"]["agreement"] is None  # not processed yet
    summary = api.get(f"/flights/{flight}").json()["edge"]
    assert summary["photos"] == 2 and summary["seen_on_edge"] == 3
    assert summary["skipped_on_edge"] == 1 and summary["devices"] == ["rc-07"]
    assert summary["processed"] == 0 and summary["agreement_rate"] is None

    assert api.post(f"/flights/{flight}/submit", "uploader").status_code == 200
    done = api.wait(flight)
    assert done["status"] == "done"
    assert done["edge"]["processed"] == 2 and done["edge"]["agreed"] == 2
    assert done["edge"]["agreement_rate"] == 1.0
    assert (done["edge"]["matched"], done["edge"]["edge_only"], done["edge"]["back_only"]) \
        == (4, 0, 0)  # a cap and a nest per photo; the insulator is a component
    for row in api.get(f"/flights/{flight}/images").json()["items"]:
        assert row["edge"]["agreement"] == {"agreed": True, "matched": 2, "edge_only": 0,
                                            "back_only": 0}
    sign_in(api.client, api.tokens["admin"])
    page = api.client.get(f"/ui/flights/{flight}")
    assert page.status_code == 200 and 'id="edge"' in page.text
    assert "2 of 2 photos" in page.text


def _edge(model: str, *boxes: tuple[str, list[float]]) -> str:
    return json.dumps({"model": model, "detections": [
        {"class": c, "confidence": 0.6, "xyxy": xyxy} for c, xyxy in boxes]})


def test_the_upload_takes_edge_boxes_per_file_and_checks_them(api: Api) -> None:
    flight = api.new_flight()["id"]
    url = f"/flights/{flight}/images"
    photo = ("files", ("a.jpg", plain_jpeg(200, 9), "image/jpeg"))
    bad = api.post(url, "uploader", files=[photo], data={"edge_detections": '{"model": 1}'})
    assert bad.status_code == 422 and "edge_detections" in bad.text
    two = api.post(url, "uploader", files=[photo],
                   data={"edge_detections": [_edge("m"), _edge("m")]})
    assert two.status_code == 422 and "one per file" in two.text
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("b.jpg", plain_jpeg(200, 10))
    zipped = api.post(url, "uploader", data={"edge_detections": _edge("m")},
                      files=[("files", ("b.zip", archive.getvalue(), "application/zip"))])
    assert zipped.json()["files"][0]["status"] == "rejected"
    # the edge saw a nest where the back end (conftest's model) boxes a cap and a nest
    ok = api.post(url, "uploader", files=[photo],
                  data={"edge_detections": _edge("m", ("bird_nest", [0, 0, 10, 10]))})
    assert ok.json()["files"][0]["status"] == "accepted", ok.text
    again = api.post(url, "uploader", files=[photo], data={"edge_detections": _edge("other")})
    assert again.json()["files"][0]["image_id"] == ok.json()["files"][0]["image_id"]
    s = api.post(f"/flights/{flight}/edge-summary", "uploader",
                 json={"device": "d1", "model": "m", "seen": 5, "uploaded": 1, "skipped": 4})
    assert s.status_code == 200 and s.json()["skipped_on_edge"] == 4
    s = api.post(f"/flights/{flight}/edge-summary", "uploader",  # replaces d1's counts
                 json={"device": "d1", "model": "m", "seen": 6, "uploaded": 1, "skipped": 5})
    assert s.json()["seen_on_edge"] == 6
    assert api.post(f"/flights/{flight}/edge-summary", "uploader",
                    json={"device": "d1", "model": "m", "seen": -1, "uploaded": 0,
                          "skipped": 0}).status_code == 422
    api.post(f"/flights/{flight}/submit", "uploader")
    done = api.wait(flight)
    assert done["edge"]["photos"] == 1 and done["edge"]["models"] == ["m"]
    row = api.get(f"/flights/{flight}/images").json()["items"][0]
    assert row["edge"]["model"] == "m"  # the duplicate changed nothing
    assert row["edge"]["agreement"] == {"agreed": True, "matched": 0, "edge_only": 1,
                                        "back_only": 2}


def test_the_camera_upload_sends_the_file_its_capture_time_and_the_edge_boxes(
        tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"image_id": 41, "camera_id": "CAM-1"})

    photo_path = tmp_path / "cam.jpg"
    photo_path.write_bytes(plain_jpeg(100, 1))
    taken = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
    photo = SpooledPhoto(target="camera:CAM-1", sha256="x", path=photo_path, name="cam.jpg",
                         verdict=EdgeVerdict.UPLOAD, reason="proof of coverage",
                         state=SpoolState.PENDING, detections=[], model="small",
                         captured_at=taken)
    with EdgeClient("http://cameras.test", "tok",
                    transport=httpx.MockTransport(handler)) as client:
        sent = client.upload(CameraTarget("CAM-1"), photo)
    assert sent.kind is SentKind.ACKED and sent.image_id == 41
    request = seen[0]
    assert request.url.path == "/api/v1/cameras/CAM-1/images"
    assert request.headers["authorization"] == "Bearer tok"
    body = request.read()
    assert b'name="file"; filename="cam.jpg"' in body
    assert b'name="captured_at"\r\n\r\n2026-12-01T09:30:00+00:00' in body
    assert b'{"model": "small", "detections": []}' in body


def test_the_camera_edge_summary_goes_to_the_camera_route() -> None:
    from linepatrol.edge.client import EdgeSummary, FlightTarget

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    summary = EdgeSummary(device="cam-box", model="small", seen=9, uploaded=1, skipped=8)
    with EdgeClient("http://cameras.test", "tok",
                    transport=httpx.MockTransport(handler)) as client:
        assert client.report(CameraTarget("CAM-1"), summary).kind is SentKind.ACKED
        assert client.report(FlightTarget(12), summary).kind is SentKind.ACKED
    assert [r.url.path for r in seen] == ["/api/v1/cameras/CAM-1/edge-summary",
                                          "/api/v1/flights/12/edge-summary"]
    assert json.loads(seen[0].read()) == {"device": "cam-box", "model": "small", "seen": 9,
                                          "uploaded": 1, "skipped": 8}
