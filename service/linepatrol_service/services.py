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
    """The model sessions of this process, one per spec that runs (the active version and a
    shadow candidate, :mod:`linepatrol_service.registry`), each opened on first use (loading
    takes a second or two); ``get()`` with no spec: the configured model."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._detectors: dict[str | None, AnyDetector] = {}
        self.error: str | None = None

    def get(self, spec: str | None = None) -> AnyDetector:
        """The detector for ``spec`` (None: the configured model)."""
        key = self._settings.model if spec is None else spec
        with self._lock:
            detector = self._detectors.get(key)
            if detector is None:
                from linepatrol.pipeline import open_detector

                try:
                    detector = open_detector(key, self._settings,
                                             self._settings.detector_config())
                    self.error = None
                except Exception as exc:
                    self.error = str(exc)
                    raise
                self._detectors[key] = detector
            return detector

    def keep(self, specs: set[str | None]) -> None:
        """Let go of the sessions of specs no longer deployed (a promotion's old model)."""
        with self._lock:
            for key in [k for k in self._detectors if k not in specs]:
                del self._detectors[key]

    @property
    def loaded(self) -> bool:
        return bool(self._detectors)

    @property
    def photos_per_call(self) -> int:
        """The most photos one call of a loaded model takes (1 before any is loaded)."""
        with self._lock:
            return max((d.photos_per_call for d in self._detectors.values()), default=1)

    def describe(self, spec: str | None = None) -> dict[str, Any]:
        return self.get(spec).describe()


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

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.stop()
        self.engine.dispose()
        self.health_engine.dispose()
