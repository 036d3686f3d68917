"""The service's state, built from settings: database, photo store, detector, dispatcher,
inference metrics.

One object per process (the web app keeps it on ``app.state.services``; a Celery worker builds
its own), never a module-level singleton.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from linepatrol.ensemble import AnyDetector
from linepatrol_service.backpressure import DB_WAIT_S, HEALTH_THREADS, pool_sizes
from linepatrol_service.db import make_engine, make_session_factory, migrate
from linepatrol_service.metrics import InferenceMetrics
from linepatrol_service.settings import ServiceSettings
from linepatrol_service.storage import PhotoStore

if TYPE_CHECKING:
    pass


class Dispatcher(Protocol):
    """Where submitted flights go to be processed."""

    def dispatch(self, flight_id: int, photos: int, request_id: str | None = None) -> None:
        """Queue the flight; ``request_id``: the submit's, which the worker's log lines for
        this flight carry (:func:`linepatrol_service.logs.log_context`)."""
        ...

    def dispatch_camera(self, request_id: str | None = None) -> None:
        """A corridor camera's photo was pushed: process pending camera photos ahead of
        flights (their own queue)."""
        ...

    def health(self) -> dict[str, Any]: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


class DetectorHolder:
    """One model session per process, opened on first use (loading takes a second or two)."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._detector: AnyDetector | None = None
        self.error: str | None = None

    def get(self) -> AnyDetector:
        with self._lock:
            if self._detector is None:
                from linepatrol.pipeline import open_detector

                try:
                    self._detector = open_detector(self._settings.model, self._settings,
                                                   self._settings.detector_config())
                    self.error = None
                except Exception as exc:
                    self.error = str(exc)
                    raise
            return self._detector

    @property
    def loaded(self) -> bool:
        return self._detector is not None

    def describe(self) -> dict[str, Any]:
        return self.get().describe()


class Services:
    def __init__(self, settings: ServiceSettings, run_migrations: bool = True,
                 inference_metrics: InferenceMetrics | None = None) -> None:
        """``inference_metrics``: where this process's workers count their photos; a Celery
        worker passes the one it serves before its first task builds these services."""
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = make_engine(settings.resolved_database_url(),
                                          pool_size=pool_sizes(settings).connections,
                                          pool_timeout=DB_WAIT_S)
        # The health check's own connections: it never waits behind busy requests for one.
        self.health_engine: Engine = make_engine(settings.resolved_database_url(),
                                                 pool_size=HEALTH_THREADS,
                                                 pool_timeout=DB_WAIT_S)
        if run_migrations:
            migrate(self.engine)
        self.sessions: sessionmaker[Session] = make_session_factory(self.engine)
        self.store = PhotoStore(settings.photo_dir, settings.upload_tmp_dir)
        self.detector = DetectorHolder(settings)
        self.dispatcher: Dispatcher | None = None
        self.inference_metrics = (inference_metrics if inference_metrics is not None
                                  else InferenceMetrics())

    def close(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.stop()
        self.engine.dispose()
        self.health_engine.dispose()
