"""The embedded dispatcher: worker threads inside the service process share one model session.

Bounded concurrency: ``worker_threads`` flights at once (default 1, so the model is never
oversubscribed); photos of a flight go through the detector in batches. On start it takes back
what a previous life of this process left claimed and queues every unfinished flight again.
A flight's work is logged under the id of the request that submitted it.

Corridor cameras have a thread of their own, so that their photos never queue behind a flight:
a push wakes it, and it detects every pending camera photo in batches across cameras
(:func:`linepatrol_service.processing.run_cameras`) on the same model session, beside the
flight's batches. A flight thread waits before each of its batches while camera work is
pending (at most ``CAMERA_FIRST_S``), so the camera batch gets the CPU first. A thread sends the
warning events' webhook deliveries (:class:`linepatrol_service.webhooks.WebhookSender`).
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from linepatrol_service.logs import log_context
from linepatrol_service.processing import (
    OutcomeState,
    pending_camera_photos,
    reset_claims,
    resumable_flights,
    run_cameras,
    run_flight,
)
from linepatrol_service.services import Services
from linepatrol_service.webhooks import WebhookSender

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Job:
    flight_id: int
    request_id: str | None


_STOP = _Job(-1, None)
# The longest a flight batch waits for camera work to finish (flights are never starved).
CAMERA_FIRST_S = 10.0


class EmbeddedDispatcher:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.name = f"embedded@{socket.gethostname()}:{services.settings.data_dir.resolve()}"
        self._queue: queue.Queue[_Job] = queue.Queue()
        self._pending: set[int] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._busy = 0
        # warning events to the deployment's webhook (a thread only when one is configured)
        self.webhooks = WebhookSender(services.sessions, services.settings)
        self._camera_wake = threading.Event()
        self._camera_clear = threading.Event()  # set: no camera work pending or running
        self._camera_clear.set()
        self._stopping = False
        self._camera_thread: threading.Thread | None = None

    def start(self) -> None:
        reset_claims(self.services, self.name)
        self.webhooks.start()
        self._stopping = False
        self._camera_thread = threading.Thread(target=self._camera_loop,
                                               name="linepatrol-cameras", daemon=True)
        self._camera_thread.start()
        for i in range(self.services.settings.worker_threads):
            t = threading.Thread(target=self._loop, name=f"linepatrol-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        if pending_camera_photos(self.services):
            self.dispatch_camera()
        for flight_id, _ in resumable_flights(self.services):
            self.dispatch(flight_id, 0)

    def stop(self) -> None:
        self.webhooks.stop()
        for _ in self._threads:
            self._queue.put(_STOP)
        self._stopping = True
        self._camera_wake.set()
        for t in self._threads:
            t.join(timeout=30)
        self._threads.clear()
        if self._camera_thread is not None:
            self._camera_thread.join(timeout=30)
            self._camera_thread = None

    def dispatch_camera(self, request_id: str | None = None) -> None:
        """Wake the camera thread: a camera photo was pushed."""
        with self._lock:
            self._camera_clear.clear()
            self._camera_wake.set()

    def _camera_loop(self) -> None:
        while True:
            self._camera_wake.wait()
            if self._stopping:
                return
            with self._lock:
                self._camera_wake.clear()
            try:
                run_cameras(self.services, self.name)
            except Exception:  # the batch went back to the pool; the next push retries
                log.exception("embedded worker: camera photos")
            with self._lock:
                if not self._camera_wake.is_set():
                    self._camera_clear.set()

    def camera_first(self) -> None:
        """Called by a flight before each batch: let pending camera work go first."""
        self._camera_clear.wait(timeout=CAMERA_FIRST_S)

    def dispatch(self, flight_id: int, photos: int, request_id: str | None = None) -> None:
        """Queue the flight unless it is queued already (then it keeps its first request
        id: that submit's work is what runs)."""
        with self._lock:
            if flight_id in self._pending:
                return
            self._pending.add(flight_id)
        self._queue.put(_Job(flight_id, request_id))

    def idle(self) -> bool:
        with self._lock:
            return not self._pending and self._busy == 0 and self._camera_clear.is_set()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until nothing is queued or running (tests and ``linepatrol demo`` use it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle():
                return True
            time.sleep(0.05)
        return False

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is _STOP:
                return
            with self._lock:
                self._pending.discard(job.flight_id)
                self._busy += 1
            try:
                with log_context(request_id=job.request_id, flight_id=job.flight_id):
                    self._run(job)
            finally:
                with self._lock:
                    self._busy -= 1

    def _run(self, job: _Job) -> None:
        log.info("flight %s: processing on %s", job.flight_id, self.name)
        try:
            outcome = run_flight(self.services, job.flight_id, self.name,
                                 before_batch=self.camera_first)
        except Exception:  # run_flight records failures; this is a last resort
            log.exception("embedded worker: flight %s", job.flight_id)
            return
        log.info("flight %s: %s", job.flight_id, outcome.state)
        if outcome.state is OutcomeState.WAITING:
            threading.Timer(outcome.retry_in, self.dispatch,
                            (job.flight_id, 0, job.request_id)).start()

    def health(self) -> dict[str, Any]:
        alive = sum(t.is_alive() for t in self._threads)
        return {
            "mode": "embedded",
            "ok": alive == len(self._threads) and alive > 0,
            "threads": alive,
            "queued": self._queue.qsize(),
            "busy": self._busy,
            "cameras": self._camera_thread is not None and self._camera_thread.is_alive(),
        }
