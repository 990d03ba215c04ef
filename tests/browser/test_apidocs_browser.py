"""`/docs` in headless Chromium with no way out to the internet: the page draws, "Authorize" takes an API key,
and "Try it out" calls the API with it. Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Route, expect
from sqlalchemy.engine import Engine

from tickets.access.apikeys import Role, create_api_key
from tickets.clock import utcnow


def test_swagger_ui_authorizes_with_an_api_key_and_tries_a_call(browser: Browser, live_server: str, engine: Engine,
                                                                 artifacts: Path) -> None:
    with engine.begin() as conn:
        key = create_api_key(conn, "docs-reader", Role.READER, utcnow())
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside: list[str] = []

    def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:  # as on the city's network: a CDN is out of reach
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    page = context.new_page()
    page.goto(f"{live_server}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Citizen-request intake gateway")
    page.screenshot(path=artifacts / "01-docs.png")

    page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".modal-ux")
    api_key = dialog.locator(".auth-container").filter(has_text="ApiKey")
    api_key.locator("input").fill(key)
    api_key.locator("button.authorize").click()  # its text says Authorize (labelled "Apply credentials")
    expect(api_key.locator("button", has_text="Logout")).to_be_visible()
    page.screenshot(path=artifacts / "02-authorized.png")
    dialog.locator("button.btn-done").first.click()

    operation = page.locator("#operations-tickets-list_tickets_api_v1_tickets_get")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    response = operation.locator(".live-responses-table tbody .response-col_status").first
    expect(response).to_contain_text("200")
    assert f"Authorization: Bearer {key}" in operation.locator(".curl-command").inner_text()
    page.screenshot(path=artifacts / "03-tried.png", full_page=False)
    assert outside == [], f"/docs reached out to {outside}"
    context.close()
