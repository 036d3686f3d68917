"""Warning webhooks in the scale-out mode: the API process sends nothing; the sender thread in
the real ``linepatrol worker``'s main process (Postgres and the real Redis) delivers each
warning event, signed, and retries a 500.

The worker's pools are ``solo`` and ``threads`` (``linepatrol worker --pool``; no prefork), so
the sender thread and the tasks share the one process that started it: nothing is forked
after the thread starts."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import pytest

from linepatrol_service.models import Defect, Flight
from linepatrol_service.warnings import raise_warnings
from linepatrol_service.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature

from .conftest import Api, open_api, reset_database
from .test_warnings import LINE, Receiver
from .workers import Worker

pytestmark = [pytest.mark.timeout(120), pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

HOOK = {"webhook_secret": "s3cret", "webhook_base_delay_s": 0.2, "webhook_poll_s": 0.1,
        "webhook_max_attempts": 5, "public_url": "https://lp.example"}


def _wait(predicate: Any, worker: Worker, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, worker.text()[-3000:]
        time.sleep(0.05)


def test_the_worker_delivers_warning_events_signed_and_retried(
        tmp_path: Path, tiny_model: Path, pg_url: str, redis_url: str) -> None:
    from support.service_settings import make_settings

    reset_database(pg_url)
    receiver = Receiver("s3cret", fail=2)
    data = tmp_path / "data"
    settings = make_settings(data, tiny_model, database_url=pg_url, queue="celery",
                             broker_url=redis_url, webhook_url=receiver.url, **HOOK)
    worker: Worker | None = None
    try:
        for api in open_api(settings):
            with api.services.sessions.begin() as s:  # what a flight's finalize does
                flight = Flight(line=LINE, date=dt.date(2026, 12, 1), status="done")
                s.add(flight)
                s.flush()
                item = Defect(flight_id=flight.id, class_key="truck_crane",
                              detected_class="truck_crane", category="hazard",
                              confidence=0.9, line=LINE, tower="N12", distance_to_line_m=12.0,
                              evidence=[])
                s.add(item)
                s.flush()
                (w,) = raise_warnings(s, api.services.settings, [item])
                warning_id = w.id
            time.sleep(0.5)
            assert receiver.requests == []  # celery mode: the API process sends nothing

            worker = Worker("hook@test", data, pg_url, redis_url, tiny_model, tmp_path,
                            webhook_url=receiver.url, **HOOK)
            worker.wait_ready()

            def delivered(api: Api = api) -> list[dict[str, Any]]:
                page = api.get("/webhooks/deliveries", "admin", params={"status": "delivered"})
                return list(page.json()["items"])

            _wait(lambda: len(delivered()) == 1, worker)
            (d,) = delivered()
            assert (d["attempts"], d["response_code"], d["warning_id"]) == (3, 200, warning_id)
            assert len(receiver.requests) == 3 and all(good for *_, good in receiver.requests)
            assert len({body for _, body, _ in receiver.requests}) == 1  # the same body
            doc = json.loads(receiver.requests[-1][1])
            assert (doc["event"], doc["warning_id"], doc["class_key"], doc["tower"]) == (
                "issued", warning_id, "truck_crane", "N12")
            assert doc["link"] == f"https://lp.example/ui/warnings/{warning_id}"
            headers, body, _ = receiver.requests[-1]
            assert headers[SIGNATURE_HEADER] == signature("s3cret", headers[TIMESTAMP_HEADER],
                                                          body)

            # a move made through the API is delivered by the worker too
            api.patch(f"/warnings/{warning_id}", "reviewer", json={"status": "acknowledged"})
            _wait(lambda: len(delivered()) == 2, worker)
            assert len(receiver.requests) == 4
            doc = json.loads(receiver.requests[-1][1])
            assert (doc["event"], doc["from_status"], doc["status"]) == (
                "moved", "issued", "acknowledged")
    finally:
        if worker is not None:
            worker.stop()
        receiver.close()
