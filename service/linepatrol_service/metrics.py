"""Prometheus metrics of one app: HTTP traffic, plus flights/photos/defects read at scrape time.

Each app has its own registry (two apps in one test process must not share counters).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from linepatrol_service.models import Defect, Flight, Image
from linepatrol_service.services import Services


class _DatabaseCollector(Collector):
    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = (
            ("linepatrol_flights", "Flights by status", Flight),
            ("linepatrol_images", "Photos by processing status", Image),
            ("linepatrol_defects", "Defects by review status", Defect),
        )
        try:
            with self.services.sessions() as s:
                for name, doc, model in families:
                    g = GaugeMetricFamily(name, doc, labels=["status"])
                    for st, n in s.execute(
                        select(model.status, func.count()).group_by(model.status)
                    ):
                        g.add_metric([st], n)
                    yield g
        except Exception:  # a scrape must not fail because the database is down
            return


class Metrics:
    def __init__(self, services: Services) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "linepatrol_http_requests", "HTTP requests", ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "linepatrol_http_request_seconds", "HTTP request duration", ["method", "route"],
            registry=self.registry,
        )
        self.registry.register(_DatabaseCollector(services))


class MetricsMiddleware:
    """Counts requests by route template (not raw path, which would explode the labels)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        code: dict[str, Any] = {"status": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                code["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            self.metrics.requests.labels(method, path, str(code["status"])).inc()
            self.metrics.latency.labels(method, path).observe(time.perf_counter() - start)
