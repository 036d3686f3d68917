"""Fixtures for the service tests: a tiny real ONNX model, an app per test, role tokens."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from linepatrol_service.app import create_app
from linepatrol_service.auth import create_token
from linepatrol_service.roles import Role
from linepatrol_service.services import Services
from linepatrol_service.settings import ServiceSettings
from support.service_settings import make_settings
from support.tiny_onnx import make_yolo_onnx

NAMES = ["insulator_missing_cap", "bird_nest", "insulator"]
# (cx, cy, w, h, class, score) in the 64-px model input: two defects and a component
BOXES = [(20.0, 20.0, 10.0, 10.0, 0, 0.9), (44.0, 40.0, 12.0, 8.0, 1, 0.8),
         (32.0, 50.0, 8.0, 8.0, 2, 0.7)]


def require_server(host: str, port: int, what: str) -> None:
    """Skip when a local server is down — unless CI=true, where the test must fail instead."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return
    except OSError as exc:
        message = f"{what} on {host}:{port} is unreachable ({exc})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI=true forbids skipping", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "tiny.onnx"
    return make_yolo_onnx(path, NAMES, BOXES, imgsz=64)


class Api:
    """A TestClient with one token per role."""

    def __init__(self, client: TestClient, services: Services) -> None:
        self.client = client
        self.services = services
        self.tokens: dict[str, str] = {}
        with services.sessions.begin() as s:
            for role in Role:
                if role is Role.DEVICE:  # bound to a camera: tests make their own
                    continue
                _, secret = create_token(s, role, f"test-{role.value}")
                self.tokens[role.value] = secret

    def h(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def call(self, method: str, url: str, role: str = "admin", **kw: Any) -> Any:
        headers = {**self.h(role), **kw.pop("headers", {})}
        return self.client.request(method, "/api/v1" + url, headers=headers, **kw)

    def get(self, url: str, role: str = "admin", **kw: Any) -> Any:
        return self.call("GET", url, role, **kw)

    def post(self, url: str, role: str = "admin", **kw: Any) -> Any:
        return self.call("POST", url, role, **kw)

    def patch(self, url: str, role: str = "admin", **kw: Any) -> Any:
        return self.call("PATCH", url, role, **kw)

    def put(self, url: str, role: str = "admin", **kw: Any) -> Any:
        return self.call("PUT", url, role, **kw)

    def new_flight(self, role: str = "uploader", **kw: Any) -> dict[str, Any]:
        body = {"line": "500kV 江城线", "date": "2026-11-20", "team": "T1", "drone": "M300"}
        body.update(kw)
        r = self.post("/flights", role, json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def upload(self, flight_id: int, files: list[tuple[str, bytes]],
               role: str = "uploader") -> Any:
        return self.post(f"/flights/{flight_id}/images", role,
                         files=[("files", (n, d, "application/octet-stream")) for n, d in files])

    def wait(self, flight_id: int, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = self.get(f"/flights/{flight_id}").json()
            if body["status"] in ("done", "failed", "cancelled"):
                return dict(body)
            time.sleep(0.1)
        raise AssertionError(f"flight {flight_id} not finished: {body}")


def open_api(settings: ServiceSettings) -> Iterator[Api]:
    services = Services(settings)
    app = create_app(settings, services)
    with TestClient(app) as client:
        yield Api(client, services)


@pytest.fixture
def api(tmp_path: Path, tiny_model: Path) -> Iterator[Api]:
    yield from open_api(make_settings(tmp_path / "data", tiny_model))


class RecordingDispatcher:
    """A dispatcher that queues nothing: what submit handed over, typed."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, str | None]] = []

    def dispatch(self, flight_id: int, photos: int, request_id: str | None = None) -> None:
        self.calls.append((flight_id, photos, request_id))

    def health(self) -> dict[str, Any]:
        return {"mode": "recording", "ok": True}

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


@pytest.fixture
def held_api(tmp_path: Path, tiny_model: Path) -> Iterator[Api]:
    """An app whose submitted flights stay queued (a dispatcher that runs nothing)."""
    settings = make_settings(tmp_path / "data", tiny_model)
    services = Services(settings)
    services.dispatcher = RecordingDispatcher()
    with TestClient(create_app(settings, services)) as client:
        yield Api(client, services)


PG_HOST, PG_PORT = "127.0.0.1", 5432
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_DB = 11  # a database number of its own, flushed by the tests


def _pg_admin_url() -> str:
    for user in ("postgres", "root"):
        url = f"postgresql+psycopg://{user}@{PG_HOST}:{PG_PORT}/postgres"
        try:
            import sqlalchemy as sa

            eng = sa.create_engine(url, isolation_level="AUTOCOMMIT")
            with eng.connect() as c:
                c.execute(sa.text("select 1"))
            eng.dispose()
            return url
        except Exception:
            continue
    message = f"PostgreSQL on {PG_HOST}:{PG_PORT}: neither user postgres nor root can connect"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI=true forbids skipping", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test session, dropped at the end."""
    import uuid

    import sqlalchemy as sa

    require_server(PG_HOST, PG_PORT, "PostgreSQL")
    admin = _pg_admin_url()
    name = f"linepatrol_test_{uuid.uuid4().hex[:10]}"
    eng = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        with eng.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        eng.dispose()


def reset_database(url: str) -> None:
    """Empty the test database between tests (drop the schema; migrations rebuild it)."""
    import sqlalchemy as sa

    eng = sa.create_engine(url)
    with eng.begin() as c:
        c.execute(sa.text("DROP SCHEMA public CASCADE"))
        c.execute(sa.text("CREATE SCHEMA public"))
    eng.dispose()


@pytest.fixture
def pg_api(tmp_path: Path, tiny_model: Path, pg_url: str) -> Iterator[Api]:
    reset_database(pg_url)
    yield from open_api(make_settings(tmp_path / "data", tiny_model, database_url=pg_url))


@pytest.fixture
def redis_url() -> Iterator[str]:
    require_server(REDIS_HOST, REDIS_PORT, "Redis")
    import redis

    url = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()
