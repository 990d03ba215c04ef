"""Headless Chromium (Debian's package) driven by Playwright, against the app on a real loopback server.

Playwright's own browser download cannot run here; the tests use the system's Chromium and skip, saying why,
only when no Chromium is installed (.ci/run installs it).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.gateway.conftest import app, live_server, wechat  # noqa: F401 (fixtures shared with the HTTP tests)
from tests.gateway.console.support import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str | None:
    """The system Chromium, or None."""
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured if Path(configured).exists() else None
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    if executable is None:
        pytest.skip("no Chromium on this machine: `apt-get install chromium` (the CI script does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield launched
        launched.close()


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """Where this test's screenshots go: test-artifacts/browser/<test id>/ (git-ignored), or BROWSER_ARTIFACTS."""
    base = Path(os.environ.get("BROWSER_ARTIFACTS", ROOT / "test-artifacts" / "browser"))
    folder = base / "".join(c if c.isalnum() or c in "-_" else "_" for c in request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def officer_page(browser: Browser, base_url: str, user: str) -> Page:
    """A desktop browser signed in to the console as `user` (made with tests/gateway/console/support.py)."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    page.goto(f"{base_url}/console/login")
    page.get_by_label("用户名").fill(user)
    page.get_by_label("密码").fill(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base_url}/console/tickets")
    return page
