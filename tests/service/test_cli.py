"""``linepatrol token`` and ``linepatrol serve`` as users run them, including a crash of the
service process in the middle of a flight (embedded mode resumes on restart)."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .photos import dji_jpeg

BIN = Path(sys.executable).parent / "linepatrol"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINEPATROL_")}
    env.update({"LINEPATROL_PROVIDERS": "cpu", "LINEPATROL_INTRA_OP_THREADS": "1",
                "LINEPATROL_TILE": "off", "LINEPATROL_BATCH_SIZE": "1"})
    env.update(extra)
    return env


def _token(data: Path, role: str) -> str:
    out = subprocess.run([str(BIN), "token", "create", "--role", role, "--name", f"cli-{role}",
                          "--data", str(data)], capture_output=True, text=True, env=_env(),
                         check=True)
    return out.stdout.strip()


def test_token_commands(tmp_path: Path):
    data = tmp_path / "d"
    secret = _token(data, "reviewer")
    assert secret.startswith("lp_") and len(secret) > 40
    listed = subprocess.run([str(BIN), "token", "list", "--data", str(data)],
                            capture_output=True, text=True, env=_env(), check=True).stdout
    assert "reviewer" in listed and "active" in listed and secret not in listed
    token_id = listed.split()[0]
    subprocess.run([str(BIN), "token", "revoke", token_id, "--data", str(data)], env=_env(),
                   check=True, capture_output=True)
    listed = subprocess.run([str(BIN), "token", "list", "--data", str(data)],
                            capture_output=True, text=True, env=_env(), check=True).stdout
    assert "revoked" in listed
    bad = subprocess.run([str(BIN), "token", "revoke", "999", "--data", str(data)],
                         capture_output=True, text=True, env=_env())
    assert bad.returncode == 2 and "no token 999" in bad.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, data: Path, model: Path, port: int, log: Path, **env: str) -> None:
        self.url = f"http://127.0.0.1:{port}/api/v1"
        self._log = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(BIN), "serve", "--port", str(port), "--data", str(data), "--model", str(model)],
            env=_env(**env), stdout=self._log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code in (200, 503):
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
            if self.proc.poll() is not None:
                raise AssertionError(log.read_text())
        raise AssertionError("server did not start:\n" + log.read_text())

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=20)
        self._log.close()


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_serve_survives_a_crash_mid_flight(tmp_path: Path, tiny_model: Path):
    data, log, port = tmp_path / "data", tmp_path / "serve.log", _free_port()
    uploader, reviewer = _token(data, "uploader"), _token(data, "reviewer")
    up = {"Authorization": f"Bearer {uploader}"}
    server = Server(data, tiny_model, port, log, LINEPATROL_THROTTLE_S="0.4")
    try:
        health = httpx.get(server.url + "/health").json()
        assert health["ok"] and health["queue"]["mode"] == "embedded"
        flight = httpx.post(server.url + "/flights", headers=up,
                            json={"line": "L1", "date": "2026-11-20"}).json()
        photos = [("files", (f"DJI_{i:04d}.JPG", dji_jpeg(seed=i), "image/jpeg"))
                  for i in range(8)]
        r = httpx.post(f"{server.url}/flights/{flight['id']}/images", headers=up, files=photos)
        assert r.json()["accepted"] == 8
        httpx.post(f"{server.url}/flights/{flight['id']}/submit", headers=up)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if httpx.get(f"{server.url}/flights/{flight['id']}",
                         headers=up).json()["progress"]["done"] >= 2:
                break
            time.sleep(0.05)
        server.stop(signal.SIGKILL)  # a crash, mid-flight
    finally:
        server.stop()
    with sqlite3.connect(data / "linepatrol.db") as db:
        states = dict(db.execute("select status, count(*) from images group by status").fetchall())
        (flight_status,) = db.execute("select status from flights").fetchone()
    assert flight_status == "processing" and 2 <= states.get("done", 0) < 8, states
    server = Server(data, tiny_model, port, log)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            body = httpx.get(f"{server.url}/flights/{flight['id']}", headers=up).json()
            if body["status"] == "done":
                break
            time.sleep(0.1)
        assert body["status"] == "done", body
        assert body["progress"] == {"total": 8, "done": 8, "failed": 0, "pending": 0}
        images = httpx.get(f"{server.url}/flights/{flight['id']}/images", headers=up).json()
        assert all(i["status"] == "done" for i in images["items"])
        rev = {"Authorization": f"Bearer {reviewer}"}
        defects = httpx.get(f"{server.url}/defects?flight={flight['id']}", headers=rev).json()
        # Eight photos of one spot: one defect per class, each with all eight photos as evidence.
        assert defects["total"] == 2
        for d in defects["items"]:
            detail = httpx.get(f"{server.url}/defects/{d['id']}", headers=rev).json()
            assert sorted(e["image_id"] for e in detail["evidence"]) == sorted(
                i["id"] for i in images["items"])
    finally:
        server.stop()
