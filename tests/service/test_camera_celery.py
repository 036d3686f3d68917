"""Corridor cameras in the scale-out mode: their own Celery queue on the real Redis, consumed
by a real ``linepatrol worker`` (camera queue first)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
import redis

from linepatrol_service.celery_app import CAMERA_QUEUE

from .conftest import open_api, reset_database
from .photos import jpeg
from .support_cameras import CAM
from .workers import Worker

pytestmark = [pytest.mark.timeout(180), pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]


def test_camera_photos_go_to_their_own_queue_and_a_worker_takes_them(
        tmp_path: Path, tiny_model: Path, pg_url: str, redis_url: str):
    from support.service_settings import make_settings

    reset_database(pg_url)
    data = tmp_path / "data"
    settings = make_settings(data, tiny_model, database_url=pg_url, queue="celery",
                             broker_url=redis_url, batch_size=1)
    broker = redis.Redis.from_url(redis_url)
    for api in open_api(settings):
        assert api.post("/cameras", json=CAM).status_code == 201
        at = dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)
        ids = []
        for i in range(2):  # two pushes before any worker runs: one task waits for both
            r = api.post("/cameras/CAM-1/images", files={"file": ("a.jpg", jpeg(seed=i))},
                         data={"captured_at": (at + dt.timedelta(minutes=i)).isoformat()})
            assert r.status_code == 202, r.text
            ids.append(r.json()["image_id"])
        assert broker.llen(CAMERA_QUEUE) == 1 and broker.llen("linepatrol") == 0
        worker = Worker("cam@test", data, pg_url, redis_url, tiny_model, tmp_path)
        try:
            worker.wait_ready()
            assert "linepatrol.camera" in worker.text()  # the queues it consumes
            deadline = time.monotonic() + 60
            for image_id in ids:
                while api.get(f"/images/{image_id}/meta").json()["status"] != "done":
                    assert time.monotonic() < deadline, worker.text()[-3000:]
                    time.sleep(0.2)
                meta = api.get(f"/images/{image_id}/meta").json()
                assert meta["processed_by"] == "cam@test" and meta["pose"]["yaw"] == 45.0
        finally:
            worker.stop()
    broker.close()
