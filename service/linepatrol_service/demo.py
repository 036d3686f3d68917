"""``linepatrol demo``: the first minute on a fresh machine.

Starts the service with embedded defaults (SQLite and the photo store in a temporary folder, the
worker in-process, the bundled default models), loads the bundled sample flight through the real
API (ledger, flight, photos, submit), waits until it is processed, then prints the address and
a reviewer token and keeps serving until Ctrl-C.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

READY_TIMEOUT_S = 30.0
PROCESS_TIMEOUT_S = 600.0


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``linepatrol demo``; imports nothing heavy."""
    p = subparsers.add_parser(
        "demo", help="start the service with a processed sample flight (the first minute)",
        description="Start the service with embedded defaults, load and process the bundled "
        "sample flight, print the address and a reviewer token, serve until Ctrl-C.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free one)")
    p.add_argument("--data", type=Path, default=None, metavar="DIR",
                   help="keep the demo's database and photos here (default: a temporary "
                   "folder, deleted on exit)")
    p.add_argument("--model", default=None,
                   help="ONNX model file or bundled model name, A+B for several "
                   "(default: the bundled default)")
    p.add_argument("--no-wait", action="store_true",
                   help="print the address at once instead of after the sample is processed")
    p.set_defaults(handler=run_demo)


def _say(message: str) -> None:
    print(message, flush=True)


def _check_port(host: str, port: int) -> int:
    from linepatrol.cli import UserError

    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise UserError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); "
                            "pick another with --port (0: any free port)") from None
        return int(s.getsockname()[1])


def _model_spec(spec: str | None) -> str:
    """The model(s) the demo runs, as files joined by ``+``: the same choice `linepatrol detect`
    makes (the default pair; on the CPU, a bundled model's INT8 variant)."""
    from linepatrol.cli import UserError
    from linepatrol.model_store import ENSEMBLE_SEP, ModelNotFoundError
    from linepatrol.pipeline import model_paths
    from linepatrol.settings import CoreSettings

    try:
        return ENSEMBLE_SEP.join(str(p) for p in model_paths(spec, CoreSettings()))
    except ModelNotFoundError as exc:
        raise UserError(
            f"{exc}\nThe demo needs a detection model: install a release that bundles "
            "models/linepatrol-cplid-v1.onnx, or run 'linepatrol demo --model FILE.onnx'."
        ) from None


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _browse_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def load_sample(base: str, admin_token: str, wait: bool) -> dict[str, Any]:
    """Send the bundled sample through the API, as a patrol team would; the flight as returned
    last (processed unless ``wait`` is False)."""
    from linepatrol.cli import UserError
    from linepatrol_service import sample_flight
    from linepatrol_service.client import api_client

    photos = sample_flight.photos()
    if not photos:
        raise UserError("the bundled sample flight is missing from this install")
    meta = sample_flight.flight()
    with api_client(base, admin_token, timeout=120) as api:
        ledger = sample_flight.ledger_path().read_bytes()
        r = api.put(f"/lines/{meta['line']}/ledger", content=ledger,
                    headers={"Content-Type": "text/csv"})
        r.raise_for_status()
        _say(f"  ledger     {meta['line']}: {r.json()['towers']} towers")
        existing = api.get("/flights", params={"line": meta["line"], "status": "done"}).json()
        if existing["items"]:  # --data reused: the sample is there already
            flight: dict[str, Any] = existing["items"][0]
            _say(f"  flight     #{flight['id']} already processed in this data folder")
            return flight
        flight = api.post("/flights", json=meta).raise_for_status().json()
        files = [("files", (p.name, p.read_bytes(), "image/jpeg")) for p in photos]
        up = api.post(f"/flights/{flight['id']}/images", files=files).raise_for_status().json()
        _say(f"  upload     {up['accepted']} photos accepted, {up['rejected']} rejected")
        for item in up["files"]:
            if item["status"] == "rejected":
                _say(f"             {item['filename']}: {item['reason']}")
        flight = api.post(f"/flights/{flight['id']}/submit").raise_for_status().json()
        if not wait:
            return flight
        started = time.monotonic()
        _say("  processing …")
        while flight["status"] in ("queued", "processing"):
            if time.monotonic() - started > PROCESS_TIMEOUT_S:
                raise UserError(f"the sample flight is still {flight['status']} after "
                                f"{PROCESS_TIMEOUT_S:.0f} s")
            time.sleep(0.25)
            flight = api.get(f"/flights/{flight['id']}").raise_for_status().json()
        if flight["status"] != "done":
            raise UserError(f"the sample flight {flight['status']}: {flight.get('error')}")
        p = flight["progress"]
        _say(f"  processed  {p['done']} photos in {flight['timings']['processing_s']:.1f} s"
             f" ({p['failed']} failed): {flight['defects']} defects found")
        if not flight["defects"]:
            _say("             (this model found no defect in the sample; the flight page still "
                 "shows every photo with its boxes)")
        return flight


def run_demo(args: argparse.Namespace) -> int:
    import uvicorn

    from linepatrol_service.app import create_app
    from linepatrol_service.auth import create_token
    from linepatrol_service.models import Flight, Token
    from linepatrol_service.roles import Role
    from linepatrol_service.services import Services
    from linepatrol_service.settings import ServiceSettings

    model = _model_spec(args.model)
    port = _check_port(args.host, args.port)
    temporary = args.data is None
    data_dir = Path(tempfile.mkdtemp(prefix="linepatrol-demo-")) if temporary else args.data
    settings = ServiceSettings(data_dir=data_dir, queue="embedded", database_url=None,
                               model=model)
    _say("LinePatrol demo")
    _say(f"  data       {data_dir.resolve()}"
         + ("  (temporary: deleted on exit; keep it with --data DIR)" if temporary else ""))
    _say(f"  model      {model}")
    services = Services(settings)
    app = create_app(settings, services, ui=True)
    with services.sessions.begin() as s:
        admin_row, admin = create_token(s, Role.ADMIN, "demo-setup")
        _, reviewer = create_token(s, Role.REVIEWER, "demo-reviewer")
        uploader_row, uploader = create_token(s, Role.UPLOADER, "demo-uploader")
        admin_id = admin_row.id
        uploader_id = uploader_row.id

    server = uvicorn.Server(uvicorn.Config(app, host=args.host, port=port, log_level="warning",
                                           lifespan="on"))
    # uvicorn runs in a thread (it installs no signal handlers there), so this thread owns
    # Ctrl-C and SIGTERM: both end the wait below and clean up the temporary data folder.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    thread = threading.Thread(target=server.run, name="linepatrol-demo-server", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                _say("the service did not start; see the messages above")
                return 1
            time.sleep(0.05)
        base = f"http://{_browse_host(args.host)}:{port}"
        flight = load_sample(base, admin, wait=not args.no_wait)
        with services.sessions.begin() as s:
            # The sample is the demo patrol team's flight: an uploader reads only the flights
            # its token owns, so without this the printed uploader token would see no flight.
            sample = s.get(Flight, flight["id"])
            if sample is not None:
                sample.created_by = uploader_id
            row = s.get(Token, admin_id)  # the setup token has done its job
            if row is not None:
                from linepatrol_service.models import utcnow

                row.revoked_at = utcnow()
        _say("")
        _say(f"  Open   {base}/ui/flights/{flight['id']}")
        _say(f"  Sign in with this reviewer token:  {reviewer}")
        _say(f"  (uploader token, to send your own photos: {uploader})")
        _say("  Press Ctrl-C to stop.")
        while thread.is_alive():
            thread.join(timeout=0.5)
        return 0
    except KeyboardInterrupt:
        _say("\nstopping …")
        return 0
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        if temporary:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run_demo(argparse.Namespace(host="127.0.0.1", port=8000, data=None, model=None,
                                         no_wait=False)))
