"""``linepatrol edge run FILE...`` / ``linepatrol edge watch DIR``: the front end on the device.

The small model judges every photo here; only photos with candidate findings (and, for a
camera, one photo per ``--proof-every-min`` as proof of coverage) go to the server, with the
edge's boxes attached, through a spool that survives restarts and server outages
(:mod:`linepatrol.edge`). Runtime install only: httpx and the model, no service import.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from linepatrol.cli.errors import UserError
from linepatrol.detect_config import add_detection_options, from_args

if TYPE_CHECKING:
    from linepatrol.edge.device import EdgeRunner, RoundResult

EX_TEMPFAIL = 75  # photos wait in the spool: run again (sysexits' "try again later")


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "edge", help="front end on a drone controller or camera: small model, send what matters",
        description="Run the small INT8 model on the device and send the server only photos "
        "with candidate findings (plus, for a camera, one photo every --proof-every-min as "
        "proof of coverage), with the edge's detections; everything passes through a spool "
        "that survives restarts and outages, and the server is told how many photos were "
        "seen and skipped.")
    edge_sub = p.add_subparsers(dest="edge_command", metavar="COMMAND", required=True)
    run_p = edge_sub.add_parser("run", help="judge and send these photos, then exit")
    run_p.add_argument("paths", nargs="*", metavar="FILE",
                       help="photos or folders (none: only send what the spool holds)")
    run_p.add_argument("--wait-s", type=float, default=0.0,
                       help="keep trying to send for up to this many seconds (0: one try)")
    run_p.set_defaults(handler=run)
    watch_p = edge_sub.add_parser("watch", help="watch a folder (a controller's card, a "
                                  "camera's output) and send new photos as they complete")
    watch_p.add_argument("folder", metavar="DIR")
    watch_p.add_argument("--poll-s", type=float, help="seconds between polls (2)")
    watch_p.set_defaults(handler=watch)
    for q in (run_p, watch_p):
        _common(q)


def _common(p: argparse.ArgumentParser) -> None:
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--flight", type=int, metavar="ID", help="a draft flight of the server")
    target.add_argument("--camera", metavar="CAM-ID", help="a camera registered on the server")
    p.add_argument("--server", metavar="URL", help="server base URL (LINEPATROL_EDGE_SERVER)")
    p.add_argument("--token", help="uploader token (LINEPATROL_EDGE_TOKEN)")
    p.add_argument("--model", help="edge model: bundled name (run at INT8) or ONNX file "
                   "(default linepatrol-cplid-v1)")
    add_detection_options(p)
    p.add_argument("--spool", metavar="DIR", help="spool folder (default: the user's data "
                   "folder, linepatrol/edge)")
    p.add_argument("--device", help="this device's name in the edge summary (the host name)")
    p.add_argument("--proof-every-min", type=float, metavar="N",
                   help="send one photo per N minutes even without a finding")


def _runner(args: argparse.Namespace) -> EdgeRunner:
    from linepatrol.edge.client import CameraTarget, EdgeClient, FlightTarget
    from linepatrol.edge.device import EdgePolicy, EdgeRunner
    from linepatrol.edge.settings import EdgeSettings
    from linepatrol.edge.spool import Spool
    from linepatrol.model_store import ModelNotFoundError
    from linepatrol.pipeline import model_paths, open_detector
    from linepatrol.runtime.model_info import ModelLoadError
    from linepatrol.runtime.providers import ProviderError
    from linepatrol.settings import CoreSettings

    edge = EdgeSettings()
    server = args.server or edge.server
    token = args.token or edge.token
    if not server or not token:
        raise UserError("--server and --token are needed (or LINEPATROL_EDGE_SERVER/_TOKEN)")
    spec = args.model or edge.model
    core = CoreSettings()
    if not Path(spec).expanduser().is_file():  # a bundled model: the small INT8 variant
        core = core.model_copy(update={"precision": edge.precision})
    try:
        paths = model_paths(spec, core)
        detector = open_detector(spec, core, from_args(args))
    except (ModelNotFoundError, ModelLoadError, ProviderError, ValueError) as exc:
        raise UserError(str(exc)) from None
    proof = args.proof_every_min or edge.proof_every_min
    target = FlightTarget(args.flight) if args.flight is not None else CameraTarget(args.camera)
    spool = Spool(Path(args.spool) if args.spool else edge.spool)
    spool.retry_now(target.key)  # a restart tries at once whatever waited
    return EdgeRunner(
        detector=detector, model="+".join(p.stem for p in paths), spool=spool,
        client=EdgeClient(server, token, timeout_s=edge.timeout_s), target=target,
        device=args.device or edge.device,
        policy=EdgePolicy(None if proof is None else dt.timedelta(minutes=proof)))


def _say(runner: EdgeRunner, sent: RoundResult) -> None:
    counts = runner.spool.counts(runner.target.key)
    print(f"{runner.target.key}: {counts.seen} seen, {counts.uploaded} sent, "
          f"{counts.skipped} skipped on the edge, {counts.pending} waiting, "
          f"{counts.refused} refused", file=sys.stderr)
    if sent.error:
        print(f"linepatrol edge: {sent.error}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from linepatrol.images import iter_image_paths

    files = [path for _, path in iter_image_paths(args.paths)]
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise UserError("no such file: " + ", ".join(missing[:5]))
    runner = _runner(args)
    try:
        runner.see(files)
        deadline = time.time() + max(0.0, args.wait_s)
        sent = runner.send()
        while sent.waiting and time.time() < deadline:
            due = runner.spool.next_try(runner.target.key) or time.time()
            time.sleep(max(0.1, min(due, deadline) - time.time()))
            sent = runner.send()
        _say(runner, sent)
        return EX_TEMPFAIL if sent.waiting or sent.error else 0
    finally:
        runner.client.close()
        runner.spool.close()


def watch(args: argparse.Namespace) -> int:
    from linepatrol.edge.device import FolderPoll
    from linepatrol.edge.settings import EdgeSettings

    folder = Path(args.folder)
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder")
    poll_s = args.poll_s or EdgeSettings().poll_s
    runner = _runner(args)
    poller = FolderPoll(folder, runner.spool)
    said: str | None = None
    try:
        while True:
            ready = poller.poll()
            if ready:
                runner.see(ready)
                poller.taken(ready)
            sent = runner.send()
            if ready or sent.sent or (sent.error and sent.error != said):
                _say(runner, sent)  # an outage is told once, not at every poll
            said = sent.error
            time.sleep(poll_s)
    finally:
        runner.client.close()
        runner.spool.close()
