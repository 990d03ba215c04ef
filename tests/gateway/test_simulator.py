"""Dev mode: generated credentials, the /dev/wechat simulator and the local fake of WeChat's API."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

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
