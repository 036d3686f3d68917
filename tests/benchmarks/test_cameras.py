"""The corridor-camera load harness runs end to end at a tiny size, so that it does not rot.

No timing is asserted: only the invariants the benchmark exists to check (no photo lost or
processed twice, a duplicate push is the same image, at most one hazard item and one warning
per camera, a warning for every camera that saw a machine k times), with a worker SIGKILLed
and restarted half-way as in the real run.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import numpy as np
import pytest


def _require(host: str, port: int, what: str) -> None:
    """Skip when a local server is down — unless CI=true (as the service tests do)."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return
    except OSError as exc:
        message = f"{what} on {host}:{port} is unreachable ({exc})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI=true forbids skipping", pytrace=False)
    pytest.skip(message)


def test_the_tiny_model_sees_a_machine_in_bright_photos_only(tmp_path: Path) -> None:
    import onnxruntime as ort
    from benchmarks.cameras import brightness_model

    session = ort.InferenceSession(str(brightness_model(tmp_path / "m.onnx")),
                                   providers=["CPUExecutionProvider"])
    batch = np.stack([np.full((3, 320, 320), 0.8, np.float32),
                      np.full((3, 320, 320), 0.2, np.float32)])
    out = session.run(None, {"images": batch})[0]
    assert out.shape == (2, 6, 16)
    assert out[0, 4, 0] == pytest.approx(0.9) and out[0, 4:].max() == pytest.approx(0.9)
    assert not out[1].any()


def test_tiny_run_loses_nothing_and_warns_once_per_machine(tmp_path: Path) -> None:
    _require("127.0.0.1", 5432, "PostgreSQL")
    _require("127.0.0.1", 6379, "Redis")
    from benchmarks.cameras import main

    out = tmp_path / "cameras.json"
    assert main(["--cameras", "4", "--period-s", "600", "--speedup", "120", "--duration-s",
                 "11", "--machine-fraction", "0.5", "--duplicates", "2", "--workers", "1",
                 "--threads", "4", "--drain-s", "30", "--time-limit", "120",
                 "--broker", "redis://127.0.0.1:6379/8", "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["pushed"] >= 8 and r["accepted"] == r["pushed"] and r["refused"] == 0
    assert r["lost"] == 0 and r["processed_twice"] == 0
    assert r["processed_done"] == r["accepted"]
    assert r["duplicates_pushed"] >= 1 and r["duplicates_same_image"] == r["duplicates_pushed"]
    assert r["killed_worker_at_s"] is not None
    assert r["machine_cameras"] == 2 and r["machine_cameras_due_warning"] == 2
    assert r["warnings"] == 2 and r["missing_warnings"] == 0
    assert r["warnings_per_item_max"] == 1 and r["items_per_camera_max"] == 1
    assert r["warning_p50_s"] > 0
    assert out.with_suffix(".md").read_text().startswith("| |")
