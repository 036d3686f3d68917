"""Health and metrics: open to monitoring without a token (they reveal no flight data)."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.orm import Session

from linepatrol_service.deps import ServicesDep
from linepatrol_service.registry import deployment
from linepatrol_service.schemas import Health
from linepatrol_service.services import Services

router = APIRouter(tags=["system"])


def _database(services: Services) -> dict[str, Any]:
    try:
        with services.health_engine.connect() as conn:
            conn.execute(text("select 1"))
        return {"ok": True, "dialect": services.engine.dialect.name}
    except Exception as exc:
        return {"ok": False, "dialect": services.engine.dialect.name, "error": str(exc)}


def _model(services: Services) -> dict[str, Any]:
    """The active version (registry) and what its detector is; the shadow's name, if any."""
    try:
        with Session(services.health_engine) as s:
            now = deployment(s, services.settings.model_dir, services.settings.model)
    except Exception as exc:
        return {"ok": False, "error": f"model registry: {exc}"}
    names = {"version": now.active.name, "shadow": now.shadow.name if now.shadow else None}
    if services.settings.queue == "celery" and not services.detector.loaded:
        # The API process of the scale-out mode runs no model; say which one workers use.
        return {"ok": True, "where": "celery workers", **names, "model": now.active.spec}
    try:
        return {"ok": True, "where": "embedded", **names,
                **services.detector.get(now.active.spec).describe()}
    except Exception as exc:
        return {"ok": False, "where": "embedded", **names, "error": str(exc)}


def _health(services: Services) -> Health:
    db = _database(services)
    queue = services.dispatcher.health() if services.dispatcher else {"ok": False,
                                                                      "mode": "none"}
    model = _model(services)
    from linepatrol_service import __version__

    return Health(
        ok=bool(db["ok"] and queue.get("ok") and model["ok"]),
        database=db, queue=queue, model=model, geo={"available": True},
        version=__version__,
    )


@router.get("/health", responses={503: {"model": Health, "description": "Something is down"}})
async def health(services: ServicesDep, request: Request, response: Response) -> Health:
    """On threads of its own (backpressure.HEALTH_THREADS), so it answers at once under load."""
    result = await anyio.to_thread.run_sync(_health, services,
                                            limiter=request.app.state.health_limiter)
    if not result.ok:
        response.status_code = 503
    return result


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics(request: Request) -> Response:
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
