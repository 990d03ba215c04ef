"""Dev mode: generated credentials, the /dev/wechat simulator and the local fake of WeChat's API."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image

from gateway.app import create_app
from tickets.settings import Settings


def dev_settings(db_url: str, var_dir: Path) -> Settings:
    return Settings(gateway_env="dev", var_dir=var_dir, database_url=db_url,
                    _env_file=None).prepared()  # type: ignore[call-arg]


def test_simulator_plays_a_whole_conversation(db_url: str, tmp_path: Path) -> None:
    settings = dev_settings(db_url, tmp_path / "var")
    assert settings.wechat_simulated and len(settings.wechat_aes_key) == 43
    with TestClient(create_app(settings, run_jobs=False)) as client:
        assert client.get("/dev/wechat").status_code == 200
        for action, content in (("text", "人行道上的树倒了，挡住了路"), ("location", "")):
            answer = client.post("/dev/wechat", data={"action": action, "content": content, "encrypted": "1"})
            assert answer.status_code == 200  # followed the 303 back to the page
        page = client.post("/dev/wechat", data={"action": "text", "content": "1", "encrypted": "1"}).text
        assert "人行道上的树倒了" in page and "工单号：" in page and "/t/" in page
        assert "&lt;Encrypt&gt;" in page  # the raw encrypted exchange is shown, escaped
        plain = client.post("/dev/wechat", data={"action": "menu", "content": ""}).text
        assert "当前状态：已登记" in plain and "人行道上的树倒了" in plain


def test_generated_credentials_survive_a_restart(db_url: str, tmp_path: Path) -> None:
    first = dev_settings(db_url, tmp_path / "var")
    second = dev_settings(db_url, tmp_path / "var")
    assert (first.wechat_token, first.wechat_aes_key, first.secret_key) == (
        second.wechat_token, second.wechat_aes_key, second.secret_key)


def test_simulator_is_off_with_real_credentials(settings: Settings) -> None:
    assert not settings.wechat_simulated
    with TestClient(create_app(settings, run_jobs=False)) as client:
        assert client.get("/dev/wechat").status_code == 404


def _images(page: str, alt: str) -> list[str]:
    return re.findall(rf'<img src="(/dev/wechat/media/[A-Za-z0-9_-]+)" alt="{alt}">', page)


def test_the_petition_card_shows_as_an_image_and_the_chat_survives_restarts(db_url: str, tmp_path: Path) -> None:
    """A petition's QR card arrives in the chat as WeChat shows it (uploaded media, then an image message); the
    simulated citizen is a long-lived cookie, and the chat and the card are still there after a server restart."""
    var = tmp_path / "var"
    with TestClient(create_app(dev_settings(db_url, var))) as client:  # jobs run in-process, as in dev mode
        first = client.get("/dev/wechat")
        cookie = first.headers["set-cookie"]
        assert "dev_openid=" in cookie and "Max-Age=31536000" in cookie  # kept when the browser closes
        for action, content in (("text", "人行道上的树倒了，挡住了路"), ("location", ""), ("text", "1"),
                                ("image", ""), ("text", "发起联名")):
            assert client.post("/dev/wechat", data={"action": action, "content": content,
                                                    "encrypted": "1"}).status_code == 200
        deadline = time.monotonic() + 20
        while not _images(page := client.get("/dev/wechat").text, "公众号发来的图片"):
            assert time.monotonic() < deadline, "the QR card never arrived in the chat"
            time.sleep(0.2)
        [card_url] = _images(page, "公众号发来的图片")
        [photo_url] = _images(page, "我发送的照片")
        card = client.get(card_url)
        assert card.status_code == 200 and card.headers["content-type"] == "image/png"
        [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(card.content)))
        assert "/j/" in code.text and page.index(photo_url) < page.index(card_url)  # in the order they came
        openid = client.cookies["dev_openid"]

    with TestClient(create_app(dev_settings(db_url, var))) as restarted:  # the server restarted
        restarted.cookies.set("dev_openid", openid, domain="testserver.local")  # the browser kept its cookie
        again = restarted.get("/dev/wechat").text
        assert "人行道上的树倒了" in again and "工单号：" in again and "发起联名" in again
        assert _images(again, "公众号发来的图片") == [card_url] and _images(again, "我发送的照片") == [photo_url]
        assert restarted.get(card_url).content == card.content
        assert restarted.get("/dev/wechat/media/not-there").status_code == 404
        assert restarted.get("/dev/wechat/media/..%2Fsent.jsonl").status_code == 404
        other = restarted.post("/dev/wechat", data={"action": "new_citizen"}).text  # a neighbour, to co-sign
        assert "人行道上的树倒了" not in other and restarted.cookies["dev_openid"] != openid
