"""The scale-out mode: real ``linepatrol worker`` processes on Redis and PostgreSQL.

Crash-resume kills a worker with SIGKILL in the middle of a flight, starts another, and checks
that every photo was processed once and that no defect is doubled.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from linepatrol_service.models import Image

from .conftest import Api, make_settings, open_api, reset_database
from .photos import dji_jpeg
from .workers import Worker

pytestmark = [pytest.mark.timeout(240), pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

PHOTOS = 10


def _photos() -> list[tuple[str, bytes]]:
    # The same spot seen from a few metres apart: each defect class merges into one defect.
    return [(f"DJI_{i:04d}.JPG", dji_jpeg(seed=i, lat=30.5 + i * 1e-6)) for i in range(PHOTOS)]


def _signature(api: Api, flight_id: int) -> list[tuple[Any, ...]]:
    """What must be equal between two runs: class, place, and the evidence photos by name."""
    names = {i["id"]: i["filename"] for i in
             api.get(f"/flights/{flight_id}/images?limit=1000").json()["items"]}
    report = api.get(f"/flights/{flight_id}/report?format=json").json()
    return sorted(
        (d["class"], round(d["lat"] or 0, 7), round(d["lon"] or 0, 7), d["severity"],
         tuple(sorted(names[e["image_id"]] for e in d["evidence"])))
        for d in report["defects"]
    )


@pytest.fixture
def celery_env(tmp_path: Path, tiny_model: Path, pg_url: str,
               redis_url: str) -> Iterator[dict[str, Any]]:
    reset_database(pg_url)
    data = tmp_path / "data"
    settings = make_settings(data, tiny_model, database_url=pg_url, queue="celery",
                             broker_url=redis_url, batch_size=1)
    workers: list[Worker] = []

    def start(name: str, **extra: Any) -> Worker:
        w = Worker(name, data, pg_url, redis_url, tiny_model, tmp_path, **extra)
        workers.append(w)
        return w

    for api in open_api(settings):
        yield {"api": api, "start": start}
    for w in workers:
        w.stop()


@pytest.fixture(scope="module")
def embedded_signature(tmp_path_factory: pytest.TempPathFactory,
                       tiny_model: Path) -> list[tuple[Any, ...]]:
    """The defects of the test flight processed by the embedded worker on SQLite."""
    settings = make_settings(tmp_path_factory.mktemp("ref") / "data", tiny_model, batch_size=1)
    for api in open_api(settings):
        flight = api.new_flight()
        api.upload(flight["id"], _photos())
        api.post(f"/flights/{flight['id']}/submit", "uploader")
        assert api.wait(flight["id"])["status"] == "done"
        return _signature(api, flight["id"])
    raise AssertionError("unreachable")


def _submit(api: Api, request_id: str | None = None) -> int:
    flight = api.new_flight()
    assert api.upload(flight["id"], _photos()).json()["accepted"] == PHOTOS
    headers = {"X-Request-ID": request_id} if request_id else {}
    r = api.post(f"/flights/{flight['id']}/submit", "uploader", headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "queued"
    return int(flight["id"])


def _images(api: Api, flight_id: int) -> list[Image]:
    with api.services.sessions() as s:
        return list(s.scalars(select(Image).where(Image.flight_id == flight_id)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _json_lines(worker: Worker) -> list[dict[str, Any]]:
    """The worker's log records (its stderr is no terminal: JSON lines, beside Celery's
    banner on stdout)."""
    return [json.loads(line) for line in worker.text().splitlines() if line.startswith("{")]


def test_two_workers_share_a_flight_and_match_embedded(celery_env, embedded_signature):
    api, start = celery_env["api"], celery_env["start"]
    assert api.get("/health").json()["queue"]["mode"] == "celery"
    metrics_port = _free_port()
    w1 = start("w1@test", throttle_s=0.3, worker_metrics_port=metrics_port)
    w2 = start("w2@test", throttle_s=0.3)
    w1.wait_ready()
    w2.wait_ready()
    flight_id = _submit(api, request_id="celery-submit-1")
    done = api.wait(flight_id, timeout=120)
    assert done["status"] == "done", done
    assert done["progress"] == {"total": PHOTOS, "done": PHOTOS, "failed": 0, "pending": 0}
    images = _images(api, flight_id)
    assert all(im.processed_count == 1 for im in images)
    assert {im.processed_by for im in images} == {"w1@test", "w2@test"}
    assert _signature(api, flight_id) == embedded_signature
    assert len(embedded_signature) == 2  # two classes, each merged over all photos
    # Each worker logged its part of the flight under the submit's request id.
    for w in (w1, w2):
        ours = [r for r in _json_lines(w) if r["logger"] == "linepatrol_service.celery_app"]
        assert ours and all(r["request_id"] == "celery-submit-1" and r["flight_id"] == flight_id
                            for r in ours), ours
    # A worker serves its own inference metrics (the API process cannot see them).
    scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    assert 'linepatrol_inference_photos_total{outcome="done"}' in scraped


def test_worker_killed_mid_flight_resumes_without_loss_or_doubles(celery_env,
                                                                  embedded_signature):
    api, start = celery_env["api"], celery_env["start"]
    w1 = start("crashy@test", throttle_s=0.5)
    w1.wait_ready()
    flight_id = _submit(api)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # two photos done and the worker inside a batch
        states = [im.status for im in _images(api, flight_id)]
        if states.count("done") >= 2 and "claimed" in states:
            break
        time.sleep(0.05)
    w1.kill()
    mid = api.get(f"/flights/{flight_id}").json()
    assert mid["status"] == "processing", mid
    assert 2 <= mid["progress"]["done"] < PHOTOS, mid
    assert "claimed" in [im.status for im in _images(api, flight_id)]  # a half-done batch
    # The same worker name comes back (as after a machine restart): it takes back its claims
    # at once and requeues the flight.
    w2 = start("crashy@test")
    w2.wait_ready()
    done = api.wait(flight_id, timeout=120)
    assert done["status"] == "done", (done, w2.text()[-3000:])
    assert done["progress"] == {"total": PHOTOS, "done": PHOTOS, "failed": 0, "pending": 0}
    images = _images(api, flight_id)
    assert sorted(im.processed_count for im in images) == [1] * PHOTOS
    assert _signature(api, flight_id) == embedded_signature
    defects = api.get(f"/defects?flight={flight_id}", "reviewer").json()
    assert defects["total"] == len(embedded_signature)


def test_another_worker_takes_over_after_the_lease(celery_env, embedded_signature):
    """A different machine takes over a dead worker's claim once its lease runs out."""
    api, start = celery_env["api"], celery_env["start"]
    w1 = start("gone@test", throttle_s=0.5, claim_lease_s=3)
    w1.wait_ready()
    flight_id = _submit(api)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        states = [im.status for im in _images(api, flight_id)]
        if states.count("done") >= 1 and "claimed" in states:
            break
        time.sleep(0.05)
    w1.kill()
    assert "claimed" in [im.status for im in _images(api, flight_id)]
    w2 = start("other@test", claim_lease_s=3)
    w2.wait_ready()
    done = api.wait(flight_id, timeout=120)
    assert done["status"] == "done", (done, w2.text()[-3000:])
    images = _images(api, flight_id)
    assert sorted(im.processed_count for im in images) == [1] * PHOTOS
    assert _signature(api, flight_id) == embedded_signature
    assert {im.processed_by for im in images} == {"gone@test", "other@test"}
