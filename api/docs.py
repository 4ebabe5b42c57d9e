"""The API's documentation pages, served with no outside requests: Swagger UI at /api/docs and
Redoc at /api/redoc, their script and style files from the `fastapi-offline` package (kept up to
date by pip, not copied into this repository), started by our own script file so the pages run
under the same no-inline-script Content-Security-Policy as every other page."""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/api/docs-assets"

SWAGGER = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{title}} API</title>
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
<link rel="icon" href="{ASSETS}/favicon.png"></head>
<body><div id="swagger-ui" data-spec-url="{{spec}}"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body></html>"""

REDOC = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{title}} API</title>
<link rel="icon" href="{ASSETS}/favicon.png"></head>
<body><redoc spec-url="{{spec}}"></redoc>
<script src="{ASSETS}/redoc.standalone.js"></script>
</body></html>"""


def install(app: FastAPI, *, spec_url: str) -> None:
    """Mount the bundled assets and add the two pages (left out of the OpenAPI document)."""
    app.mount(ASSETS, StaticFiles(directory=str(files("fastapi_offline") / "static")), name="docs-assets")

    @app.get("/api/docs", include_in_schema=False)
    async def swagger_page() -> HTMLResponse:
        return HTMLResponse(SWAGGER.format(title=app.title, spec=spec_url))

    @app.get("/api/redoc", include_in_schema=False)
    async def redoc_page() -> HTMLResponse:
        return HTMLResponse(REDOC.format(title=app.title, spec=spec_url))
