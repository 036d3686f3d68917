"""The API docs page (Swagger UI) served by the service itself: it works offline, and under a
Content-Security-Policy that allows scripts from this site only.

The assets come from the ``swagger-ui-bundle-v2`` package (Swagger UI 5, which reads the
OpenAPI 3.1 that FastAPI writes); the page's one line of set-up is a script file too, since an
inline script would need the policy to allow inline scripts.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
          "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
          "frame-ancestors 'none'")

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} API</title>
<link rel="stylesheet" href="{docs}/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi="{openapi}"></div>
<script src="{docs}/assets/swagger-ui-bundle.js"></script>
<script src="{docs}/init.js"></script>
</body>
</html>
"""

_INIT = """window.ui = SwaggerUIBundle({
  url: document.getElementById("swagger-ui").dataset.openapi,
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
});
"""


def mount_docs(app: FastAPI, docs_url: str, openapi_url: str) -> None:
    """The page at ``docs_url``, its assets under ``{docs_url}/assets``."""
    from swagger_ui_bundle import swagger_ui_path

    page = _PAGE.format(title=app.title, docs=docs_url, openapi=openapi_url)
    router = APIRouter(include_in_schema=False)

    @router.get(docs_url)
    def docs_page() -> HTMLResponse:
        return HTMLResponse(page, headers={"Content-Security-Policy": POLICY})

    @router.get(f"{docs_url}/init.js")
    def docs_init() -> Response:
        return Response(_INIT, media_type="text/javascript")

    app.include_router(router)
    app.mount(f"{docs_url}/assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")
