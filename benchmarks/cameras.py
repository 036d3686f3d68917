"""Corridor cameras under load: N cameras each pushing one photo every ``period`` seconds (sped
up), against ``linepatrol serve --queue celery`` with Celery workers on Redis and PostgreSQL on
this machine, one worker killed (SIGKILL) and restarted half-way. Loopback only, bounded in
count and in time.

    python -m benchmarks.cameras --cameras 1000 --period-s 600 --speedup 100 --duration-s 90

What is measured is the push -> queue -> detection -> k-of-n -> warning path, not a detector:
the model is a tiny ONNX built here whose answer depends on the photo (mean brightness above
one half: one excavator box; below: nothing), so bright photos "have a machine" and dark ones
do not. ``--model`` runs a real one instead (then which photos hold a machine is up to it, and
the latency and warning checks say little).

Everything runs in subprocesses on this interpreter and ``PYTHONPATH`` (this tree's code): a
fresh PostgreSQL database (dropped at the end), a Redis database number of its own (flushed),
``linepatrol serve`` on a free loopback port, ``--workers`` workers. The cameras stand along
one 500 kV line (a ledger with towers every 400 m) looking along it, so a machine they see is
within the warning distance of the conductor. A fraction of cameras (``--machine-fraction``)
see a machine in every photo; the rest never do. ``--duplicates`` photos are pushed a second
time (the same image must come back, not processed twice).

Checked at the end, from the database: every accepted photo done or failed (none lost, none
processed twice); per camera at most one hazard item and one warning, and one for every
machine camera with at least k machine photos processed; each item's sightings against its
camera's machine photos (a photo whose hazard step was skipped shows there). Measured: push
latency, the time from pushing the photo that completes k of n to its warning, throughput and
the backlog left when pushing stops.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import contextlib
import datetime as dt
import io
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

from benchmarks.load import HOST, free_port, percentile

LINE = "500kV 压测线"
LAT0, LON0 = 30.0, 114.0
M_PER_DEG_LAT = 111_320.0
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
W, H = 320, 240


@dataclass
class Pushed:
    camera: int
    seq: int
    machine: bool
    sent_at: float  # wall clock (time.time()) when the request was sent
    latency_s: float
    status: int
    image_id: int | None = None
    duplicate: bool = False


@dataclass
class Result:
    cameras: int
    machine_cameras: int
    period_s: float
    speedup: float
    duration_s: float
    workers: int
    model: str
    pushed: int
    accepted: int
    refused: int
    duplicates_pushed: int
    duplicates_same_image: int
    processed_done: int
    processed_failed: int
    lost: int
    processed_twice: int
    backlog_at_end_of_pushing: int
    drain_s: float
    push_rate_per_s: float
    processed_per_s: float
    push_p50_s: float
    push_p95_s: float
    push_max_s: float
    machine_cameras_due_warning: int
    warnings: int
    missing_warnings: int
    cameras_with_two_items: int
    items_per_camera_max: int
    warnings_per_item_max: int
    items_with_fewer_sightings: int
    warning_p50_s: float
    warning_p95_s: float
    warning_max_s: float
    killed_worker_at_s: float | None
    reclaimed_after_restart: str | None
    wall_s: float
    notes: list[str] = field(default_factory=list)


# --- the model and the photos ----------------------------------------------------------------


def brightness_model(path: Path, imgsz: int = 320) -> Path:
    """A tiny YOLO-layout ONNX: one excavator box when the input's mean is above 0.5, none
    otherwise (``boxes * (mean > 0.5)``; the batch axis flows through). Its input is the
    photos' size, so the default ``tile auto`` runs one whole-photo pass (a 64 px input would
    tile a 320 px photo and answer the box once per tile: six machines)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    names = ["excavator", "bird_nest"]
    anchors = 16
    const = np.zeros((1, 4 + len(names), anchors), np.float32)
    const[0, 0:4, 0] = (160.0, 200.0, 60.0, 50.0)  # (cx, cy, w, h) in input pixels
    const[0, 4, 0] = 0.9
    inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, imgsz, imgsz])
    out = helper.make_tensor_value_info("output0", TensorProto.FLOAT,
                                        ["batch", 4 + len(names), anchors])
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["m4"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Squeeze", ["m4", "ax"], ["m"]),  # (B, 1, 1)
        helper.make_node("Greater", ["m", "half"], ["bright"]),
        helper.make_node("Cast", ["bright"], ["on"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["on", "boxes"], ["output0"]),
    ]
    inits = [numpy_helper.from_array(np.array([3], np.int64), "ax"),
             numpy_helper.from_array(np.full((1, 1, 1), 0.5, np.float32), "half"),
             numpy_helper.from_array(const, "boxes")]
    graph = helper.make_graph(nodes, "brightness_excavator", [inp], [out], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in {"names": str(dict(enumerate(names))), "imgsz": str([imgsz, imgsz]),
                       "stride": "32", "task": "detect"}.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def photo(seed: int, machine: bool) -> bytes:
    """A distinct small JPEG (320x240): bright (a machine, to the tiny model) or dark."""
    rng = np.random.default_rng(seed)
    base = 210.0 if machine else 40.0
    pixels = np.clip(base + rng.normal(0, 20, (H, W, 3)), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=85)
    return out.getvalue()


def ledger_csv(cameras: int, spacing_m: float) -> str:
    """Towers every 400 m along a north-south line from before the first camera to well past
    what the last one sees (it looks north along the line)."""
    length = cameras * spacing_m + 2000.0
    rows = ["line,tower,lat,lon,ground_elev,height"]
    for i in range(int(length // 400) + 2):
        lat = LAT0 + (i * 400.0 - 400.0) / M_PER_DEG_LAT
        rows.append(f"{LINE},T{i:04d},{lat:.7f},{LON0:.7f},100,45")
    return "\n".join(rows) + "\n"


def camera_body(n: int, spacing_m: float) -> dict[str, Any]:
    return {"id": f"BC-{n:04d}", "name": f"bench camera {n}", "line": LINE, "tower": None,
            "lat": LAT0 + n * spacing_m / M_PER_DEG_LAT, "lon": LON0 + 0.00001, "alt": 20.0,
            "heading": 0.0, "pitch": -20.0, "roll": 0.0, "hfov_deg": 60.0, "width": W,
            "height": H}


# --- the processes ---------------------------------------------------------------------------


class Stack:
    """A fresh database, ``linepatrol serve --queue celery`` and its workers; all stopped and
    the database dropped in :meth:`close`."""

    def __init__(self, args: argparse.Namespace, data: Path, model: Path) -> None:
        import sqlalchemy as sa

        self.data, self.args = data, args
        self.db = f"linepatrol_bench_{os.getpid()}"
        self.admin = sa.create_engine(args.pg_admin, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)'))
            c.execute(sa.text(f'CREATE DATABASE "{self.db}"'))
        self.url = args.pg_admin.rsplit("/", 1)[0] + "/" + self.db
        import redis

        self.redis = redis.Redis.from_url(args.broker)
        self.redis.flushdb()
        self.env = dict(os.environ)
        self.env.update({
            "LINEPATROL_DATA_DIR": str(data), "LINEPATROL_DATABASE_URL": self.url,
            "LINEPATROL_BROKER_URL": args.broker, "LINEPATROL_MODEL": str(model),
            "LINEPATROL_QUEUE": "celery", "LINEPATROL_BATCH_SIZE": str(args.batch),
            "LINEPATROL_LOG_LEVEL": "WARNING",
        })
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: list[Any] = []
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        token = self._cli("token", "create", "--role", "admin", "--name", "bench")
        self.token = token.strip().splitlines()[-1]

    def _cli(self, *argv: str) -> str:
        return subprocess.run([sys.executable, "-m", "linepatrol", *argv], env=self.env,
                              capture_output=True, text=True, check=True, timeout=120).stdout

    def _spawn(self, key: str, *argv: str) -> None:
        log = open(self.data / f"{key}.log", "ab")  # noqa: SIM115 (closed in close)
        self.logs.append(log)
        self.procs[key] = subprocess.Popen([sys.executable, "-m", "linepatrol", *argv],
                                           env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def start(self) -> None:
        self._spawn("serve", "serve", "--host", HOST, "--port", str(self.port), "--no-ui")
        for i in range(self.args.workers):
            self.start_worker(i)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base}/api/v1/health", timeout=10).status_code == 200:
                    return
            if self.procs["serve"].poll() is not None:
                break
            time.sleep(0.3)
        raise RuntimeError(f"the server did not start; see {self.data / 'serve.log'}")

    def start_worker(self, i: int) -> None:
        self._spawn(f"worker{i}", "worker", "--name", f"bench-w{i}")

    def kill_worker(self, i: int) -> None:
        proc = self.procs[f"worker{i}"]
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)

    def close(self) -> None:
        import sqlalchemy as sa

        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        for log in self.logs:
            log.close()
        with contextlib.suppress(Exception):
            self.redis.flushdb()
            self.redis.close()
        for eng in _ENGINES.values():
            eng.dispose()
        _ENGINES.clear()
        if not self.args.keep_db:
            with self.admin.connect() as c:
                c.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)'))
        self.admin.dispose()


# --- the run ---------------------------------------------------------------------------------


def setup(stack: Stack, args: argparse.Namespace, spacing_m: float) -> list[str]:
    """Register the ledger, the cameras and a device token for each (in parallel)."""
    headers = {"Authorization": f"Bearer {stack.token}"}
    with httpx.Client(base_url=f"{stack.base}/api/v1", headers=headers, timeout=60) as c:
        c.put(f"/lines/{LINE}/ledger", content=ledger_csv(args.cameras, spacing_m).encode(),
              headers={"Content-Type": "text/csv"}).raise_for_status()

        def one(n: int) -> str:
            body = camera_body(n, spacing_m)
            c.post("/cameras", json=body).raise_for_status()
            r = c.post("/tokens", json={"role": "device", "name": f"cam {n}",
                                        "camera": body["id"]})
            r.raise_for_status()
            return str(r.json()["token"])

        with cf.ThreadPoolExecutor(8) as pool:
            return list(pool.map(one, range(args.cameras)))


def run(args: argparse.Namespace) -> Result:
    started = time.monotonic()
    hard_deadline = started + args.time_limit
    with tempfile.TemporaryDirectory(prefix="linepatrol-cameras-") as tmp:
        data = Path(tmp)
        model = Path(args.model) if args.model else brightness_model(data / "bright.onnx")
        stack = Stack(args, data, model)
        try:
            stack.start()
            return _run(args, stack, model, started, hard_deadline)
        finally:
            stack.close()


def _run(args: argparse.Namespace, stack: Stack, model: Path, started: float,
         hard_deadline: float) -> Result:
    spacing_m = 25.0
    tokens = setup(stack, args, spacing_m)
    rng = random.Random(args.seed)
    machine = set(rng.sample(range(args.cameras), round(args.cameras * args.machine_fraction)))
    interval = args.period_s / args.speedup
    # the schedule: each camera's photos every `interval` s from a random phase, with jitter
    schedule: list[tuple[float, int, int]] = []
    for cam in range(args.cameras):
        t, seq = rng.uniform(0, interval), 0
        while t < args.duration_s:
            schedule.append((t, cam, seq))
            seq += 1
            t += interval * rng.uniform(1 - args.jitter, 1 + args.jitter)
    schedule.sort()
    dup_every = max(1, len(schedule) // max(args.duplicates, 1)) if args.duplicates else 0
    results: list[Pushed] = []
    lock = threading.Lock()
    notes: list[str] = []
    kill_at_index = len(schedule) // 2 if args.kill else -1
    killed_at: list[float] = []
    clients = threading.local()

    def client() -> httpx.Client:
        if not hasattr(clients, "c"):
            clients.c = httpx.Client(base_url=f"{stack.base}/api/v1", timeout=60)
        c: httpx.Client = clients.c
        return c

    def push(cam: int, seq: int, again: bool = False) -> Pushed:
        has = cam in machine
        if time.monotonic() > pushing_deadline:  # the pool's queue is bounded in time too
            skipped = Pushed(cam, seq, has, time.time(), 0.0, -1)
            with lock:
                results.append(skipped)
            return skipped
        body = photo(cam * 100_000 + seq, has)
        sent = time.time()
        at = dt.datetime.fromtimestamp(sent, dt.UTC).isoformat()
        t0 = time.perf_counter()
        try:
            r = client().post(f"/cameras/BC-{cam:04d}/images",
                              headers={"Authorization": f"Bearer {tokens[cam]}"},
                              files={"file": (f"{cam}-{seq}.jpg", body, "image/jpeg")},
                              data={"captured_at": at},
                              timeout=max(1.0, hard_deadline - time.monotonic()))
            status, js = r.status_code, (r.json() if r.status_code == 202 else {})
        except httpx.HTTPError:
            status, js = 0, {}
        p = Pushed(cam, seq, has, sent, time.perf_counter() - t0, status,
                   js.get("image_id"), bool(js.get("duplicate")))
        with lock:
            results.append(p)
        return p

    t_start = time.monotonic()
    pushing_deadline = min(t_start + args.duration_s + 30, hard_deadline - args.drain_s)
    originals: dict[tuple[int, int], Pushed] = {}
    dup_futures = []
    with cf.ThreadPoolExecutor(args.threads) as pool:
        futures = {}
        for i, (t, cam, seq) in enumerate(schedule):
            wait = t_start + t - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if time.monotonic() > pushing_deadline:
                notes.append(f"pushing stopped at the time limit: {len(schedule) - i} photos "
                             "never sent")
                break
            if i == kill_at_index:
                stack.kill_worker(0)
                killed_at.append(time.monotonic() - t_start)
                stack.start_worker(0)
            futures[(cam, seq)] = pool.submit(push, cam, seq)
            if dup_every and i % dup_every == dup_every // 2 and i >= args.cameras:
                # an earlier photo already answered, pushed again (a camera's retry)
                earlier = next((key for key in futures
                                if key not in originals and futures[key].done()), None)
                if earlier is not None:
                    originals[earlier] = futures[earlier].result()
                    dup_futures.append((earlier, pool.submit(push, *earlier, True)))
        push_wall = time.monotonic() - t_start
    backlog = pending(stack)
    drain_start = time.monotonic()
    while pending(stack) and time.monotonic() < min(drain_start + args.drain_s, hard_deadline):
        time.sleep(1.0)
    drain = time.monotonic() - drain_start
    if pending(stack):
        time.sleep(3)  # a hazard step after the last DONE may still be running
    else:
        time.sleep(2)
    return measure(args, stack, model, results, originals, dup_futures, machine, backlog,
                   push_wall, drain, killed_at, notes, started)


def pending(stack: Stack) -> int:
    import sqlalchemy as sa

    eng = _engine(stack)
    with eng.connect() as c:
        return int(c.execute(sa.text(
            "SELECT count(*) FROM images WHERE camera_id IS NOT NULL "
            "AND status NOT IN ('done', 'failed')")).scalar() or 0)


_ENGINES: dict[str, Any] = {}


def _engine(stack: Stack) -> Any:
    import sqlalchemy as sa

    if stack.url not in _ENGINES:
        _ENGINES[stack.url] = sa.create_engine(stack.url, pool_size=1)
    return _ENGINES[stack.url]


def measure(args: argparse.Namespace, stack: Stack, model: Path, results: list[Pushed],
            originals: dict[tuple[int, int], Pushed],
            dup_futures: list[tuple[tuple[int, int], Any]], machine: set[int], backlog: int,
            push_wall: float, drain: float, killed_at: list[float], notes: list[str],
            started: float) -> Result:
    import sqlalchemy as sa

    firsts = {(p.camera, p.seq): p for p in results if not p.duplicate}
    dups = [f.result() for _, f in dup_futures]
    same = sum(1 for (key, _), d in zip(dup_futures, dups, strict=True)
               if d.status == 202 and d.duplicate and d.image_id == firsts[key].image_id)
    unsent = [p for p in results if p.status == -1]
    if unsent:
        notes.append(f"{len(unsent)} photos were still waiting for a free pushing thread at "
                     "the time limit and were never sent (the service did not keep up)")
    pushes = [p for p in results if p not in dups and p.status != -1]
    accepted = {p.image_id: p for p in pushes if p.status == 202 and p.image_id is not None}
    eng = _engine(stack)
    with eng.connect() as c:
        rows = c.execute(sa.text(
            "SELECT id, camera_id, status, processed_count, processed_at FROM images "
            "WHERE camera_id IS NOT NULL")).all()
        items = c.execute(sa.text(
            "SELECT id, camera_id, sightings, status FROM defects WHERE camera_id IS NOT NULL"
        )).all()
        warns = c.execute(sa.text(
            "SELECT w.defect_id, d.camera_id, w.issued_at FROM warnings w "
            "JOIN defects d ON d.id = w.defect_id")).all()
        reclaim = c.execute(sa.text(
            "SELECT count(*) FROM images WHERE processed_by = 'bench-w0' AND camera_id IS NOT "
            "NULL")).scalar()
    by_id = {int(r.id): r for r in rows}
    done = sum(1 for r in rows if r.status == "done")
    failed = sum(1 for r in rows if r.status == "failed")
    lost = sum(1 for i in accepted if i not in by_id or by_id[i].status not in ("done", "failed"))
    twice = sum(1 for r in rows if (r.processed_count or 0) > 1)
    items_by_cam: dict[str, list[Any]] = {}
    for it in items:
        items_by_cam.setdefault(it.camera_id, []).append(it)
    warns_by_item: dict[int, int] = {}
    warn_by_cam: dict[str, list[dt.datetime]] = {}
    for w in warns:
        warns_by_item[w.defect_id] = warns_by_item.get(w.defect_id, 0) + 1
        warn_by_cam.setdefault(w.camera_id, []).append(w.issued_at)
    k = 2  # the service's default camera_confirm_k (the run leaves it at its default)
    due = 0
    missing = 0
    fewer = 0
    latencies = []
    for cam in machine:
        cid = f"BC-{cam:04d}"
        mine = sorted((p for p in pushes if p.camera == cam and p.image_id in by_id
                       and by_id[p.image_id].status == "done"), key=lambda p: p.sent_at)
        if len(mine) < k:
            continue
        due += 1
        if cid not in warn_by_cam:
            missing += 1
            continue
        issued = min(warn_by_cam[cid])
        issued = issued if issued.tzinfo else issued.replace(tzinfo=dt.UTC)
        latencies.append(issued.timestamp() - mine[k - 1].sent_at)
        # every machine photo after the k-th adds one sighting to the item (k-1 before it)
        sightings = max((it.sightings or 0) for it in items_by_cam.get(cid, []))
        if sightings < len(mine) - (k - 1):
            fewer += 1
    stray = [c for c in items_by_cam if int(c.split("-")[1]) not in machine]
    if stray:
        notes.append(f"hazard items on cameras that never saw a machine: {len(stray)}")
    lat = [p.latency_s for p in pushes if p.status == 202]
    processed = done + failed
    return Result(
        cameras=args.cameras, machine_cameras=len(machine), period_s=args.period_s,
        speedup=args.speedup, duration_s=args.duration_s, workers=args.workers,
        model=("tiny brightness ONNX (queue/warning path, not a detector)"
               if not args.model else str(model)),
        pushed=len(pushes), accepted=len(accepted),
        refused=sum(1 for p in pushes if p.status != 202),
        duplicates_pushed=len(dups), duplicates_same_image=same,
        processed_done=done, processed_failed=failed, lost=lost, processed_twice=twice,
        backlog_at_end_of_pushing=backlog, drain_s=round(drain, 1),
        push_rate_per_s=round(len(pushes) / push_wall, 2),
        processed_per_s=round(processed / (push_wall + drain), 2),
        push_p50_s=round(percentile(lat, 50), 3), push_p95_s=round(percentile(lat, 95), 3),
        push_max_s=round(max(lat, default=float("nan")), 3),
        machine_cameras_due_warning=due, warnings=len(warns), missing_warnings=missing,
        cameras_with_two_items=sum(1 for v in items_by_cam.values() if len(v) > 1),
        items_per_camera_max=max((len(v) for v in items_by_cam.values()), default=0),
        warnings_per_item_max=max(warns_by_item.values(), default=0),
        items_with_fewer_sightings=fewer,
        warning_p50_s=round(percentile(latencies, 50), 2),
        warning_p95_s=round(percentile(latencies, 95), 2),
        warning_max_s=round(max(latencies, default=float("nan")), 2),
        killed_worker_at_s=round(killed_at[0], 1) if killed_at else None,
        reclaimed_after_restart=(f"{reclaim} photos processed by bench-w0 in all"
                                 if killed_at else None),
        wall_s=round(time.monotonic() - started, 1), notes=notes,
    )


def table(r: Result) -> str:
    rows = [
        ("cameras (seeing a machine)", f"{r.cameras} ({r.machine_cameras})"),
        ("one photo per camera every", f"{r.period_s:g} s / speedup {r.speedup:g} = "
         f"{r.period_s / r.speedup:g} s, for {r.duration_s:g} s"),
        ("workers", f"{r.workers} (worker 0 SIGKILLed at {r.killed_worker_at_s} s and "
         "restarted)" if r.killed_worker_at_s is not None else str(r.workers)),
        ("photos pushed / accepted / refused", f"{r.pushed} / {r.accepted} / {r.refused}"),
        ("push rate", f"{r.push_rate_per_s} photos/s"),
        ("push latency p50 / p95 / max", f"{r.push_p50_s} / {r.push_p95_s} / {r.push_max_s} s"),
        ("duplicates pushed / same image back", f"{r.duplicates_pushed} / "
         f"{r.duplicates_same_image}"),
        ("processed done / failed", f"{r.processed_done} / {r.processed_failed}"),
        ("**lost** (accepted, not done or failed)", f"**{r.lost}**"),
        ("processed twice", str(r.processed_twice)),
        ("backlog when pushing stopped / drained in", f"{r.backlog_at_end_of_pushing} photos "
         f"/ {r.drain_s} s"),
        ("processing throughput (pushing + drain)", f"{r.processed_per_s} photos/s"),
        ("machine cameras due a warning / warnings / missing", f"{r.machine_cameras_due_warning}"
         f" / {r.warnings} / {r.missing_warnings}"),
        ("**max warnings per item / items per camera**", f"**{r.warnings_per_item_max} / "
         f"{r.items_per_camera_max}**"),
        ("items with fewer sightings than machine photos − (k−1)",
         str(r.items_with_fewer_sightings)),
        ("push of the k-th machine photo → warning p50 / p95 / max",
         f"{r.warning_p50_s} / {r.warning_p95_s} / {r.warning_max_s} s"),
        ("wall (setup included)", f"{r.wall_s} s"),
    ]
    out = ["| | |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows]
    out += [f"\nNote: {n}" for n in r.notes]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.cameras", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cameras", type=int, default=1000)
    p.add_argument("--period-s", type=float, default=600.0, help="a camera's photo period")
    p.add_argument("--speedup", type=float, default=100.0)
    p.add_argument("--duration-s", type=float, default=90.0, help="seconds of pushing")
    p.add_argument("--jitter", type=float, default=0.1, help="± fraction of the interval")
    p.add_argument("--machine-fraction", type=float, default=0.1)
    p.add_argument("--duplicates", type=int, default=20, help="photos pushed a second time")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--no-kill", dest="kill", action="store_false",
                   help="do not SIGKILL worker 0 half-way")
    p.add_argument("--threads", type=int, default=16, help="concurrent pushes at most")
    p.add_argument("--batch", type=int, default=16, help="photos a worker claims at a time")
    p.add_argument("--drain-s", type=float, default=120.0,
                   help="how long to wait for the backlog after pushing")
    p.add_argument("--time-limit", type=float, default=420.0, help="hard limit of the run")
    p.add_argument("--model", default=None, help="a real ONNX model instead of the tiny one")
    p.add_argument("--pg-admin", default=PG_ADMIN, help="PostgreSQL to create the database in")
    p.add_argument("--broker", default="redis://127.0.0.1:6379/7")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep-db", action="store_true", help="leave the database (to look into)")
    p.add_argument("--out", type=Path, default=None, help="write JSON here (and .md beside)")
    args = p.parse_args(argv)
    if not (1 <= args.cameras <= 5000 and 0 < args.duration_s <= 600 and args.speedup > 0
            and 1 <= args.threads <= 64 and 1 <= args.workers <= 4
            and args.time_limit <= 1200):
        p.error("at most 5000 cameras, 600 s of pushing, 64 threads, 4 workers, 1200 s in all")
    if args.kill and args.workers < 1:
        p.error("--kill needs a worker")
    result = run(args)
    text = table(result)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(asdict(result), indent=1) + "\n")
        args.out.with_suffix(".md").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
