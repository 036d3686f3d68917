"""The scale-out mode: the same processing steps as Celery tasks on a broker (Redis).

Tasks are acknowledged late and rejected on worker loss, so a task whose worker died is
delivered again; they are idempotent (see :mod:`linepatrol_service.processing`), so a second
delivery does no harm. Each worker process builds its own :class:`Services` (one model session).
A submitted flight is sent as several tasks so that several workers share its photos.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from celery import Celery

from linepatrol_service.settings import ServiceSettings

log = logging.getLogger(__name__)
TASK = "linepatrol.process_flight"
QUEUE = "linepatrol"


def make_celery(settings: ServiceSettings) -> Celery:
    app = Celery("linepatrol", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=QUEUE,
        task_ignore_result=True,
        broker_transport_options={"visibility_timeout": settings.celery_visibility_timeout_s},
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=3,
        # Submitting must answer quickly when the broker is down (the flight stays queued).
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0,
                                   "interval_step": 0.5, "interval_max": 1},
        worker_hijack_root_logger=False,
        worker_cancel_long_running_tasks_on_connection_loss=True,
    )
    return app


def register_tasks(app: Celery, services_factory: Any, worker_name: str) -> None:
    """Bind the processing task to this worker's services (built on first task)."""
    holder: dict[str, Any] = {}

    def services() -> Any:
        if "s" not in holder:
            holder["s"] = services_factory()
        return holder["s"]

    @app.task(name=TASK, bind=True, acks_late=True, reject_on_worker_lost=True)
    def process_flight(task: Any, flight_id: int) -> str:
        from linepatrol_service.processing import OutcomeState, run_flight

        outcome = run_flight(services(), flight_id, worker_name)
        if outcome.state is OutcomeState.WAITING:
            task.apply_async((flight_id,), countdown=outcome.retry_in)
        return outcome.state


class CeleryDispatcher:
    def __init__(self, settings: ServiceSettings, fanout: int = 4) -> None:
        self.settings = settings
        self.app = make_celery(settings)
        self.fanout = fanout

    def start(self) -> None:
        pass

    def stop(self) -> None:
        self.app.close()

    def dispatch(self, flight_id: int, photos: int) -> None:
        n = max(1, min(self.fanout, math.ceil(photos / self.settings.batch_size)))
        for _ in range(n):
            self.app.send_task(TASK, args=(flight_id,), queue=QUEUE)

    def health(self) -> dict[str, Any]:
        try:
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
