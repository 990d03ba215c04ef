"""The API reference: `/docs` (Swagger UI), `/redoc` and `/openapi.json`, served with nothing from a CDN.

Swagger UI and ReDoc come from the `fastapi-offline` package, which ships their built files (the city's
network may not reach a CDN; a blank page is what a newcomer got). On by default in dev, off in production
(`API_DOCS`, docs/configuration.md). The document declares the two bearer schemes ("Authorize" takes a
dispatch key or a mini-program session) and the JSON bodies of the routes that read their body themselves
(`json_body`).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

ASSETS_URL = "/docs/assets"
ASSETS = Path(str(files("fastapi_offline") / "static"))
# Models of request bodies read by hand (size cap first, then validation): added to the document's schemas.
_BODIES: dict[str, type[BaseModel]] = {}


def json_body(model: type[BaseModel], description: str = "") -> dict[str, Any]:
    """`openapi_extra` of a route that reads a JSON body of `model` itself (not as a parameter)."""
    _BODIES[model.__name__] = model
    body: dict[str, Any] = {"required": True, "content": {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}
    if description:
        body["description"] = description
    return {"requestBody": body}


def free_form_json_body(description: str) -> dict[str, Any]:
    """`openapi_extra` of a route that takes any JSON object (checked by the route, every problem listed)."""
    return {"requestBody": {"required": True, "description": description,
                            "content": {"application/json": {"schema": {"type": "object"}}}}}


def install(app: FastAPI, *, enabled: bool) -> None:
    """Serve the reference pages and their assets (when `enabled`), and build the document with the bodies."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description,
                                   routes=app.routes)
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for name, model in _BODIES.items():
                found = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(found.pop("$defs", {}))
                schemas.setdefault(name, found)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    if not enabled:
        return
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")
    title = app.title
    redirect = "/docs/oauth2-redirect"

    @app.get("/openapi.json", include_in_schema=False)
    def document() -> dict[str, Any]:
        return openapi()

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{title} - Swagger UI",
                                   swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
                                   swagger_favicon_url=f"{ASSETS_URL}/favicon.png", oauth2_redirect_url=redirect,
                                   swagger_ui_parameters={"persistAuthorization": True})

    @app.get(redirect, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title=f"{title} - ReDoc",
                              redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
                              redoc_favicon_url=f"{ASSETS_URL}/favicon.png", with_google_fonts=False)
