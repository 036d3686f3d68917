"""``linepatrol serve``, ``linepatrol worker`` and ``linepatrol token``.

``register`` imports nothing heavy; FastAPI, uvicorn and Celery load inside the handlers.
``serve`` and ``worker`` set up the service's logs (:mod:`linepatrol_service.logs`: JSON lines
with the request id, or text on a terminal) in place of the command's plain ones, for their own
lines and uvicorn's and Celery's.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the CLI loads the service's heavy parts inside its handlers
    from linepatrol_service.services import Services

log = logging.getLogger(__name__)


def _data_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, default=None, metavar="DIR",
                   help="data directory (database and photos); default $LINEPATROL_DATA_DIR "
                   "or ./linepatrol-data")
    p.add_argument("--database-url", default=None,
                   help="SQLAlchemy URL (default: SQLite in the data directory)")


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add this package's subcommands; imports nothing heavy."""
    serve = subparsers.add_parser("serve", help="run the web service (API and embedded worker)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    _data_arg(serve)
    serve.add_argument("--model", default=None, help="ONNX model file or bundled model name")
    serve.add_argument("--queue", choices=("embedded", "celery"), default=None,
                       help="processing mode (default: embedded)")
    serve.add_argument("--no-ui", action="store_true", help="serve the API only")
    serve.set_defaults(handler=_serve)

    worker = subparsers.add_parser("worker", help="run a Celery worker for the scale-out mode")
    _data_arg(worker)
    worker.add_argument("--model", default=None)
    worker.add_argument("--broker", default=None,
                        help="broker URL (default $LINEPATROL_BROKER_URL)")
    worker.add_argument("--name", default=None,
                        help="node name (default linepatrol@HOST); keep it across restarts so "
                        "the worker takes back its own unfinished photos at once")
    worker.add_argument("--queues", default=None, metavar="Q1,Q2",
                        help="broker queues to consume, first ones first (default: "
                        "linepatrol.camera,linepatrol: corridor cameras' photos before flights)")
    worker.add_argument("--pool", choices=("solo", "threads"), default="solo")
    worker.add_argument("--concurrency", type=int, default=1)
    worker.add_argument("--loglevel", default=None, type=str.upper,
                        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                        help="default $LINEPATROL_LOG_LEVEL or INFO")
    worker.set_defaults(handler=_worker)

    token = subparsers.add_parser("token", help="create, list and revoke API tokens")
    tsub = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = tsub.add_parser("create", help="print a new token (shown only once)")
    create.add_argument("--role", choices=("uploader", "reviewer", "admin", "device"),
                        required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--camera", default=None, metavar="ID",
                        help="a device token's camera (required with --role device, only then)")
    _data_arg(create)
    create.set_defaults(handler=_token_create)
    lst = tsub.add_parser("list", help="list tokens (never their secrets)")
    _data_arg(lst)
    lst.set_defaults(handler=_token_list)
    revoke = tsub.add_parser("revoke", help="revoke a token by id")
    revoke.add_argument("id", type=int)
    _data_arg(revoke)
    revoke.set_defaults(handler=_token_revoke)

    camera = subparsers.add_parser("camera", help="register, list and remove corridor cameras")
    csub = camera.add_subparsers(dest="camera_command", metavar="ACTION", required=True)
    add = csub.add_parser("add", help="register a camera (see POST /api/v1/cameras)")
    add.add_argument("id", help="e.g. CAM-1")
    add.add_argument("--name", required=True)
    add.add_argument("--line", required=True)
    add.add_argument("--tower", default=None)
    for field in ("lat", "lon", "alt", "heading", "pitch"):
        add.add_argument(f"--{field}", type=float, required=True)
    add.add_argument("--roll", type=float, default=0.0)
    add.add_argument("--hfov", dest="hfov_deg", type=float, default=None,
                     help="horizontal field of view, degrees (or --focal-px)")
    add.add_argument("--focal-px", type=float, default=None)
    add.add_argument("--width", type=int, required=True)
    add.add_argument("--height", type=int, required=True)
    add.add_argument("--max-range", dest="max_range_m", type=float, default=None,
                     help="the hazard zone: metres from the camera (default: all it sees)")
    _data_arg(add)
    add.set_defaults(handler=_camera_add)
    clist = csub.add_parser("list", help="list cameras")
    _data_arg(clist)
    clist.set_defaults(handler=_camera_list)
    remove = csub.add_parser("remove", help="remove a camera, its photos, items and tokens")
    remove.add_argument("id")
    _data_arg(remove)
    remove.set_defaults(handler=_camera_remove)


def _settings(args: argparse.Namespace, **extra: Any) -> Any:
    from linepatrol_service.settings import ServiceSettings

    overrides: dict[str, Any] = {}
    if getattr(args, "data", None) is not None:
        overrides["data_dir"] = args.data
    if getattr(args, "database_url", None):
        overrides["database_url"] = args.database_url
    if getattr(args, "model", None):
        overrides["model"] = args.model
    if getattr(args, "queue", None):
        overrides["queue"] = args.queue
    if getattr(args, "broker", None):
        overrides["broker_url"] = args.broker
    overrides.update(extra)
    return ServiceSettings(**overrides)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from linepatrol_service.app import create_app
    from linepatrol_service.logs import configure_logging

    settings = _settings(args)
    configure_logging(settings.log_format, settings.log_level)
    app = create_app(settings, ui=not args.no_ui)
    log.info("LinePatrol serving on http://%s:%s/api/v1 (data %s, queue %s)", args.host,
             args.port, settings.data_dir.resolve(), settings.queue)
    # log_config=None: uvicorn's loggers keep no handlers of their own and reach the root's
    uvicorn.run(app, host=args.host, port=args.port, log_config=None,
                log_level=settings.log_level.lower())
    return 0


def _leave_logging_to_us(**_: object) -> None:
    """Celery's ``setup_logging`` receiver: with one connected, Celery configures no logging
    of its own and its records reach the root logger :func:`_worker` set up."""


def _worker(args: argparse.Namespace) -> int:
    import threading

    from celery.signals import setup_logging
    from prometheus_client import CollectorRegistry, start_http_server

    from linepatrol_service.celery_app import (
        WORKER_QUEUES,
        CeleryDispatcher,
        TaskLedger,
        make_celery,
        register_tasks,
    )
    from linepatrol_service.logs import configure_logging
    from linepatrol_service.metrics import InferenceMetrics
    from linepatrol_service.processing import (
        pending_camera_photos,
        reset_claims,
        resumable_flights,
    )
    from linepatrol_service.services import Services

    settings = _settings(args, queue="celery")
    args.queues = args.queues or WORKER_QUEUES
    level = args.loglevel or settings.log_level
    configure_logging(settings.log_format, level)
    setup_logging.connect(_leave_logging_to_us, weak=False)
    name = args.name or f"linepatrol@{socket.gethostname()}"
    inference = InferenceMetrics()
    if settings.worker_metrics_port is not None:
        registry = CollectorRegistry()
        registry.register(inference)
        start_http_server(settings.worker_metrics_port, registry=registry)
        log.info("worker %s: inference metrics on port %d", name,
                 settings.worker_metrics_port)
    # Take back what this worker's previous life left half done, and queue every unfinished
    # flight again, sending only the tasks the broker does not already hold (TaskLedger).
    boot = Services(settings)
    freed = reset_claims(boot, name)
    dispatcher = CeleryDispatcher(settings)
    resumed = resumable_flights(boot)
    if pending_camera_photos(boot):
        dispatcher.dispatch_camera()
    for flight_id, todo in resumed:
        dispatcher.dispatch(flight_id, max(todo, 1))
    dispatcher.stop()
    boot.close()
    log.info("worker %s: %d photos reclaimed, %d flights resumed", name, freed, len(resumed))

    app = make_celery(settings)
    lock = threading.Lock()
    holder: dict[str, Services] = {}

    def services() -> Services:
        with lock:
            if "s" not in holder:
                holder["s"] = Services(settings, run_migrations=False,
                                       inference_metrics=inference)
            return holder["s"]

    register_tasks(app, services, name, TaskLedger(settings))
    # warning events' webhook deliveries: each worker's main process sends the due ones
    # (claimed atomically), on an engine of its own that the pool's children never use
    from linepatrol_service.webhooks import WebhookSender

    if settings.webhook_url:
        WebhookSender(Services(settings, run_migrations=False).sessions, settings).start()
    app.worker_main([
        "worker", "--pool", args.pool, "--concurrency", str(args.concurrency), "-n", name,
        "-Q", args.queues, "--loglevel", level, "--without-gossip", "--without-mingle",
    ])
    return 0


def _open(args: argparse.Namespace) -> Services:
    """The service's parts for a one-shot command (``with _open(args) as services``)."""
    from linepatrol_service.services import Services

    return Services(_settings(args))


def _token_create(args: argparse.Namespace) -> int:
    from linepatrol.cli import UserError
    from linepatrol_service.auth import TokenError, create_token
    from linepatrol_service.roles import Role

    with _open(args) as services, services.sessions.begin() as s:
        try:
            row, secret = create_token(s, Role(args.role), args.name, args.camera)
        except TokenError as exc:
            raise UserError(str(exc)) from None
        print(secret)
        print(f"token {row.id} ({args.role}, {args.name}) created; it is shown only once",
              file=sys.stderr)
    return 0


def _token_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from linepatrol_service.models import Token

    with _open(args) as services, services.sessions() as s:
        for t in s.scalars(select(Token).order_by(Token.id)):
            state = "revoked" if t.revoked_at else "active"
            print(f"{t.id}\t{t.role}\t{state}\t{t.name}\t{t.created_at:%Y-%m-%d %H:%M}")
    return 0


def _token_revoke(args: argparse.Namespace) -> int:
    from linepatrol.cli import UserError
    from linepatrol_service.models import Token, utcnow

    with _open(args) as services:
        with services.sessions.begin() as s:
            row = s.get(Token, args.id)
            if row is None:
                raise UserError(f"no token {args.id}")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
        print(f"token {args.id} revoked")
    return 0


def _camera_add(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from linepatrol.cli import UserError
    from linepatrol_service.cameras import CameraExists, add_camera
    from linepatrol_service.schemas import CameraCreate

    fields = ("id", "name", "line", "tower", "lat", "lon", "alt", "heading", "pitch", "roll",
              "hfov_deg", "focal_px", "width", "height", "max_range_m")
    try:
        body = CameraCreate(**{f: getattr(args, f) for f in fields})
    except ValidationError as exc:
        raise UserError("; ".join(f"{'.'.join(map(str, e['loc'])) or 'camera'}: {e['msg']}"
                                  for e in exc.errors())) from None
    with _open(args) as services:
        with services.sessions.begin() as s:
            try:
                add_camera(s, body, "cli")
            except CameraExists as exc:
                raise UserError(str(exc)) from None
        print(f"camera {body.id} registered")
    return 0


def _camera_list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from linepatrol_service.models import Camera

    with _open(args) as services, services.sessions() as s:
        for c in s.scalars(select(Camera).order_by(Camera.id)):
            print(f"{c.id}\t{c.line}\t{c.tower or '-'}\t{c.lat:.6f},{c.lon:.6f}\t"
                  f"{c.heading:g}/{c.pitch:g}\t{c.width}x{c.height}\t{c.name}")
    return 0


def _camera_remove(args: argparse.Namespace) -> int:
    from linepatrol.cli import UserError
    from linepatrol_service.cameras import remove_camera

    with _open(args) as services:
        with services.sessions.begin() as s:
            if not remove_camera(s, args.id):
                raise UserError(f"no camera {args.id}")
        print(f"camera {args.id} removed")
    return 0
