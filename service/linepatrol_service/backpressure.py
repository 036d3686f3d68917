"""Back-pressure: bounded blocking work, and a ``503`` with ``Retry-After`` when it is full.

Every database call runs in the thread pool, never on the event loop, so a busy database slows
requests down but cannot freeze the server (health checks and metrics included). The one
setting ``concurrency`` sizes it all (:func:`pool_sizes`): that many threads for request
handlers, and connections for them and the embedded worker threads, so a handler does not wait
for a connection while holding a thread; the health check has threads and connections of its
own.

A request is answered ``503`` with ``Retry-After`` (clients retry: :mod:`.client`) rather than
left to stall or fail with a 500 when more requests wait for a thread than :data:`BACKLOG`
times the pool, when no connection is free within ``DB_WAIT_S``, or when SQLite stays locked.
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import ASGIApp, Receive, Scope, Send

from linepatrol_service.settings import ServiceSettings

BACKLOG = 4  # requests waiting for a thread, per thread, before new ones get a 503
HEALTH_THREADS = 2  # the health check's own threads (and connections): it never queues
DB_WAIT_S = 10.0  # longest wait for a database connection before a 503
RETRY_AFTER_S = 2
# Paths that must answer whatever the load: monitoring sees an overloaded server as alive.
EXEMPT = ("/api/v1/health", "/api/v1/metrics")


@dataclass(frozen=True)
class PoolSizes:
    threads: int
    connections: int
    backlog: int


def pool_sizes(settings: ServiceSettings) -> PoolSizes:
    """Thread pool, connection pool and backlog, all from ``settings.concurrency``. A request
    can hold its connection a moment after giving back its thread (its session closes after
    the handler returns), so the pool has twice as many as there are threads to hold them."""
    threads = settings.concurrency
    return PoolSizes(threads=threads,
                     connections=2 * threads + settings.worker_threads,
                     backlog=BACKLOG * threads)


def configure(app: FastAPI, settings: ServiceSettings) -> None:
    """Size this event loop's thread pool and make the health check's limiter (call it at
    startup, inside the loop)."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = pool_sizes(settings).threads
    app.state.health_limiter = CapacityLimiter(HEALTH_THREADS)


def busy_response(reason: str) -> JSONResponse:
    return JSONResponse({"detail": f"the server is busy ({reason}); retry after "
                                   f"{RETRY_AFTER_S} s"},
                        status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})


async def pool_timeout_handler(_request: Request, _exc: Exception) -> JSONResponse:
    return busy_response("no database connection free")


async def operational_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """SQLite's 'database is locked' after its busy timeout is load, not a fault: a 503."""
    if "locked" in str(exc).lower():
        return busy_response("database locked by other writers")
    raise exc


def install(app: FastAPI) -> None:
    app.add_exception_handler(PoolTimeout, pool_timeout_handler)
    app.add_exception_handler(OperationalError, operational_error_handler)


class Admission:
    """ASGI middleware: a 503 at once for a request that would only join too long a queue."""

    def __init__(self, app: ASGIApp, backlog: int) -> None:
        self.app = app
        self.backlog = backlog

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("path", "").startswith(EXEMPT):
            waiting = anyio.to_thread.current_default_thread_limiter().statistics().tasks_waiting
            if waiting >= self.backlog:
                await busy_response(f"{waiting} requests queued")(scope, receive, send)
                return
        await self.app(scope, receive, send)
