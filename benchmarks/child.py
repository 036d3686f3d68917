"""Work run in a child process, so that its peak memory is its own (``ru_maxrss`` of the child).

``python -m benchmarks.child flight|service MODEL DEVICE LIST_FILE [WORK_DIR]`` prints one
JSON line. ``service`` with MODEL ``""`` runs what an unconfigured service runs (the bundled
default).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def flight(model: str, device: str, list_file: str) -> dict[str, object]:
    """A whole flight through the core pipeline (``detect_files``), default settings."""
    from benchmarks.detection import open_ours, run_ours

    photos = [Path(line) for line in Path(list_file).read_text().splitlines() if line.strip()]
    t0 = time.perf_counter()
    detector = open_ours(Path(model), device, tile="auto")
    t1 = time.perf_counter()
    found = run_ours(detector, photos)
    t2 = time.perf_counter()
    return {"photos": len(photos), "load_s": round(t1 - t0, 3), "run_s": round(t2 - t1, 3),
            "detections": found}


def service(model: str, device: str, list_file: str, work: str) -> dict[str, object]:
    """A whole flight through the service as a user drives it: HTTP API in-process (FastAPI's
    TestClient), SQLite, the embedded worker; photos uploaded, the flight submitted, and the
    service's own timing of the processing read back."""
    from fastapi.testclient import TestClient

    from linepatrol_service.app import create_app
    from linepatrol_service.auth import create_token
    from linepatrol_service.roles import Role
    from linepatrol_service.services import Services
    from linepatrol_service.settings import ServiceSettings

    photos = [Path(line) for line in Path(list_file).read_text().splitlines() if line.strip()]
    data_dir = Path(work) / f"service-{time.time_ns()}"
    settings = ServiceSettings(data_dir=data_dir, model=model or None,  # "": bundled default
                               providers=["cuda"] if device == "cuda" else ["cpu"])
    services = Services(settings)
    app = create_app(settings, services)
    with TestClient(app) as client:
        with services.sessions.begin() as s:
            _, token = create_token(s, Role("admin"), "benchmark")
        auth = {"Authorization": f"Bearer {token}"}
        r = client.post("/api/v1/flights", headers=auth, json={
            "line": "benchmark", "date": "2026-11-26", "team": "bench", "drone": "bench"})
        r.raise_for_status()
        flight = r.json()["id"]
        t0 = time.perf_counter()
        for start in range(0, len(photos), 25):
            files = [("files", (f"{i:04d}_{p.name}", p.read_bytes(), "image/jpeg"))
                     for i, p in enumerate(photos[start:start + 25], start)]
            client.post(f"/api/v1/flights/{flight}/images", headers=auth,
                        files=files).raise_for_status()
        t1 = time.perf_counter()
        client.post(f"/api/v1/flights/{flight}/submit", headers=auth).raise_for_status()
        while True:
            body = client.get(f"/api/v1/flights/{flight}", headers=auth).json()
            if body["status"] in ("done", "failed", "cancelled"):
                break
            time.sleep(0.05)
        t2 = time.perf_counter()
    if body["status"] != "done":
        raise RuntimeError(f"flight ended {body['status']}: {body}")
    processing = body["timings"]["processing_s"]
    return {"photos": len(photos), "upload_s": round(t1 - t0, 3),
            "submit_to_done_s": round(t2 - t1, 3), "run_s": processing,
            "load_s": None, "defects": body["defects"], "progress": body["progress"]}


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[0] not in ("flight", "service"):
        print("usage: python -m benchmarks.child flight|service MODEL DEVICE LIST_FILE [WORK]",
              file=sys.stderr)
        return 2
    if argv[0] == "flight":
        print(json.dumps(flight(argv[1], argv[2], argv[3])))
    else:
        print(json.dumps(service(argv[1], argv[2], argv[3], argv[4])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
