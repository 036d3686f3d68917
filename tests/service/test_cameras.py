"""Fixed corridor cameras (#16): the registry, device tokens, photo pushes, their own queue,
and the k-of-n hazard items their photos raise."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from linepatrol.cli import main as cli
from linepatrol_service.camera_hazards import update_camera_hazards
from linepatrol_service.domain import DefectStatus, PhotoStatus
from linepatrol_service.models import Camera, CameraEdgeSummary, Defect, Image
from support.tiny_onnx import make_yolo_onnx

from .conftest import Api, make_settings, open_api
from .photos import dji_jpeg, jpeg, png_bomb_header
from .support_cameras import CAM

T0 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def hazard_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sees one excavator in the lower middle of every photo (and nothing else)."""
    path = tmp_path_factory.mktemp("hazard") / "excavator.onnx"
    return make_yolo_onnx(path, ["excavator", "bird_nest"], [(32.0, 44.0, 12.0, 10.0, 0, 0.9)])


@pytest.fixture
def cam_api(tmp_path: Path, hazard_model: Path) -> Iterator[Api]:
    yield from open_api(make_settings(tmp_path / "data", hazard_model, batch_size=4))


def _register(api: Api, **kw: Any) -> dict[str, Any]:
    r = api.post("/cameras", json={**CAM, **kw})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _device(api: Api, camera: str = "CAM-1") -> str:
    r = api.post("/tokens", json={"role": "device", "name": f"dev-{camera}", "camera": camera})
    assert r.status_code == 201, r.text
    assert r.json()["camera_id"] == camera
    return str(r.json()["token"])


def _push(api: Api, token: str, data: bytes, at: dt.datetime | str | None = T0,
          camera: str = "CAM-1") -> Any:
    form = {} if at is None else {"captured_at": at if isinstance(at, str) else at.isoformat()}
    return api.client.post(f"/api/v1/cameras/{camera}/images",
                           headers={"Authorization": f"Bearer {token}"},
                           files={"file": ("snap.jpg", data, "image/jpeg")}, data=form)


def _wait_image(api: Api, image_id: int, timeout: float = 30.0,
                idle: bool = True) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = api.get(f"/images/{image_id}/meta").json()
        if body["status"] in ("done", "failed"):
            if idle:  # its hazards are taken in after the photo's detections are committed
                assert api.services.dispatcher.wait_idle(timeout)  # type: ignore[union-attr]
            return dict(body)
        time.sleep(0.05)
    raise AssertionError(f"image {image_id} not processed")


def _camera_items(api: Api, status: str = "") -> list[dict[str, Any]]:
    items = api.get(f"/defects?limit=100{status}").json()["items"]
    return [d for d in items if d["camera_id"] == "CAM-1"]


def test_registry_api(held_api: Api):
    api = held_api
    body = _register(api)
    assert body["id"] == "CAM-1" and body["created_by"] == "test-admin"
    assert api.post("/cameras", json=CAM).status_code == 409
    for bad in ({"hfov_deg": None}, {"lat": 91}, {"id": "bad id/"},
                {"width": 0}):
        r = api.post("/cameras", json={**CAM, "id": "CAM-9", **bad})
        assert r.status_code == 422, (bad, r.text)
    assert api.post("/cameras", "reviewer", json={**CAM, "id": "CAM-2"}).status_code == 403
    for role in ("uploader", "reviewer", "admin"):
        assert [c["id"] for c in api.get("/cameras", role).json()] == ["CAM-1"]
    assert api.get("/cameras/CAM-1", "reviewer").json()["heading"] == 45.0
    assert api.get("/cameras/CAM-2").status_code == 404
    assert api.call("DELETE", "/cameras/CAM-1", "reviewer").status_code == 403
    assert api.call("DELETE", "/cameras/CAM-1").status_code == 204
    assert api.get("/cameras/CAM-1").status_code == 404
    page = api.client.get("/ui/cameras")  # no UI mounted in this app: the API alone
    assert page.status_code == 404


def test_device_token_pushes_to_its_camera_only(held_api: Api):
    api = held_api
    _register(api)
    _register(api, id="CAM-2")
    r = api.post("/tokens", json={"role": "device", "name": "d"})
    assert r.status_code == 422 and "camera" in r.text
    r = api.post("/tokens", json={"role": "uploader", "name": "u", "camera": "CAM-1"})
    assert r.status_code == 422
    r = api.post("/tokens", json={"role": "device", "name": "d", "camera": "CAM-7"})
    assert r.status_code == 404 and "no camera" in r.text
    token = _device(api)
    me = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["role"] == "device" and me["permissions"] == ["cameras:push"]

    first = _push(api, token, jpeg(seed=1))
    assert first.status_code == 202, first.text
    body = first.json()
    assert body["camera_id"] == "CAM-1" and body["duplicate"] is False
    again = _push(api, token, jpeg(seed=1), at=T0 + dt.timedelta(minutes=1))
    assert again.status_code == 202
    assert again.json()["image_id"] == body["image_id"] and again.json()["duplicate"] is True
    assert _push(api, token, jpeg(seed=2), camera="CAM-2").status_code == 403
    assert _push(api, api.tokens["admin"], jpeg(seed=2), camera="CAM-2").status_code == 202
    assert _push(api, api.tokens["uploader"], jpeg(seed=3)).status_code == 403
    headers = {"Authorization": f"Bearer {token}"}
    for url in ("/api/v1/flights", "/api/v1/cameras", "/api/v1/defects"):
        assert api.client.get(url, headers=headers).status_code == 403
    assert api.client.post("/api/v1/flights", headers=headers,
                           json={"line": "L", "date": "2026-12-01"}).status_code == 403
    # the photo is a camera's: readers see it, with its camera and time; uploaders do not
    meta = api.get(f"/images/{body['image_id']}/meta", "reviewer").json()
    assert meta["camera_id"] == "CAM-1" and meta["flight_id"] is None
    assert meta["captured_at"].startswith("2026-12-01T10:00:00")
    assert api.get(f"/images/{body['image_id']}/meta", "uploader").status_code == 404


def test_bad_pushes_get_a_clear_4xx(tmp_path: Path, tiny_model: Path):
    small, big = jpeg(seed=1), jpeg(1600, 1200, seed=5)
    assert len(big) > len(small) + 1000
    settings = make_settings(tmp_path / "data", tiny_model, max_file_bytes=len(small) + 1000)
    for api in open_api(settings):
        _register(api)
        token = _device(api)
        assert _push(api, token, jpeg(seed=1), at=None).status_code == 422
        r = _push(api, token, jpeg(seed=1), at="yesterday")
        assert r.status_code == 422 and "ISO 8601" in r.text
        r = _push(api, token, b"not a photo at all")
        assert r.status_code == 422, r.text
        r = _push(api, token, png_bomb_header())
        assert r.status_code == 422, r.text
        r = _push(api, token, big)
        assert r.status_code == 413, r.text
        r = api.client.post("/api/v1/cameras/CAM-1/images",
                            headers={"Authorization": f"Bearer {token}"},
                            data={"captured_at": T0.isoformat()})
        assert r.status_code == 415 and "multipart" in r.text  # a form without the photo
        with api.services.sessions() as s:
            assert s.scalars(select(Image)).all() == []


def test_camera_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    data = str(tmp_path / "d")
    args = ["--name", "N2 east", "--line", "L1", "--tower", "N2", "--lat", "30.52", "--lon",
            "114.31", "--alt", "80", "--heading", "45", "--pitch", "-10", "--hfov", "60",
            "--width", "2560", "--height", "1440", "--data", data]
    assert cli(["camera", "add", "CAM-1", *args]) == 0
    assert cli(["camera", "add", "CAM-1", *args]) == 2  # registered already
    assert "registered already" in capsys.readouterr().err
    no_optics = [a for a in args if a not in ("--hfov", "60")]
    assert cli(["camera", "add", "CAM-2", *no_optics]) == 2
    assert "hfov_deg or focal_px" in capsys.readouterr().err
    assert cli(["camera", "list", "--data", data]) == 0
    assert "CAM-1\tL1\tN2" in capsys.readouterr().out
    assert cli(["token", "create", "--role", "device", "--name", "d", "--data", data]) == 2
    assert "needs its camera" in capsys.readouterr().err
    assert cli(["token", "create", "--role", "admin", "--camera", "CAM-1", "--name", "a",
                "--data", data]) == 2
    assert cli(["token", "create", "--role", "device", "--camera", "CAM-3", "--name", "d",
                "--data", data]) == 2
    assert "no camera" in capsys.readouterr().err
    assert cli(["token", "create", "--role", "device", "--camera", "CAM-1", "--name", "d",
                "--data", data]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("lp_")
    assert cli(["camera", "remove", "CAM-1", "--data", data]) == 0
    assert cli(["camera", "remove", "CAM-1", "--data", data]) == 2
    capsys.readouterr()
    assert cli(["camera", "list", "--data", data]) == 0
    assert "CAM-1" not in capsys.readouterr().out


def test_camera_photos_are_posed_from_the_registry_and_raise_k_of_n(cam_api: Api):
    api = cam_api
    _register(api)
    token = _device(api)
    first = _push(api, token, jpeg(seed=1)).json()
    meta = _wait_image(api, first["image_id"])
    assert meta["status"] == "done"
    assert [d["class"] for d in meta["detections"]] == ["excavator"]
    pose = meta["pose"]
    assert (pose["lat"], pose["lon"], pose["rel_alt"]) == (30.52, 114.31, 80.0)
    assert (pose["yaw"], pose["pitch"], pose["intrinsics_source"]) == (45.0, -10.0,
                                                                      "camera_registry")
    assert pose["fx"] == pytest.approx(160 / 0.57735, rel=1e-3)  # 320 px over 60 degrees
    assert _camera_items(api) == []  # seen once: nothing yet
    second = _push(api, token, jpeg(seed=2), at=T0 + dt.timedelta(minutes=1)).json()
    _wait_image(api, second["image_id"])
    items = _camera_items(api)
    assert len(items) == 1
    item = items[0]
    assert item["class_key"] == "excavator" and item["status"] == "new"
    assert item["flight_id"] is None and item["line"] == "500kV 江城线"
    assert item["image_id"] == second["image_id"] and item["lat"] is not None
    assert item["last_seen_at"].startswith("2026-12-01T10:01:00")
    third = _push(api, token, jpeg(seed=3), at=T0 + dt.timedelta(minutes=2)).json()
    _wait_image(api, third["image_id"])
    items = _camera_items(api)
    assert len(items) == 1 and items[0]["sightings"] == 2
    detail = api.get(f"/defects/{item['id']}").json()
    assert detail["flight_date"] == "2026-12-01"
    history = api.get(f"/defects/{item['id']}/history").json()
    assert "raised by camera CAM-1: seen in 2 of its last 3 photos" in history[0]["note"]
    assert api.get(f"/defects/{item['id']}/crop", "reviewer").status_code == 200


def _photo(s: Any, sha: str, at: dt.datetime, boxes: list[tuple[float, ...]]) -> Image:
    """A processed camera photo with the given excavator boxes (x1, y1, x2, y2)."""
    image = Image(camera_id="CAM-1", filename="x.jpg", sha256=sha, size=1, format="JPEG",
                  width=320, height=240, status=PhotoStatus.DONE, captured_at=at,
                  pose=None, pose_error="test", detections=[
                      {"class": "excavator", "confidence": 0.9, "xyxy": list(b)}
                      for b in boxes])
    s.add(image)
    s.flush()
    return image


def test_k_of_n_and_the_end_of_a_hazard(cam_api: Api):
    """The rules on stored photos: once raises nothing, 2 of 3 raises one item, and an item
    not seen for camera_hazard_end_after_s ends."""
    api = cam_api
    _register(api)
    services = api.services
    # a real pose for the geotagger: the registry's, through a real push
    pushed = _push(api, api.tokens["admin"], jpeg(seed=9), at=T0 - dt.timedelta(days=1)).json()
    _wait_image(api, pushed["image_id"])
    with services.sessions() as s:
        template = s.get(Image, pushed["image_id"])
        assert template is not None
        pose, sha = template.pose, template.sha256
    box = (150.0, 160.0, 190.0, 190.0)
    end_after = services.settings.camera_hazard_end_after_s
    steps: list[tuple[dt.timedelta, list[tuple[float, ...]]]] = [
        (dt.timedelta(minutes=0), [box]),  # seen once
        (dt.timedelta(minutes=1), []),
        (dt.timedelta(minutes=2), []),  # window [-, -, seen]: still nothing
        (dt.timedelta(minutes=3), [box]),  # [seen, -, -]: once in the last 3
        (dt.timedelta(minutes=4), []),
        (dt.timedelta(minutes=5), [box]),  # [seen, -, seen]: 2 of 3 -> one item
    ]
    counted: list[list[Defect]] = []
    with services.sessions.begin() as s:
        camera = s.get(Camera, "CAM-1")
        assert camera is not None
        # the pushed photo saw the excavator elsewhere in the frame; its items are out of scope
        for item in s.scalars(select(Defect)):
            s.delete(item)
        for i, (offset, boxes) in enumerate(steps):
            image = _photo(s, f"{sha[:-2]}{i:02d}", T0 + offset, boxes)
            image.pose, image.pose_error = pose, None
            counted.append(update_camera_hazards(s, services, camera, image))
    assert [len(c) for c in counted] == [0, 0, 0, 0, 0, 1]
    with services.sessions.begin() as s:
        camera = s.get(Camera, "CAM-1")
        assert camera is not None
        later = T0 + dt.timedelta(minutes=5, seconds=end_after - 10)
        image = _photo(s, f"{sha[:-2]}90", later, [])
        image.pose, image.pose_error = pose, None
        assert len(update_camera_hazards(s, services, camera, image)) == 1  # not yet
        image = _photo(s, f"{sha[:-2]}91", later + dt.timedelta(seconds=20), [])
        image.pose, image.pose_error = pose, None
        assert update_camera_hazards(s, services, camera, image) == []
        item = s.scalars(select(Defect).where(Defect.camera_id == "CAM-1")).one()
        assert item.status == DefectStatus.ENDED
    history = api.get(f"/defects/{item.id}/history").json()
    assert history[-1]["changes"] == {"status": ["new", "ended"]}
    # a reviewer may still close it
    r = api.patch(f"/defects/{item.id}", "reviewer", json={"status": "closed"})
    assert r.status_code == 200, r.text


def test_a_camera_photo_does_not_wait_for_a_queued_flight(tmp_path: Path, hazard_model: Path):
    settings = make_settings(tmp_path / "data", hazard_model, batch_size=1, throttle_s=0.25)
    for api in open_api(settings):
        _register(api)
        token = _device(api)
        flight = api.new_flight()
        api.upload(flight["id"], [(f"{i}.jpg", dji_jpeg(seed=i)) for i in range(16)])
        api.post(f"/flights/{flight['id']}/submit", "uploader")
        deadline = time.monotonic() + 30
        while api.get(f"/flights/{flight['id']}").json()["progress"]["done"] < 1:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        pushed = _push(api, token, jpeg(seed=1)).json()
        assert _wait_image(api, pushed["image_id"], timeout=10, idle=False)["status"] == "done"
        body = api.get(f"/flights/{flight['id']}").json()
        assert body["status"] == "processing" and body["progress"]["pending"] >= 8, body
        api.post(f"/flights/{flight['id']}/cancel", "uploader")
        assert api.services.dispatcher is not None


def test_cameras_page(tmp_path: Path, tiny_model: Path):
    from fastapi.testclient import TestClient

    from linepatrol_service.app import create_app
    from linepatrol_service.services import Services

    settings = make_settings(tmp_path / "data", tiny_model)
    services = Services(settings)
    with TestClient(create_app(settings, services, ui=True)) as client:
        api = Api(client, services)
        client.get("/ui/login")
        client.post("/ui/login", data={"token": api.tokens["reviewer"],
                                       "csrf": client.cookies.get("lp_login_csrf"),
                                       "next": "/ui/cameras"}, follow_redirects=False)
        empty = client.get("/ui/cameras")
        assert empty.status_code == 200 and "No camera yet" in empty.text
        _register(api)
        page = client.get("/ui/cameras")
        assert page.status_code == 200
        assert 'data-camera="CAM-1"' in page.text and "N2 east" in page.text
        assert "45° / -10°" in page.text and "320×240, 60°" in page.text


def test_photos_committed_without_their_hazard_step_are_stepped_later(cam_api: Api):
    """A worker killed between a batch's commit and the hazard step leaves the photos done but
    not stepped (``hazards_at`` empty): the next camera run steps them, once, in capture
    order, and the item is raised all the same."""
    from linepatrol_service.processing import take_hazard_steps

    api = cam_api
    _register(api)
    with api.services.sessions.begin() as s:
        for i in range(2):
            _photo(s, f"{i:064x}", T0 + dt.timedelta(minutes=i), [(100, 100, 180, 160)])
    assert _camera_items(api) == []
    assert take_hazard_steps(api.services) == 2
    items = _camera_items(api)
    assert len(items) == 1  # the second photo made it 2 of 3, as a live run would
    assert take_hazard_steps(api.services) == 0  # each photo is stepped once
    with api.services.sessions() as s:
        assert all(im.hazards_at is not None for im in s.scalars(select(Image)))


def test_the_camera_shows_front_end_and_back_end_agreement_and_the_edge_counts(
        tmp_path: Path, hazard_model: Path):
    """Per camera, as per flight: photos sent with edge boxes, processed, agreed (both ends
    found something, or both nothing), the rate; the edge's own counts by
    ``POST /cameras/{id}/edge-summary`` (its device, or an admin); on the API and the page."""
    from fastapi.testclient import TestClient

    from linepatrol_service.app import create_app
    from linepatrol_service.services import Services

    settings = make_settings(tmp_path / "data", hazard_model, batch_size=4)
    services = Services(settings)
    with TestClient(create_app(settings, services, ui=True)) as client:
        api = Api(client, services)
        _register(api)
        _register(api, id="CAM-2")
        token = _device(api)
        assert api.get("/cameras/CAM-1").json()["edge"] is None  # no edge involved yet
        edge_found = json.dumps({"model": "small-int8", "detections": [
            {"class": "excavator", "confidence": 0.7, "xyxy": [10, 10, 40, 40]}]})
        edge_empty = json.dumps({"model": "small-int8", "detections": []})
        ids = []
        for i, edge in enumerate((edge_found, edge_empty)):
            r = client.post("/api/v1/cameras/CAM-1/images",
                            headers={"Authorization": f"Bearer {token}"},
                            files={"file": ("snap.jpg", jpeg(seed=40 + i), "image/jpeg")},
                            data={"captured_at": (T0 + dt.timedelta(minutes=i)).isoformat(),
                                  "edge_detections": edge})
            assert r.status_code == 202, r.text
            ids.append(r.json()["image_id"])
        plain = _push(api, token, jpeg(seed=42), at=T0 + dt.timedelta(minutes=2))
        ids.append(plain.json()["image_id"])  # no edge boxes: not counted
        for image_id in ids:
            assert _wait_image(api, image_id)["status"] == "done"

        summary = {"device": "cam-box-1", "model": "small-int8", "seen": 30, "uploaded": 2,
                   "skipped": 28}
        url = "/api/v1/cameras/{}/edge-summary"
        device = {"Authorization": f"Bearer {token}"}
        r = client.post(url.format("CAM-1"), headers=device, json=summary)
        assert r.status_code == 200, r.text
        assert r.json()["skipped_on_edge"] == 28 and r.json()["devices"] == ["cam-box-1"]
        r = client.post(url.format("CAM-1"), headers=device, json={**summary, "seen": 31,
                                                                   "skipped": 29})
        assert r.json()["seen_on_edge"] == 31  # replaces the device's previous report
        assert client.post(url.format("CAM-2"), headers=device, json=summary).status_code == 403
        assert api.post("/cameras/CAM-1/edge-summary", "reviewer",
                        json=summary).status_code == 403
        assert api.post("/cameras/CAM-2/edge-summary", json={**summary, "device": "x"}
                        ).status_code == 200  # an admin, for any camera
        assert api.post("/cameras/CAM-9/edge-summary", json=summary).status_code == 404
        assert client.post(url.format("CAM-1"), headers=device,
                           json={**summary, "seen": -1}).status_code == 422

        edge = api.get("/cameras/CAM-1", "reviewer").json()["edge"]
        assert edge == {"photos": 2, "processed": 2, "agreed": 1, "agreement_rate": 0.5,
                        "matched": edge["matched"], "edge_only": edge["edge_only"],
                        "back_only": edge["back_only"], "seen_on_edge": 31,
                        "skipped_on_edge": 29, "devices": ["cam-box-1"],
                        "models": ["small-int8"]}
        assert edge["back_only"] >= 1  # the excavator the edge missed on the second photo
        listed = {c["id"]: c["edge"] for c in api.get("/cameras").json()}
        assert listed["CAM-1"] == edge and listed["CAM-2"]["photos"] == 0

        client.get("/ui/login")
        client.post("/ui/login", data={"token": api.tokens["reviewer"],
                                       "csrf": client.cookies.get("lp_login_csrf"),
                                       "next": "/ui/cameras"}, follow_redirects=False)
        page = client.get("/ui/cameras").text
        assert "2 sent with edge boxes, 2 processed, 1 agreed" in page
        assert '<span class="edge-rate">50 %</span>' in page
        assert "31 seen on the edge, 29 judged empty and kept there (cam-box-1)" in page

        assert api.call("DELETE", "/cameras/CAM-1").status_code == 204  # with its counts
        with services.sessions() as s:
            assert s.scalar(select(func.count()).select_from(CameraEdgeSummary)) == 1
