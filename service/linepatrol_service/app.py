"""The app factory: everything is built from the settings passed in, nothing at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from fastapi.routing import APIRoute

from linepatrol_service import __version__, backpressure
from linepatrol_service.docs import mount_docs
from linepatrol_service.headers import SecurityHeaders
from linepatrol_service.metrics import Metrics
from linepatrol_service.request_id import RequestIdMiddleware
from linepatrol_service.routers import (
    cameras,
    datasets,
    defects,
    flights,
    images,
    lines,
    models,
    system,
    tokens,
    warnings,
    webhooks,
)
from linepatrol_service.services import Services
from linepatrol_service.settings import ServiceSettings
from linepatrol_service.ui import mount_ui
from linepatrol_service.uploads import sweep_orphans
from linepatrol_service.validation import InputGuard, validation_error_handler

API_PREFIX = "/api/v1"


def make_dispatcher(services: Services) -> None:
    if services.settings.queue == "celery":
        from linepatrol_service.celery_app import CeleryDispatcher

        services.dispatcher = CeleryDispatcher(services.settings)
    else:
        from linepatrol_service.embedded import EmbeddedDispatcher

        services.dispatcher = EmbeddedDispatcher(services)


# Answers every data endpoint can give, documented once for all of them.
DATA_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed request"},
    401: {"description": "Missing, invalid or revoked bearer token"},
    403: {"description": "The token's role may not do this"},
    404: {"description": "No such resource"},
    413: {"description": "Request body larger than the limit"},
    422: {"description": "Invalid parameters or body"},
}


OPENAPI_TAGS = [
    {"name": "flights", "description": "Create flights, upload photos (also as zip), submit, "
     "follow progress, download reports. Uploaders: their own flights; reviewers: read; "
     "admins: all."},
    {"name": "defects", "description": "The defect queue and its review, with an audit trail. "
     "Reviewers and admins (uploaders only see the crops of their own flights' defects)."},
    {"name": "images", "description": "Photos as evidence: original, annotated, thumbnail."},
    {"name": "lines", "description": "Tower ledgers per line (admins write, reviewers read)."},
    {"name": "datasets", "description": "The review as training data: reviewed photos and "
     "their labels (YOLO, COCO, Label Studio) as a zip. Reviewers and admins."},
    {"name": "models", "description": "The model registry (admins): register a model with "
     "its card, run it in shadow beside the active one, compare both against the reviews, "
     "promote."},
    {"name": "warnings", "description": "Hazard warnings (预警) with their lifecycle, "
     "deadlines and execution rate. Reviewers and admins."},
    {"name": "webhooks", "description": "The outbound webhook's delivery log (admins)."},
    {"name": "cameras", "description": "Fixed corridor cameras: the registry (admins write, "
     "readers read) and their photo pushes (device tokens, one camera each; admins)."},
    {"name": "tokens", "description": "API tokens (admins); `GET /me` for any token."},
    {"name": "system", "description": "Health and Prometheus metrics, no token needed."},
]


FAVICON = Path(__file__).parent / "ui" / "static" / "favicon.ico"


def operation_id(route: APIRoute) -> str:
    """The OpenAPI operation id: the endpoint function's name (``create_flight``), which a
    generated client turns into its method name; FastAPI's default adds the path and method
    (``create_flight_api_v1_flights_post``). tests/service/test_schema.py checks they are
    unique."""
    return route.name


def favicon() -> FileResponse:
    """Browsers ask every site for /favicon.ico; answer with LinePatrol's, not a 404."""
    return FileResponse(FAVICON, media_type="image/vnd.microsoft.icon",
                        headers={"Cache-Control": "public, max-age=86400"})


def api_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    for module in (flights, defects, images, lines, datasets, models, tokens, warnings,
                   webhooks, cameras):
        router.include_router(module.router, responses=DATA_RESPONSES)
    router.include_router(tokens.me_router, responses=DATA_RESPONSES)
    router.include_router(system.router)
    return router


def create_app(settings: ServiceSettings | None = None, services: Services | None = None,
               extra_routers: tuple[APIRouter, ...] = (), ui: bool = False) -> FastAPI:
    """Build the app. ``extra_routers`` are mounted beside the API; ``ui`` adds the web
    interface (:func:`linepatrol_service.ui.mount_ui`) when that package is present."""
    settings = settings or ServiceSettings()
    services = services or Services(settings)
    if services.dispatcher is None:
        make_dispatcher(services)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        assert services.dispatcher is not None
        backpressure.configure(app, settings)
        await run_in_threadpool(sweep_orphans, services)
        services.dispatcher.start()
        try:
            yield
        finally:
            services.close()

    app = FastAPI(
        title="LinePatrol",
        version=__version__,
        description="Upload a UAV patrol flight's photos, get a geotagged defect report, and "
        "review the defect queue. Every data endpoint needs `Authorization: Bearer <token>`.",
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # docs.mount_docs: Swagger UI from this service, not a CDN
        redoc_url=None,
        openapi_tags=OPENAPI_TAGS,
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.services = services
    app.state.metrics = Metrics(services.sessions, services.inference_metrics)
    app.include_router(api_router())
    app.add_api_route("/favicon.ico", favicon, include_in_schema=False)
    mount_docs(app, f"{API_PREFIX}/docs", f"{API_PREFIX}/openapi.json")
    for extra in extra_routers:
        app.include_router(extra)
    if ui:
        mount_ui(app)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    backpressure.install(app)
    app.add_middleware(backpressure.Admission, backlog=backpressure.pool_sizes(settings).backlog)
    app.add_middleware(InputGuard, upload_limit=settings.max_request_bytes,
                       body_limit=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    # Outermost last: the HTTP metrics count what the middleware inside answered (a 503, a
    # 413), and the request id covers everything, the metrics' own failures included.
    app.state.metrics.instrument(app)
    app.add_middleware(RequestIdMiddleware)
    return app
