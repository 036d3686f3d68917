"""The bundled sample flight is what it says, and ``linepatrol demo`` serves it processed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from pyproj import Geod

from linepatrol_service import sample_flight


def test_sample_photos_are_dji_photos_beside_ledger_towers() -> None:
    from linepatrol.geo import Ledger, read_pose
    from linepatrol.images import read_image

    photos = sample_flight.photos()
    assert len(photos) == 6
    ledger = Ledger.load(sample_flight.ledger_path())
    assert {t.line for t in ledger.towers} == {sample_flight.flight()["line"]}
    sources = json.loads((sample_flight.HERE / "flight.json").read_text())["sources"]
    assert sorted(sources) == [p.name for p in photos]
    assert sum("Defective_Insulators" in s for s in sources.values()) >= 3
    geod = Geod(ellps="WGS84")
    for path in photos:
        assert path.stat().st_size < 300_000
        pose = read_pose(path)
        image = read_image(path)
        assert (pose.width, pose.height) == (image.width, image.height) == (1152, 864)
        nearest = min(geod.inv(pose.lon, pose.lat, t.lon, t.lat)[2] for t in ledger.towers)
        assert 20 < nearest < 60, (path.name, nearest)
    assert "Tao" in (sample_flight.HERE / "ATTRIBUTION.md").read_text()


def _demo(args: list[str], env_extra: dict[str, str] | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env_extra or {})}
    return subprocess.Popen([sys.executable, "-m", "linepatrol", "demo", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def test_demo_without_a_model_says_what_to_do(tmp_path: Path) -> None:
    proc = _demo(["--model", str(tmp_path / "missing.onnx"), "--port", "0"])
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "needs a detection model" in out and "--model FILE.onnx" in out
    assert "Traceback" not in out


@pytest.mark.slow
def test_demo_serves_the_processed_sample_flight(tmp_path: Path, tiny_model: Path) -> None:
    data = tmp_path / "demo-data"
    proc = _demo(["--model", str(tiny_model), "--port", "0", "--data", str(data)])
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        out = "".join(lines)
        assert "Press Ctrl-C" in out, out
        url = re.search(r"Open\s+(http://\S+/ui/flights/(\d+))", out)
        token = re.search(r"reviewer token:\s+(lp_\S+)", out)
        assert url and token, out
        assert re.search(r"processed\s+6 photos .* \d+ defects found", out), out
        base = url.group(1).split("/ui/")[0]
        h = {"Authorization": f"Bearer {token.group(1)}"}
        flight = httpx.get(f"{base}/api/v1/flights/{url.group(2)}", headers=h).json()
        assert flight["status"] == "done" and flight["progress"]["done"] == 6
        defects = httpx.get(f"{base}/api/v1/defects", headers=h).json()["items"]
        assert defects and all(d["lat"] is not None and d["tower"] for d in defects)
        # The printed uploader token sees the sample as its team's flight (uploaders read only
        # the flights their token owns).
        uploader = re.search(r"uploader token, to send your own photos:\s+(lp_[^\s)]+)", out)
        assert uploader, out
        mine = httpx.get(f"{base}/api/v1/flights",
                         headers={"Authorization": f"Bearer {uploader.group(1)}"}).json()
        assert [f["id"] for f in mine["items"]] == [int(url.group(2))]
        # The reviewer can review; the setup token printed nowhere is revoked.
        assert httpx.get(f"{base}/api/v1/tokens", headers=h).status_code == 403
        page = httpx.get(url.group(1), follow_redirects=False)
        assert page.status_code == 303 and "/ui/login" in page.headers["location"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert (data / "linepatrol.db").is_file()  # --data is kept
