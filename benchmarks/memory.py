"""Peak memory of a command, measured by the kernel (``ru_maxrss`` from ``wait4``), not sampled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def peak_rss_of(cmd: list[str], env: dict[str, str] | None = None,
                timeout: float = 1800) -> dict[str, Any]:
    """Run ``cmd`` through the small :mod:`benchmarks.rss` launcher; its own peak RSS (MiB)."""
    with tempfile.TemporaryDirectory() as tmp:
        result_file = Path(tmp) / "rss.json"
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "benchmarks.rss", str(result_file), "--", *cmd],
                capture_output=True, text=True, timeout=timeout,
                env={**os.environ, "PYTHONPATH": os.pathsep.join(
                    p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p), **(env or {})},
            )
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"{' '.join(cmd)}: timed out after {timeout} s") from None
        wall = time.perf_counter() - t0
        peak = json.loads(result_file.read_text())["peak_rss_bytes"] if result_file.is_file() \
            else float("nan")
    return {"returncode": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr,
            "wall_s": round(wall, 3), "peak_rss_mib": round(peak / 2**20, 1)}


def linepatrol_cli() -> str:
    """The ``linepatrol`` console script of this interpreter's environment."""
    candidate = Path(sys.executable).with_name("linepatrol")
    return str(candidate) if candidate.is_file() else "linepatrol"


def device_env(device: str) -> dict[str, str]:
    return {"LINEPATROL_PROVIDERS": "cuda" if device == "cuda" else "cpu"}


def detect_rss(model: Path, photo: Path, device: str, json_out: Path) -> dict[str, Any]:
    """Peak RSS of ``linepatrol detect`` on one photo, as a user runs it."""
    from PIL import Image

    with Image.open(photo) as im:
        w, h = im.size
    result = peak_rss_of([linepatrol_cli(), "detect", str(photo), "--model", str(model),
                          "--json", str(json_out), "--no-progress"], env=device_env(device))
    if result["returncode"] != 0:
        raise RuntimeError(f"linepatrol detect failed: {result['stderr'][-2000:]}")
    return {"photo": f"{w}x{h}", "megapixels": round(w * h / 1e6, 1),
            "peak_rss_mib": result["peak_rss_mib"], "wall_s": result["wall_s"],
            "command": "linepatrol detect PHOTO --model MODEL --json OUT --no-progress"}


def flight_run(model: Path | None, photos: list[Path], device: str, work: Path,
               path: str = "flight") -> dict[str, Any]:
    """A flight of photos in a child process (``flight``: the core pipeline; ``service``: the
    service's API and embedded worker, with ``model`` None: the bundled default): photos/s and
    the child's peak RSS."""
    list_file = work / "flight.txt"
    list_file.write_text("\n".join(str(p) for p in photos) + "\n")
    result = peak_rss_of([sys.executable, "-m", "benchmarks.child", path,
                          "" if model is None else str(model),
                          device, str(list_file), str(work)])
    if result["returncode"] != 0:
        raise RuntimeError(f"{path} child failed: {result['stderr'][-2000:]}")
    data: dict[str, Any] = json.loads(result["stdout"].strip().splitlines()[-1])
    data["photos_per_s"] = round(data["photos"] / data["run_s"], 2)
    data["peak_rss_mib"] = result["peak_rss_mib"]
    return data
