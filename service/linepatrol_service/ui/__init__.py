"""The web interface: sign-in, flights and uploads, the defect queue, defect pages, maps.

``mount_ui(app)`` adds it to a service app (pages under ``/ui``, static files under
``/ui/static``, the cookie-to-bearer bridge for ``/api/``). Server-rendered Jinja2 pages with
small plain scripts; Leaflet is vendored under ``static/vendor`` (no CDN, works offline).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from linepatrol_service.ui.config import UISettings


def mount_ui(app: FastAPI, ui_settings: UISettings | None = None) -> None:
    """Add the web interface to ``app`` (call it while building the app, before it starts)."""
    from fastapi.responses import RedirectResponse
    from fastapi.staticfiles import StaticFiles

    from linepatrol_service.ui import mapdata, pages
    from linepatrol_service.ui.config import UISettings
    from linepatrol_service.ui.session import CookieBearerMiddleware

    app.state.ui_settings = ui_settings or UISettings()
    app.include_router(pages.router)
    app.include_router(mapdata.router)
    app.mount(f"{pages.UI_PREFIX}/static", StaticFiles(directory=pages.HERE / "static"),
              name="ui-static")
    app.add_exception_handler(pages.Forbidden, pages.forbidden_page)  # type: ignore[arg-type]
    app.add_middleware(CookieBearerMiddleware, prefix="/api/")
    if not any(getattr(r, "path", None) == "/" for r in app.routes):
        app.add_api_route("/", lambda: RedirectResponse(f"{pages.UI_PREFIX}/"),
                          include_in_schema=False)
