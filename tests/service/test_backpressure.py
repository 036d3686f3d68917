"""Back-pressure: a 503 with Retry-After rather than a stall or a 500, and clients that wait
and send again."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from linepatrol_service import backpressure
from linepatrol_service.client import RetryAfterTransport
from linepatrol_service.settings import ServiceSettings

from .conftest import make_settings, open_api


def test_pool_and_threads_come_from_one_setting():
    sizes = backpressure.pool_sizes(ServiceSettings(concurrency=7, worker_threads=2))
    assert sizes.threads == 7
    assert sizes.connections == 2 * 7 + 2
    assert sizes.backlog == backpressure.BACKLOG * 7


def test_no_free_connection_is_503_but_health_answers(tmp_path: Path, tiny_model: Path,
                                                    monkeypatch):
    monkeypatch.setattr(backpressure, "DB_WAIT_S", 0.2)
    import linepatrol_service.services as services_module

    monkeypatch.setattr(services_module, "DB_WAIT_S", 0.2)
    for api in open_api(make_settings(tmp_path / "d", tiny_model, concurrency=1)):
        engine = api.services.engine
        held = [engine.connect() for _ in range(engine.pool.size())]
        try:
            r = api.get("/flights")
            assert r.status_code == 503, r.text
            assert int(r.headers["Retry-After"]) > 0
            health = api.client.get("/api/v1/health")  # its own connections: not stuck
            assert health.status_code == 200 and health.json()["database"]["ok"]
        finally:
            for conn in held:
                conn.close()
        assert api.get("/flights").status_code == 200


def test_a_long_queue_is_refused_at_once_but_health_answers(api, monkeypatch):
    busy = SimpleNamespace(statistics=lambda: SimpleNamespace(tasks_waiting=10_000))
    monkeypatch.setattr(backpressure.anyio.to_thread, "current_default_thread_limiter",
                        lambda: busy)
    r = api.get("/flights")
    assert r.status_code == 503 and r.headers["Retry-After"] == str(backpressure.RETRY_AFTER_S)
    assert api.client.get("/api/v1/health").status_code == 200


def _transport(answers: list[httpx.Response], seen: list[bytes]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.read())
        return answers.pop(0)

    return httpx.MockTransport(handle)


def test_client_sends_again_after_retry_after(monkeypatch):
    monkeypatch.setattr("linepatrol_service.client.time.sleep", lambda s: None)
    seen: list[bytes] = []
    busy = httpx.Response(503, headers={"Retry-After": "1"})
    transport = RetryAfterTransport(_transport([busy, busy, httpx.Response(200)], seen))
    with httpx.Client(transport=transport, base_url="http://test") as client:
        r = client.post("/upload", files=[("files", ("a.jpg", b"photo-bytes"))])
    assert r.status_code == 200 and transport.retried == 2
    assert len(seen) == 3 and seen[0] == seen[2] and b"photo-bytes" in seen[2]


@pytest.mark.parametrize("headers", [{}, {"Retry-After": "soon"}])
def test_client_returns_a_503_that_is_not_back_pressure(headers):
    seen: list[bytes] = []
    transport = RetryAfterTransport(_transport([httpx.Response(503, headers=headers)], seen))
    with httpx.Client(transport=transport, base_url="http://test") as client:
        assert client.post("/submit").status_code == 503
    assert len(seen) == 1
