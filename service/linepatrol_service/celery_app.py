"""The scale-out mode: the same processing steps as Celery tasks on a broker (Redis).

Tasks are acknowledged late and rejected on worker loss, so a task whose worker died is
delivered again; they are idempotent (see :mod:`linepatrol_service.processing`), so a second
delivery does no harm. Each worker process builds its own :class:`Services` (one model session).
A submitted flight is sent as several tasks so that several workers share its photos. A task
carries the id of the request that submitted the flight, and the worker logs the flight's work
under it (:func:`linepatrol_service.logs.log_context`).
"""

from __future__ import annotations

import logging
import math
from typing import Any

from celery import Celery

from linepatrol_service.logs import log_context
from linepatrol_service.settings import ServiceSettings

log = logging.getLogger(__name__)
TASK = "linepatrol.process_flight"
QUEUE = "linepatrol"
# Corridor cameras' photos: a queue of their own, which workers consume first, so that a
# camera photo never waits behind a flight's tasks.
CAMERA_TASK = "linepatrol.process_cameras"
CAMERA_QUEUE = "linepatrol.camera"
WORKER_QUEUES = f"{CAMERA_QUEUE},{QUEUE}"


def make_celery(settings: ServiceSettings) -> Celery:
    app = Celery("linepatrol", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=QUEUE,
        task_ignore_result=True,
        # "priority": a worker takes from its queues in the order it lists them (-Q), not in
        # turn, so the camera queue it lists first is always drained first (kombu, Redis)
        broker_transport_options={"visibility_timeout": settings.celery_visibility_timeout_s,
                                  "queue_order_strategy": "priority"},
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=3,
        # Submitting must answer quickly when the broker is down (the flight stays queued).
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0,
                                   "interval_step": 0.5, "interval_max": 1},
        worker_hijack_root_logger=False,
        worker_cancel_long_running_tasks_on_connection_loss=True,
    )
    return app


# Atomically: send only what is missing from ``wanted`` tasks for the flight; count them.
_TOP_UP = """
local pending = tonumber(redis.call('GET', KEYS[1]) or '0')
local send = math.max(0, tonumber(ARGV[1]) - pending)
if send > 0 then redis.call('INCRBY', KEYS[1], send) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return send
"""
_DONE = """
local left = redis.call('DECR', KEYS[1])
if left <= 0 then redis.call('DEL', KEYS[1]) end
return left
"""


class TaskLedger:
    """How many tasks of each flight are in the broker (queued, or held by a worker), kept in
    Redis beside the queue, so that a dispatch sends only what is missing.

    A worker's restart queues every unfinished flight again; without this, each restart added
    up to ``fanout`` no-op tasks per flight (20 kills once left 79 in Redis). A task killed
    with its worker is redelivered by the broker and stays counted; it leaves the count when it
    finishes. The count expires after the visibility timeout (a task lost some other way costs
    a redundant dispatch at worst: tasks are idempotent). With a broker other than Redis it
    counts nothing and every dispatch is sent whole.
    """

    def __init__(self, settings: ServiceSettings) -> None:
        self.ttl_s = settings.celery_visibility_timeout_s
        self.client: Any = None
        if settings.broker_url.startswith(("redis://", "rediss://")):
            import redis

            self.client = redis.Redis.from_url(settings.broker_url, socket_timeout=3)

    @staticmethod
    def key(flight_id: int) -> str:
        return f"linepatrol:tasks:{flight_id}"

    def top_up(self, flight_id: int, wanted: int) -> int:
        """How many tasks to send now so that ``wanted`` are in the broker (counted as sent)."""
        if self.client is None:
            return wanted
        try:
            return int(self.client.eval(_TOP_UP, 1, self.key(flight_id), wanted, self.ttl_s))
        except Exception as exc:  # counting is an optimisation: never lose a dispatch to it
            log.warning("task ledger unavailable (%s): sending %d tasks", exc, wanted)
            return wanted

    CAMERA_KEY = "linepatrol:tasks:cameras"

    def camera_wanted(self) -> bool:
        """Whether to send a camera task: none is waiting in the broker (a waiting one will
        take this push's photo too: each task drains every pending camera photo)."""
        if self.client is None:
            return True
        try:
            return bool(self.client.set(self.CAMERA_KEY, 1, nx=True, ex=self.ttl_s))
        except Exception as exc:
            log.warning("task ledger unavailable (%s): sending a camera task", exc)
            return True

    def camera_started(self) -> None:
        """A camera task started: photos pushed from now on need another one."""
        if self.client is None:
            return
        try:
            self.client.delete(self.CAMERA_KEY)
        except Exception as exc:
            log.warning("task ledger unavailable (%s)", exc)

    def finished(self, flight_id: int) -> None:
        if self.client is None:
            return
        try:
            self.client.eval(_DONE, 1, self.key(flight_id))
        except Exception as exc:
            log.warning("task ledger unavailable (%s)", exc)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


def register_tasks(app: Celery, services_factory: Any, worker_name: str,
                   ledger: TaskLedger | None = None) -> None:
    """Bind the processing task to this worker's services (built on first task)."""
    holder: dict[str, Any] = {}

    def services() -> Any:
        if "s" not in holder:
            holder["s"] = services_factory()
        return holder["s"]

    @app.task(name=TASK, bind=True, acks_late=True, reject_on_worker_lost=True)
    def process_flight(task: Any, flight_id: int, request_id: str | None = None) -> str:
        """``request_id``: the submit's (None for a flight a worker resumed at start, and for
        tasks queued before the argument existed)."""
        from linepatrol_service.processing import OutcomeState, run_flight

        handed_on = False
        try:
            with log_context(request_id=request_id, flight_id=flight_id):
                log.info("flight %s: processing on %s", flight_id, worker_name)
                outcome = run_flight(services(), flight_id, worker_name)
                log.info("flight %s: %s", flight_id, outcome.state)
            if outcome.state is OutcomeState.WAITING:  # its place in the count: its successor
                task.apply_async((flight_id, request_id), countdown=outcome.retry_in)
                handed_on = True
            return outcome.state
        finally:
            if ledger is not None and not handed_on:
                ledger.finished(flight_id)

    @app.task(name=CAMERA_TASK, acks_late=True, reject_on_worker_lost=True)
    def process_cameras(request_id: str | None = None) -> int:
        """Every pending camera photo, in batches across cameras."""
        from linepatrol_service.processing import run_cameras

        if ledger is not None:
            ledger.camera_started()
        with log_context(request_id=request_id):
            done = run_cameras(services(), worker_name)
            log.info("camera photos: %d processed on %s", done, worker_name)
        return done


class CeleryDispatcher:
    def __init__(self, settings: ServiceSettings, fanout: int = 4) -> None:
        self.settings = settings
        self.app = make_celery(settings)
        self.fanout = fanout
        self.ledger = TaskLedger(settings)

    def start(self) -> None:
        pass

    def stop(self) -> None:
        self.app.close()
        self.ledger.close()

    def dispatch(self, flight_id: int, photos: int, request_id: str | None = None) -> None:
        """Send what is missing of the flight's tasks (a flight whose tasks are all in the
        broker already keeps the request id they carry)."""
        wanted = max(1, min(self.fanout, math.ceil(photos / self.settings.batch_size)))
        for _ in range(self.ledger.top_up(flight_id, wanted)):
            self.app.send_task(TASK, args=(flight_id, request_id), queue=QUEUE)

    def dispatch_camera(self, request_id: str | None = None) -> None:
        """Send a camera task to the camera queue unless one is waiting there already."""
        if self.ledger.camera_wanted():
            self.app.send_task(CAMERA_TASK, args=(request_id,), queue=CAMERA_QUEUE)

    def health(self) -> dict[str, Any]:
        try:
            if self.ledger.client is not None:  # Redis: a ping on a kept connection (< 1 ms)
                self.ledger.client.ping()
            else:  # a new broker connection each time (~75 ms)
                with self.app.connection_for_write() as conn:
                    conn.ensure_connection(max_retries=1, timeout=2)
            return {"mode": "celery", "ok": True, "broker": _redact(self.settings.broker_url)}
        except Exception as exc:
            return {"mode": "celery", "ok": False, "broker": _redact(self.settings.broker_url),
                    "error": str(exc)}


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
