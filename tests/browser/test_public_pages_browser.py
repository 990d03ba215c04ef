"""The public pages in headless Chromium under their Content-Security-Policy: styled, forms working, nothing
refused (gateway/pages.py)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, ConsoleMessage, Page, expect
from sqlalchemy.engine import Engine

from qr.links import signer_for
from tests.browser.accessibility import text_contrast
from tickets import codes, petitions, progress, repository
from tickets.clock import utcnow
from tickets.lifecycle import Status
from tickets.progress import StatusUpdate
from tickets.repository import NewTicket
from tickets.settings import Settings

ACCENT = "rgb(11, 83, 148)"  # --accent of templates/pages/base.html


def watch(page: Page) -> list[str]:
    """The console messages the page will log (the browser reports every refusal of the policy there)."""
    logged: list[str] = []

    def keep(message: ConsoleMessage) -> None:
        if not message.location.get("url", "").endswith("/favicon.ico"):  # asked for by the browser itself
            logged.append(f"{message.type}: {message.text}")

    page.on("console", keep)
    return logged


def styled(page: Page) -> tuple[float, str]:
    """Body text size and the submit button's background: the inline style sheet applied, or not."""
    _, size = text_contrast(page, "body")
    background = page.locator("button[type=submit]").first.evaluate("b => getComputedStyle(b).backgroundColor")
    return size, str(background)


def test_progress_and_co_sign_pages_work_under_their_policy(browser: Browser, live_server: str, engine: Engine,
                                                            settings: Settings, artifacts: Path) -> None:
    now = utcnow()
    with engine.begin() as conn:
        ticket = repository.open_ticket(conn, NewTicket("web", None, "楼道灯不亮", address="幸福路1号"), now,
                                        settings.tz)
        for status in (Status.DISPATCHED, Status.RESOLVED):
            progress.apply_update(conn, ticket.id, StatusUpdate(status, actor="dispatch", note="已修好"), now)
        petition, _ = petitions.start(conn, ticket.id, now=now, days=30)
    token = signer_for(settings.secret_key, settings.link_key_ids).sign(petition.id, petition.expires_at)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
    page = context.new_page()
    logged = watch(page)

    page.goto(f"{live_server}/j/{token}")
    assert styled(page) == (20, ACCENT)
    page.get_by_label("手机号码").fill("13912345678")
    page.get_by_role("button", name="获取验证码").click()  # a form post and its redirect, allowed by form-action
    expect(page.get_by_text("第二步：填写验证码")).to_be_visible()
    page.screenshot(path=artifacts / "01-cosign-code.png", full_page=True)

    filer = codes.rating_token(codes.rating_key(settings.secret_key), ticket.tracking_code)
    page.goto(f"{live_server}/t/{ticket.tracking_code}?r={filer}")  # the filer's link, as their notice carries it
    assert styled(page) == (20, ACCENT)
    page.get_by_label("满意", exact=True).check()
    page.get_by_label("已解决").check()
    page.get_by_role("button", name="提交评价").click()
    expect(page.get_by_role("status")).to_contain_text("感谢您的评价")
    page.screenshot(path=artifacts / "02-tracking-rated.png", full_page=True)
    context.close()
    assert [m for m in logged if "Content Security Policy" in m or m.startswith("error")] == []
