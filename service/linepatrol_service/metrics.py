"""Prometheus metrics: HTTP traffic, inference in the workers, and the database read at scrape.

Each app has its own registry (two apps in one test process must not share counters), and so
does a Celery worker; nothing registers in prometheus_client's global ``REGISTRY``.

- HTTP: prometheus-fastapi-instrumentator's middleware, by route template (not the raw path,
  which would explode the labels) and exact status: ``linepatrol_http_requests_total``,
  ``linepatrol_http_request_duration_seconds`` (by route), ``…_duration_highr_seconds`` (all
  routes, fine buckets), ``linepatrol_http_request_size_bytes``,
  ``linepatrol_http_response_size_bytes``.
- Inference (:class:`InferenceMetrics`, in the process that runs the detector):
  ``linepatrol_inference_photos_total{outcome="done"|"failed"}``,
  ``linepatrol_inference_photo_seconds`` (a histogram with one observation per photo: its
  batch's seconds over the batch's photos).
- Database, at scrape time: ``linepatrol_flights``, ``linepatrol_images``,
  ``linepatrol_defects`` by status, and the queue depth ``linepatrol_queue_photos{state=
  "pending"|"claimed"}`` (photos of submitted flights not processed yet; drafts' photos are no
  work for a worker).

With ``queue=embedded`` the inference metrics are the app's, on ``/api/v1/metrics``. With
``queue=celery`` inference runs in the ``linepatrol worker`` processes, which the API process
cannot see: each worker serves its own on ``worker_metrics_port`` (off by default; a worker runs
one process, ``--pool solo|threads``, so one registry holds all its counts and no
multiprocess directory is needed). The queue depth is read from the database, so the API
process reports it in either mode.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Histogram, Metric
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from prometheus_fastapi_instrumentator import Instrumentator
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from linepatrol_service.domain import ACTIVE_FLIGHT, UNFINISHED_PHOTO
from linepatrol_service.models import Defect, Flight, Image

NAMESPACE = "linepatrol"
# Seconds of a request by route: uploads of many photos take tens of seconds.
HTTP_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# Seconds per photo: ~10 ms on a GPU, ~0.1-2 s on a CPU, more with tiling.
PHOTO_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class InferenceMetrics(Collector):
    """Photos through the detector in this process. Not registered anywhere by itself: the
    app registers it in its registry, a Celery worker in the one it serves."""

    def __init__(self) -> None:
        self.photos = Counter(
            "photos", "Photos the workers ran through the detector, by outcome (failed: "
            "unreadable)", ["outcome"], namespace=NAMESPACE, subsystem="inference",
            registry=None,
        )
        for outcome in ("done", "failed"):
            self.photos.labels(outcome)  # present (at 0) before the first batch
        self.seconds_per_photo = Histogram(
            "photo_seconds", "Seconds per photo: each batch's decode+detect seconds over its "
            "photos, observed once per photo", namespace=NAMESPACE, subsystem="inference",
            buckets=PHOTO_BUCKETS, registry=None,
        )

    def record_batch(self, photos_done: int, photos_failed: int, seconds: float) -> None:
        """One batch the worker ran: photos detected, photos that could not be read, and the
        batch's seconds. Counts the work done, whether or not its results were committed (a
        claim lost to another worker meanwhile still took this worker's time)."""
        if photos_done < 0 or photos_failed < 0 or seconds < 0:
            raise ValueError(f"negative batch: {photos_done}, {photos_failed}, {seconds}")
        photos = photos_done + photos_failed
        if photos == 0:
            return
        self.photos.labels("done").inc(photos_done)
        self.photos.labels("failed").inc(photos_failed)
        per_photo = seconds / photos
        for _ in range(photos):
            self.seconds_per_photo.observe(per_photo)

    def collect(self) -> Iterator[Metric]:
        yield from self.photos.collect()
        yield from self.seconds_per_photo.collect()


class DatabaseCollector(Collector):
    """Gauges read from the database at each scrape: counts by status and the queue depth."""

    FAMILIES = (
        ("linepatrol_flights", "Flights by status", Flight),
        ("linepatrol_images", "Photos by processing status", Image),
        ("linepatrol_defects", "Defects by review status", Defect),
    )

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            families = list(self._read())
        except Exception:  # a scrape must not fail because the database is down
            return
        yield from families

    def _read(self) -> Iterable[GaugeMetricFamily]:
        with self.sessions() as s:
            for name, doc, model in self.FAMILIES:
                g = GaugeMetricFamily(name, doc, labels=["status"])
                for st, n in s.execute(
                    select(model.status, func.count()).group_by(model.status)
                ):
                    g.add_metric([st], n)
                yield g
            queue = GaugeMetricFamily(
                "linepatrol_queue_photos", "Photos of submitted flights waiting for a worker "
                "(pending) or in a worker's hands (claimed)", labels=["state"])
            depth = {str(st): 0 for st in sorted(UNFINISHED_PHOTO)}
            for st, n in s.execute(
                select(Image.status, func.count())
                .join(Flight, Flight.id == Image.flight_id)
                .where(Flight.status.in_(ACTIVE_FLIGHT), Image.status.in_(UNFINISHED_PHOTO))
                .group_by(Image.status)
            ):
                depth[str(st)] = int(n)
            for st, n in depth.items():
                queue.add_metric([st], n)
            yield queue


class Metrics:
    """One app's registry: HTTP metrics (once :meth:`instrument` has run), the inference
    metrics of this process, the database gauges."""

    def __init__(self, sessions: sessionmaker[Session], inference: InferenceMetrics) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(DatabaseCollector(sessions))
        self.registry.register(inference)

    def instrument(self, app: FastAPI) -> None:
        """Add the HTTP middleware (call it after the other middleware: it then counts
        their answers too, a 503 from admission or a 413 from the input guard)."""
        Instrumentator(
            should_group_status_codes=False,  # 401, 404, 413, 503 tell different stories
            should_group_untemplated=True,  # unknown paths as handler "none"
            registry=self.registry,
        ).instrument(app, metric_namespace=NAMESPACE, latency_lowr_buckets=HTTP_BUCKETS)
