"""Load benchmark of the service: N concurrent uploaders x P photos, one photo per request,
while a monitor polls ``/api/v1/health``. Loopback only, bounded in count and in time.

    python -m benchmarks.load --uploaders 20 50               # default service (SQLite)
    python -m benchmarks.load --uploaders 100 --database-url postgresql+psycopg://... \\
        --queue celery --broker redis://127.0.0.1:6379/5      # the scale-out mode

Each size starts a fresh ``linepatrol serve`` (its own data folder and port) and stops it
afterwards. An upload counts as failed unless its photo is in the flight afterwards; 503s with
``Retry-After`` are retried by the client (:mod:`linepatrol_service.client`) and counted
apart. ``--server-pythonpath`` runs the server from another source tree (a "before" run).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

from linepatrol_service.client import RetryAfterTransport

HOST = "127.0.0.1"  # loopback only
CHECK_S = 30.0  # the final count of each flight's photos, after the time limit


@dataclass
class Result:
    uploaders: int
    photos: int
    failed: int
    retried_503: int
    upload_p50_s: float
    upload_p95_s: float
    health_p50_ms: float
    health_p95_ms: float
    health_max_ms: float
    wall_s: float
    database: str


def photo(seed: int, side: int = 640) -> bytes:
    """A distinct small JPEG (~60 KB): noise over a gradient."""
    rng = np.random.default_rng(seed)
    grad = np.linspace(0, 200, side, dtype=np.float32)[None, :, None]
    pixels = np.clip(grad + rng.normal(0, 30, (side * 3 // 4, side, 3)), 0, 255)
    out = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(out, "JPEG", quality=80)
    return out.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


class Server:
    """``linepatrol serve`` in a subprocess, on a free loopback port."""

    def __init__(self, args: argparse.Namespace, data: Path) -> None:
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        env = dict(os.environ)
        if args.server_pythonpath:
            env["PYTHONPATH"] = args.server_pythonpath
        if args.database_url:
            env["LINEPATROL_DATABASE_URL"] = args.database_url
        self.env = env
        common = ["--data", str(data)]
        token = subprocess.run(
            [sys.executable, "-m", "linepatrol", "token", "create", "--role", "admin",
             "--name", "load", *common], env=env, capture_output=True, text=True, check=True)
        self.token = token.stdout.strip().splitlines()[-1]
        cmd = [sys.executable, "-m", "linepatrol", "serve", "--host", HOST,
               "--port", str(self.port), "--no-ui", *common]
        if args.queue:
            cmd += ["--queue", args.queue]
            env["LINEPATROL_BROKER_URL"] = args.broker
        self.log = open(data / "server.log", "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/api/v1/health", timeout=30).status_code < 600:
                    return  # the first call loads the model; later ones are what is measured
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the server did not start; see {data / 'server.log'}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def poll_health(base: str, stop: Any, found: Any, timeout: float) -> None:
    """``GET /health`` every 0.2 s until ``stop``; the latencies (ms) go to ``found``. In a
    process of its own, so that the uploaders' threads do not slow the measurement down."""
    latencies = []
    with httpx.Client(timeout=timeout) as c:
        while not stop.is_set():
            t0 = time.perf_counter()
            with contextlib.suppress(httpx.HTTPError):
                c.get(f"{base}/api/v1/health")
            latencies.append((time.perf_counter() - t0) * 1000)
            stop.wait(0.2)
    found.put(latencies)


def run_size(args: argparse.Namespace, uploaders: int) -> Result:
    with tempfile.TemporaryDirectory(prefix="linepatrol-load-") as tmp:
        server = Server(args, Path(tmp))
        try:
            return _load(args, server, uploaders)
        finally:
            server.stop()


def _load(args: argparse.Namespace, server: Server, uploaders: int) -> Result:
    headers = {"Authorization": f"Bearer {server.token}"}
    photos = [[photo(u * 1000 + i) for i in range(args.photos)] for u in range(uploaders)]
    latencies: list[float] = []
    failed = 0
    transports: list[RetryAfterTransport] = []
    lock = threading.Lock()
    deadline: float = time.monotonic() + args.time_limit

    def left() -> float:
        """No request outlives the time limit: a frozen server cannot hold the run longer."""
        return max(1.0, deadline - time.monotonic())

    def uploader(n: int) -> None:
        nonlocal failed
        transport = RetryAfterTransport()
        transports.append(transport)
        mine: list[float] = []
        lost = 0
        with httpx.Client(base_url=f"{server.base}/api/v1", headers=headers,
                          transport=transport, timeout=args.time_limit) as c:
            try:
                fid = c.post("/flights", json={"line": f"L{n}", "date": "2026-11-20"},
                             timeout=left()).raise_for_status().json()["id"]
            except httpx.HTTPError:
                with lock:
                    failed += args.photos
                return
            for i, data in enumerate(photos[n]):
                if time.monotonic() > deadline:
                    lost += 1
                    continue
                t0 = time.perf_counter()
                try:
                    r = c.post(f"/flights/{fid}/images",
                               files=[("files", (f"{n}-{i}.jpg", data, "image/jpeg"))],
                               timeout=left())
                    ok = r.status_code == 200 and r.json()["accepted"] == 1
                except httpx.HTTPError:
                    ok = False
                mine.append(time.perf_counter() - t0)
                lost += not ok
            try:  # an upload counts only if its photo is in the flight
                total = c.get(f"/flights/{fid}", timeout=CHECK_S
                              ).raise_for_status().json()["progress"]["total"]
                lost = max(lost, args.photos - total)
            except httpx.HTTPError:
                lost = args.photos
        with lock:
            latencies.extend(mine)
            failed += lost

    ctx = multiprocessing.get_context("spawn")
    stop, found = ctx.Event(), ctx.Queue()
    watcher = ctx.Process(target=poll_health, args=(server.base, stop, found, args.time_limit))
    watcher.start()
    started = time.perf_counter()
    threads = [threading.Thread(target=uploader, args=(n,)) for n in range(uploaders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    stop.set()
    health: list[float] = found.get(timeout=args.time_limit)
    watcher.join()
    db = "postgresql" if args.database_url else "sqlite"
    return Result(
        uploaders=uploaders, photos=uploaders * args.photos, failed=failed,
        retried_503=sum(t.retried for t in transports),
        upload_p50_s=round(percentile(latencies, 50), 3),
        upload_p95_s=round(percentile(latencies, 95), 3),
        health_p50_ms=round(statistics.median(health), 1) if health else float("nan"),
        health_p95_ms=round(percentile(health, 95), 1),
        health_max_ms=round(max(health, default=float("nan")), 1),
        wall_s=round(wall, 1), database=db + (f" + {args.queue}" if args.queue else ""),
    )


def table(results: list[Result]) -> str:
    rows = ["| database | uploaders | photos | failed | 503 retried | upload p50 s | "
            "upload p95 s | health p50 ms | health p95 ms | health max ms | wall s |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    rows += [f"| {r.database} | {r.uploaders} | {r.photos} | {r.failed} | {r.retried_503} | "
             f"{r.upload_p50_s} | {r.upload_p95_s} | {r.health_p50_ms} | {r.health_p95_ms} | "
             f"{r.health_max_ms} | {r.wall_s} |" for r in results]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--uploaders", type=int, nargs="+", default=[20, 50])
    p.add_argument("--photos", type=int, default=10, help="photos per uploader")
    p.add_argument("--time-limit", type=float, default=300.0,
                   help="seconds per size; uploads not sent by then count as failed")
    p.add_argument("--database-url", default=None)
    p.add_argument("--queue", choices=("embedded", "celery"), default=None)
    p.add_argument("--broker", default="redis://127.0.0.1:6379/5")
    p.add_argument("--server-pythonpath", default=None,
                   help="PYTHONPATH of the server (e.g. another checkout's sources)")
    p.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = p.parse_args(argv)
    if not all(1 <= n <= 500 for n in args.uploaders) or not 1 <= args.photos <= 100:
        p.error("between 1 and 500 uploaders, 1 and 100 photos each")
    results = []
    for n in args.uploaders:
        results.append(run_size(args, n))
        print(table(results[-1:]).splitlines()[-1], flush=True)
    print(table(results))
    if args.out:
        args.out.write_text(json.dumps([asdict(r) for r in results], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
