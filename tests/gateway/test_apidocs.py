"""The API reference: served from the package (no CDN), with its bearer schemes and request bodies; off in
production unless API_DOCS turns it on."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from tickets.settings import Settings


def test_docs_and_redoc_load_their_assets_from_the_gateway(client: TestClient) -> None:
    for path, assets in (("/docs", ("swagger-ui-bundle.js", "swagger-ui.css")), ("/redoc", ("redoc.standalone.js",))):
        page = client.get(path)
        assert page.status_code == 200
        external = re.findall(r"(?:src|href)=[\"']?(https?://[^\"' >]+)", page.text) + re.findall(
            r"url\(['\"]?(https?://[^)'\"]+)", page.text)
        assert external == [], f"{path} loads {external}"
        for asset in assets:
            assert f"/docs/assets/{asset}" in page.text
            served = client.get(f"/docs/assets/{asset}")
            assert served.status_code == 200 and len(served.content) > 100_000, asset
    assert "fonts.googleapis" not in client.get("/redoc").text
    assert client.get("/docs/oauth2-redirect").status_code == 200


def test_the_document_declares_bearer_security_and_the_bodies_read_by_hand(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {"type": "http", "scheme": "bearer", "description": schemes["ApiKey"]["description"]}
    assert schemes["MiniappSession"]["scheme"] == "bearer"
    paths = document["paths"]
    assert paths["/api/v1/tickets"]["get"]["security"] == [{"ApiKey": []}]
    assert paths["/api/v1/miniapp/tickets"]["get"]["security"] == [{"MiniappSession": []}]
    schemas = document["components"]["schemas"]
    for path, method, model in (("/api/v1/tickets/{ticket_id}/events", "post", "StatusEventIn"),
                                ("/api/v1/tickets/{ticket_id}/assignment", "post", "AssignmentIn")):
        body = paths[path][method]["requestBody"]
        assert body["required"] and body["content"]["application/json"]["schema"] == {
            "$ref": f"#/components/schemas/{model}"}
        assert model in schemas
    assert {"event_id", "status"} <= set(schemas["StatusEventIn"]["required"])
    status = schemas["StatusEventIn"]["properties"]["status"]
    referenced = schemas[status["$ref"].rsplit("/", 1)[1]] if "$ref" in status else status
    assert "resolved" in referenced["enum"]  # the lifecycle's statuses, resolvable inside the document
    catalogue = paths["/api/v1/catalogue"]["put"]["requestBody"]
    assert catalogue["content"]["application/json"]["schema"] == {"type": "object"}


@pytest.mark.parametrize(("api_docs", "served"), [(None, False), (True, True), (False, False)])
def test_production_serves_the_reference_only_when_asked(settings: Settings, api_docs: bool | None,
                                                         served: bool) -> None:
    production = settings.model_copy(update={"gateway_env": "production", "api_docs": api_docs})
    with TestClient(create_app(production, run_jobs=False)) as client:
        for path in ("/docs", "/redoc", "/openapi.json", "/docs/assets/swagger-ui-bundle.js"):
            assert client.get(path).status_code == (200 if served else 404), path
        assert client.get("/healthz").status_code == 200


def test_dev_turns_the_reference_off_when_told(settings: Settings) -> None:
    off = settings.model_copy(update={"api_docs": False})
    with TestClient(create_app(off, run_jobs=False)) as client:
        assert client.get("/docs").status_code == 404 and client.get("/openapi.json").status_code == 404
