"""Petitions in headless Chromium: one ends with its ticket (resolved and rated), an officer ends another in the
console; the board says why, and a neighbour scanning either card is told it has ended. Screenshots go to
test-artifacts/browser/."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, expect
from sqlalchemy.engine import Engine

from qr.links import signer_for
from tests.browser.conftest import officer_page
from tests.gateway.console.support import make_user, open_ticket
from tickets import petitions, progress
from tickets.access.officers import UserRole
from tickets.clock import utcnow
from tickets.lifecycle import Status
from tickets.progress import Satisfaction, StatusUpdate
from tickets.settings import Settings

PHONE = {"viewport": {"width": 390, "height": 844}, "locale": "zh-CN", "is_mobile": True,
         "java_script_enabled": False}


def test_petitions_end_with_their_ticket_or_by_an_officer(browser: Browser, live_server: str, engine: Engine,
                                                          settings: Settings, artifacts: Path) -> None:
    make_user(engine, "operator1", UserRole.OPERATOR)
    rated = open_ticket(engine, settings, "小区门口污水井冒水", openid="oPetition01")
    live = open_ticket(engine, settings, "楼道里堆满杂物", openid="oPetition02")
    links = signer_for(settings.secret_key, settings.link_key_ids)
    with engine.begin() as conn:
        made = {t.id: petitions.start(conn, t.id, now=utcnow(), days=30, title=t.description)[0]
                for t in (rated, live)}
        for status in (Status.ACCEPTED, Status.RESOLVED):
            progress.apply_update(conn, rated.id, StatusUpdate(status, actor="dispatch:city", note="已疏通"),
                                  utcnow())
        progress.evaluate(conn, rated.id, channel="wechat", satisfaction=Satisfaction.SATISFIED, solved=True,
                          reason="", now=utcnow())
    card = {t: f"/j/{links.sign(p.id, p.expires_at)}" for t, p in made.items()}

    neighbour = browser.new_context(**PHONE)  # type: ignore[arg-type]
    phone = neighbour.new_page()
    phone.goto(live_server + card[rated.id])
    expect(phone.get_by_role("heading", name="联名已结束")).to_be_visible()
    expect(phone.get_by_text("这件事已经办结，联名随之结束")).to_be_visible()
    phone.screenshot(path=artifacts / "01-cosign-ended-with-ticket.png", full_page=True)
    phone.goto(live_server + card[live.id])
    expect(phone.get_by_role("button", name="获取验证码")).to_be_visible()  # still taking signatures

    page = officer_page(browser, live_server, "operator1")
    page.goto(f"{live_server}/console/petitions")
    rows = page.locator("table").last.locator("tbody tr")
    expect(rows.filter(has_text="小区门口污水井冒水")).to_contain_text("已结束（工单已办结）")
    expect(rows.filter(has_text="楼道里堆满杂物")).to_contain_text("征集中")
    page.get_by_role("link", name="楼道里堆满杂物").first.click()
    page.get_by_role("button", name="结束联名").click()
    expect(page.get_by_role("status")).to_contain_text("联名已结束")
    expect(page.get_by_role("button", name="结束联名")).to_have_count(0)
    expect(page.locator("p", has_text="工单")).to_contain_text("已结束（工作人员结束）")
    page.screenshot(path=artifacts / "02-console-closed.png", full_page=True)
    page.goto(f"{live_server}/console/petitions")
    page.screenshot(path=artifacts / "03-board.png", full_page=True)
    page.context.close()

    phone.goto(live_server + card[live.id])
    expect(phone.get_by_text("工作人员已经结束了这次联名")).to_be_visible()
    phone.screenshot(path=artifacts / "04-cosign-ended-by-officer.png", full_page=True)
    neighbour.close()
    with engine.connect() as conn:
        assert [petitions.get(conn, p.id).closed_reason for p in made.values()] == ["ticket_closed", "officer"]
