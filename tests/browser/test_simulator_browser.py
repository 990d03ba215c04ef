"""The dev simulator in headless Chromium, as a newcomer uses it: file a request, start a joint petition, see the
QR card arrive as an image, close the browser and come back, restart the server and come back.
Screenshots go to test-artifacts/browser/."""

from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from gateway.app import create_app
from tests.browser.accessibility import unlabelled_fields
from tests.gateway.conftest import serve
from tickets.settings import Settings

DESCRIPTION = "小区门口的路灯坏了一个星期，晚上很黑"
PHONE = {"viewport": {"width": 430, "height": 932}, "locale": "zh-CN"}


def dev_settings(db_url: str, var_dir: Path) -> Settings:
    return Settings(gateway_env="dev", var_dir=var_dir, database_url=db_url,
                    _env_file=None).prepared()  # type: ignore[call-arg]


def send(page: Page, button: str, text: str = "") -> None:
    if text:
        page.get_by_label("文字（发送语音时作为识别结果）").fill(text)
    page.get_by_role("button", name=button).click()
    expect(page.get_by_role("heading", name="微信模拟器")).to_be_visible()


def card(page: Page, server: str) -> str:
    """Reload until the account's image (the QR card) is in the chat, as a user would; its src."""
    image = page.get_by_role("img", name="公众号发来的图片")
    deadline = time.monotonic() + 20
    while image.count() == 0:
        assert time.monotonic() < deadline, "the QR card never arrived in the chat"
        time.sleep(0.3)
        page.goto(f"{server}/dev/wechat")
    return str(image.first.get_attribute("src"))


def loaded(page: Page, name: str) -> bool:
    """The image is drawn (its bytes arrived and decoded), not a broken icon."""
    return bool(page.get_by_role("img", name=name).first.evaluate("i => i.complete && i.naturalWidth > 100"))


def test_a_newcomer_files_starts_a_petition_and_comes_back_after_restarts(
        browser: Browser, db_url: str, tmp_path: Path, artifacts: Path) -> None:
    var = tmp_path / "var"
    state_file = tmp_path / "browser-state.json"
    with serve(create_app(dev_settings(db_url, var))) as server:
        context = browser.new_context(**PHONE)  # type: ignore[arg-type]
        page = context.new_page()
        page.goto(f"{server}/dev/wechat")
        assert unlabelled_fields(page) == []
        send(page, "发送文字", DESCRIPTION)
        send(page, "发送位置")
        send(page, "发送文字", "1")
        expect(page.locator(".bot").last).to_contain_text("工单号：")
        send(page, "发送照片")
        send(page, "发送文字", "发起联名")
        src = card(page, server)
        assert loaded(page, "公众号发来的图片") and loaded(page, "我发送的照片")
        assert page.evaluate("document.documentElement.scrollWidth") <= 430  # long links wrap on a phone
        page.screenshot(path=artifacts / "01-card-in-chat.png", full_page=True)
        who = page.get_by_text("模拟的用户").inner_text()
        context.storage_state(path=state_file)
        context.close()

        reopened = browser.new_context(storage_state=state_file, **PHONE)  # type: ignore[arg-type]
        page = reopened.new_page()
        page.goto(f"{server}/dev/wechat")
        assert page.get_by_text("模拟的用户").inner_text() == who  # the same citizen
        expect(page.get_by_text(DESCRIPTION).first).to_be_visible()
        assert page.get_by_role("img", name="公众号发来的图片").first.get_attribute("src") == src
        page.screenshot(path=artifacts / "02-browser-reopened.png", full_page=True)
        reopened.storage_state(path=state_file)
        reopened.close()

    with serve(create_app(dev_settings(db_url, var))) as server:  # the server restarted
        context = browser.new_context(storage_state=state_file, **PHONE)  # type: ignore[arg-type]
        page = context.new_page()
        page.goto(f"{server}/dev/wechat")
        assert page.get_by_text("模拟的用户").inner_text() == who
        expect(page.get_by_text(DESCRIPTION).first).to_be_visible()
        expect(page.get_by_text("工单号：").first).to_be_visible()
        assert loaded(page, "公众号发来的图片") and loaded(page, "我发送的照片")
        page.screenshot(path=artifacts / "03-server-restarted.png", full_page=True)
        send(page, "换一位市民")
        assert page.get_by_text("模拟的用户").inner_text() != who
        expect(page.get_by_text(DESCRIPTION)).to_have_count(0)
        context.close()
    assert sorted(p.name for p in artifacts.glob("*.png")) == [
        "01-card-in-chat.png", "02-browser-reopened.png", "03-server-restarted.png"]
