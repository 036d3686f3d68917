"""The stamp on every result: which machine, which versions, when, at which commit.

Numbers without the machine they were measured on mean nothing; every output file carries this.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("linepatrol", "onnxruntime-gpu", "onnxruntime", "ultralytics", "torch",
            "torchvision", "sahi", "numpy", "opencv-python-headless", "simplejpeg")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def ram_gib() -> float | None:
    try:
        import psutil

        return round(float(psutil.virtual_memory().total) / 2**30, 1)
    except ImportError:
        return None


def gpus() -> list[str]:
    """GPU model and memory from nvidia-smi; empty where there is none."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run(
            [smi, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


# A GPU runner often gets a copy of the tree whose git metadata is not the code's (an archive,
# a synced folder): it names the commit it runs instead.
COMMIT_ENV = "LINEPATROL_BENCH_COMMIT"


def git_commit() -> str | None:
    """The commit the code comes from: ``$LINEPATROL_BENCH_COMMIT`` when set, else git's HEAD
    (+dirty when the core or the benchmarks have uncommitted changes)."""
    if os.environ.get(COMMIT_ENV, "").strip():
        return os.environ[COMMIT_ENV].strip()
    try:
        out = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10, check=True)
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--",
                                "inspect", "benchmarks"],
                               capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def load_average() -> list[float] | None:
    """The 1/5/15-minute load: shows whether something else was using the CPUs."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def stamp(device: str, note: str | None = None) -> dict[str, Any]:
    cuda = None
    if device == "cuda":  # what really runs, not what is listed (see benchmarks.cuda_check)
        from benchmarks.cuda_check import ort_report, torch_report

        cuda = {"onnxruntime": ort_report(), "torch": torch_report()}
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "host": platform.node(),
        "os": f"{platform.system()} {platform.release()}",
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "ram_gib": ram_gib(),
        "gpus": gpus(),
        "device": device,
        "load_average_at_start": load_average(),
        "versions": versions(),
        "git_commit": git_commit(),
        "python_executable": sys.executable,
        "note": note,
        "cuda_check": cuda,
    }
