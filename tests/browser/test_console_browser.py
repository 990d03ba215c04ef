"""End to end in headless Chromium: a citizen files through WeChat, an officer handles it in the console,
the citizen sees the progress page and rates the result. Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

from pathlib import Path

import httpx
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.engine import Engine

from tests.browser.accessibility import contrast, tabs_to, text_contrast, unlabelled_fields
from tests.browser.conftest import officer_page
from tests.gateway.conftest import WeChatSide, run_jobs
from tests.gateway.console.support import PASSWORD, make_user
from tickets import codes
from tickets.access.officers import UserRole
from tickets.settings import Settings
from tickets.storage.schema import evaluations, notifications, tickets

OPENID = "oBrowserCitizen0001"
DESCRIPTION = "幸福路口的路灯坏了一排，晚上很黑"


def file_through_wechat(server: str, wechat: WeChatSide) -> str:
    """The citizen's side: describe, give the place, confirm; returns the tracking code from the reply."""
    with httpx.Client(base_url=server, timeout=10) as http:
        reply = ""
        for text in (DESCRIPTION, "金水区幸福路与文化路交叉口", "1"):
            wechat.clock += 20  # closer than 8 s, fragments are one burst with one reply after it
            query, body = wechat.seal(wechat.text(OPENID, text), OPENID)
            response = http.post("/webhooks/wechat", params=query, content=body)
            assert response.status_code == 200
            reply = wechat.open(response.content)["Content"]
    assert "/t/" in reply, reply
    return reply.split("/t/")[1].split()[0]


def filer_link(settings: Settings, code: str) -> str:
    """The progress link of the filer's evaluation notice, with their rating token (workers/notify.py writes it;
    tests/workers/test_notify_sms.py follows it from the delivered text)."""
    return f"/t/{code}?r={codes.rating_token(codes.rating_key(settings.secret_key), code)}"


def check_page_basics(page: Page, title_part: str) -> None:
    assert title_part in page.title()
    assert unlabelled_fields(page) == [], f"unlabelled fields on {page.url}"
    ratio, _ = text_contrast(page, "body")
    assert ratio >= 7, f"body text contrast {ratio:.2f} on {page.url}"  # WCAG AAA for normal text


def test_officer_handles_a_wechat_ticket_and_the_citizen_rates_it(
        browser: Browser, live_server: str, wechat: WeChatSide, engine: Engine, settings: Settings,
        artifacts: Path) -> None:
    make_user(engine, "operator1", UserRole.OPERATOR)
    code = file_through_wechat(live_server, wechat)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()

    # Sign in by keyboard: Tab reaches the button, the form is labelled.
    page.goto(f"{live_server}/console/tickets")
    expect(page).to_have_url(f"{live_server}/console/login")
    check_page_basics(page, "登录")
    assert tabs_to(page, "button[type=submit]") <= 4  # skip link, user name, password, button
    page.screenshot(path=artifacts / "01-login.png", full_page=True)
    page.get_by_label("用户名").fill("operator1")
    page.get_by_label("密码").fill(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server}/console/tickets")

    # Find the ticket by its description.
    page.get_by_label("搜索问题描述或工单号").fill("路灯")
    page.get_by_role("button", name="筛选").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    check_page_basics(page, "工单列表")
    page.screenshot(path=artifacts / "02-ticket-list.png", full_page=True)
    page.locator("tbody tr a").first.click()
    expect(page.locator("h1")).to_contain_text("工单")
    expect(page.get_by_text(DESCRIPTION).first).to_be_visible()
    check_page_basics(page, "工单")
    # Routed by a worker after the chat's commit (tickets/opening.py): none has run yet, then one does.
    expect(page.get_by_role("region", name="推荐承办单位")).to_contain_text("正在自动分类")
    run_jobs(settings, engine).close()
    page.reload()

    # The classification and the recommended units, with their reasons, in Chinese; the timeline names the citizen.
    facts = page.get_by_role("region", name="概况")
    for label in ("类型", "领域", "紧急程度"):
        assert facts.locator("tr", has_text=label).locator("td").inner_text() != "—", label
    routing = page.get_by_role("region", name="推荐承办单位")
    expect(routing.locator("ol > li").first).to_be_visible()
    expect(routing).to_contain_text("把握度")
    expect(page.locator("ol.timeline")).to_contain_text("市民（微信）")
    assert "citizen:wechat" not in page.content()
    recommended = routing.locator("ol > li strong").first.inner_text()

    # Dispatch it to the first recommended unit, chosen from the catalogue's list, then report it resolved.
    unit = page.get_by_label("承办单位", exact=True)
    assert unit.evaluate("e => e.tagName") == "SELECT" and unit.locator("option").count() > 10
    for status, note, to in (("dispatched", "已转交交警大队处理", recommended), ("resolved", "信号灯已修复", "")):
        page.get_by_label("新状态", exact=True).select_option(status)
        page.get_by_label("给市民的说明", exact=True).fill(note)
        unit.select_option(to)
        page.get_by_role("button", name="保存并通知市民").click()
        expect(page.get_by_role("status")).to_contain_text("已通知市民")
    expect(facts.locator("tr", has_text="承办单位")).to_contain_text(recommended)
    notices = page.locator("table.notifications tbody tr")
    expect(notices).to_have_count(2)
    expect(notices.nth(0)).to_contain_text("反映人")
    expect(notices.nth(0)).to_contain_text("oBro***01")  # the recipient, masked
    expect(notices.nth(0)).to_contain_text("已转交承办单位")
    expect(notices.nth(1)).to_contain_text("请求评价")
    assert OPENID not in page.content()
    page.screenshot(path=artifacts / "03-ticket.png", full_page=True)
    with engine.connect() as conn:
        told = conn.execute(sa.select(notifications.c.purpose).order_by(notifications.c.id)).scalars().all()
    assert told == ["progress", "evaluation"]

    for path, title, shot in (("/console/dashboard", "统计", "04-dashboard.png"),
                              ("/console/petitions", "联名与预警", "05-petitions.png")):
        page.goto(live_server + path)
        check_page_basics(page, title)
        page.screenshot(path=artifacts / shot, full_page=True)
        if shot.startswith("04"):  # resolved before the deadline the ticket got when it was opened
            on_time = page.locator("div.card", has_text="按时办结率")
            expect(on_time).to_contain_text("100.0%")
            expect(on_time).to_contain_text("按时办结 1 件 / 有办理时限的已办结 1 件")

    # A neighbour with the plain progress link sees the progress, not the rating form.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True,
                                java_script_enabled=False)
    citizen = phone.new_page()
    citizen.goto(f"{live_server}/t/{code}")
    expect(citizen.get_by_text("等待反映问题的市民评价")).to_be_visible()
    expect(citizen.get_by_role("button", name="提交评价")).to_have_count(0)
    citizen.screenshot(path=artifacts / "06-tracking-neighbour.png", full_page=True)

    # The citizen who filed it, on a phone, from the link in their evaluation notice.
    citizen.goto(f"{live_server}{filer_link(settings, code)}")
    check_page_basics(citizen, "办理进度")
    assert OPENID not in citizen.content()
    _, size = text_contrast(citizen, "body")
    assert size >= 18, "citizens' text must be large"
    expect(citizen.get_by_text("信号灯已修复")).to_be_visible()
    citizen.screenshot(path=artifacts / "06-tracking.png", full_page=True)
    citizen.get_by_label("满意", exact=True).check()
    citizen.get_by_label("已解决").check()
    citizen.get_by_role("button", name="提交评价").click()
    expect(citizen.get_by_role("status")).to_contain_text("感谢您的评价")
    citizen.screenshot(path=artifacts / "07-rated.png", full_page=True)
    with engine.connect() as conn:
        assert conn.execute(sa.select(tickets.c.status)).scalar_one() == "closed"
        assert conn.execute(sa.select(evaluations.c.satisfaction)).scalar_one() == "satisfied"
    phone.close()
    context.close()
    assert sorted(p.name for p in artifacts.glob("*.png")) == [
        "01-login.png", "02-ticket-list.png", "03-ticket.png", "04-dashboard.png", "05-petitions.png",
        "06-tracking-neighbour.png", "06-tracking.png", "07-rated.png"]


def test_an_officer_files_a_call_by_phone_and_reads_back_what_to_tell_the_caller(
        browser: Browser, live_server: str, engine: Engine, artifacts: Path) -> None:
    make_user(engine, "operator2", UserRole.OPERATOR)
    page = officer_page(browser, live_server, "operator2")
    page.get_by_role("link", name="电话登记").click()
    check_page_basics(page, "电话登记")
    page.get_by_label("来电人反映的问题（必填）").fill("小区门口的井盖没了，一个大窟窿，晚上有人差点掉进去")
    page.get_by_label("地点（必填）").fill("文化路80号")
    page.get_by_label("来电号码（可不填）").fill("13812345678")
    page.get_by_label("保密（来电人要求不向承办单位透露身份）").check()
    page.screenshot(path=artifacts / "01-phone-form.png", full_page=True)
    page.get_by_role("button", name="登记").click()
    notice = page.get_by_role("status")
    expect(notice).to_contain_text("已登记为紧急件")
    expect(notice).to_contain_text("查询码")
    expect(notice).to_contain_text("请在井口周围放置醒目物品")
    check_page_basics(page, "工单")
    page.screenshot(path=artifacts / "02-phone-filed.png", full_page=True)
    page.goto(f"{live_server}/console/tickets")
    expect(page.locator("tbody tr").first.locator(".badge-urgent")).to_have_text("紧急")
    ratio, _ = text_contrast(page, ".badge-urgent")
    assert ratio >= 7, f"urgent badge contrast {ratio:.2f}"
    check_page_basics(page, "工单列表")
    page.screenshot(path=artifacts / "03-urgent-first.png", full_page=True)
    page.context.close()


def test_main_colours_meet_wcag_contrast() -> None:
    """The palette of base.html and the console, computed: text at least 4.5:1 (AA), the body text 7:1."""
    white = "rgb(255, 255, 255)"
    assert contrast("rgb(17, 17, 17)", white) >= 7  # --fg
    assert contrast("rgb(68, 68, 68)", white) >= 7  # --muted
    assert contrast("rgb(11, 83, 148)", white) >= 4.5  # --accent: links, status, buttons (white on it)
    assert contrast("rgb(153, 0, 0)", white) >= 4.5  # overdue
    assert contrast("rgb(153, 0, 0)", "rgb(251, 234, 234)") >= 4.5  # error notices
    assert contrast(white, "rgb(153, 0, 0)") >= 7  # the 紧急 badge
