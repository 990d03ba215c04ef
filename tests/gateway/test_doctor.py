"""`petition-gateway doctor`: a deployment that is ready passes; one that is not is told what to fix."""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bots.fakes.alipay import FakeAlipay
from bots.fakes.wechat import FakeWeChat
from gateway import doctor
from gateway.app import create_app
from gateway.cli import main
from qr.images import cjk_font
from tests.conftest import TEST_AES_KEY, TEST_APP_ID, TEST_TOKEN, redis_url
from tests.gateway.conftest import serve
from tests.processes import free_port
from tickets.settings import Settings

ALIPAY_APP_ID = "2021000000000001"
WECHAT_SECRET = "0123456789abcdef0123456789abcdef"


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture(scope="module")
def app_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def platforms(app_key: rsa.RSAPrivateKey) -> Iterator[tuple[FakeWeChat, FakeAlipay]]:
    with FakeWeChat(TEST_APP_ID, WECHAT_SECRET) as wechat, FakeAlipay(ALIPAY_APP_ID, public_pem(app_key)) as alipay:
        wechat.start()
        alipay.start()
        yield wechat, alipay


@pytest.fixture
def fonts(tmp_path: Path) -> Path:
    """A font folder holding the machine's CJK font (as a server with fonts-noto-cjk has)."""
    found = cjk_font()
    if found is None:
        pytest.skip("no CJK font on this machine: `apt-get install fonts-noto-cjk` (the CI script does)")
    folder = tmp_path / "fonts"
    folder.mkdir()
    (folder / found.name).symlink_to(found)
    return folder


def statuses(findings: list[doctor.Finding]) -> dict[str, str]:
    return {f.check: f.status for f in findings}


def test_a_ready_production_deployment_passes(settings: Settings, platforms: tuple[FakeWeChat, FakeAlipay],
                                              app_key: rsa.RSAPrivateKey, fonts: Path) -> None:
    wechat, alipay = platforms
    production = settings.model_copy(update={
        "gateway_env": "production", "secret_key": secrets.token_urlsafe(40), "redis_url": redis_url(11),
        "wechat_app_secret": WECHAT_SECRET, "wechat_api_base": wechat.start(), "metrics_token": "m" * 24,
        "alipay_app_id": ALIPAY_APP_ID, "alipay_app_private_key": pem(app_key),
        "alipay_public_key": alipay.public_key_pem, "alipay_gateway": alipay.gateway_url})
    with serve(create_app(production, run_jobs=False)) as url:
        findings = doctor.examine(production.model_copy(update={"public_base_url": url}), font_dirs=[fonts])
    out = io.StringIO()
    assert doctor.report(findings, out) == 0, out.getvalue()
    expected_sqlite = "warn" if production.database_url.startswith("sqlite") else "ok"
    assert statuses(findings) == {
        "settings": "ok", "secrets": "ok", "database": expected_sqlite, "redis": "ok", "wechat": "ok",
        "alipay": "ok", "public address": "warn",  # plain HTTP on loopback: a real deployment serves HTTPS
        "qr card font": "ok"}, out.getvalue()
    assert wechat.stable_token_calls == 1 and wechat.sent == []  # one harmless call, nothing sent
    assert WECHAT_SECRET not in out.getvalue() and production.secret_key not in out.getvalue()


def test_an_unready_deployment_fails_and_each_failure_says_what_to_fix(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        platforms: tuple[FakeWeChat, FakeAlipay]) -> None:
    wechat, alipay = platforms
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # not the key Alipay holds
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "GATEWAY_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(40),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{free_port()}", "DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}",
        "REDIS_URL": f"redis://:hunter2@127.0.0.1:{free_port()}/0", "WECHAT_TOKEN": TEST_TOKEN,
        "WECHAT_APP_ID": TEST_APP_ID, "WECHAT_AES_KEY": TEST_AES_KEY, "WECHAT_APP_SECRET": "f" * 32,
        "WECHAT_API_BASE": wechat.start(), "ALIPAY_APP_ID": ALIPAY_APP_ID, "ALIPAY_APP_PRIVATE_KEY": pem(stranger),
        "ALIPAY_PUBLIC_KEY": alipay.public_key_pem, "ALIPAY_GATEWAY": alipay.gateway_url,
        "DISPATCH_WEBHOOK_URL": "https://dispatch.example.cn/events", "DISPATCH_WEBHOOK_SECRET": "change-me",
    }.items():
        monkeypatch.setenv(name, value)
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    lines = {line.split()[1]: line for line in out.splitlines() if line.startswith(("FAIL", "ok", "warn"))}
    assert lines["secrets"].startswith("FAIL") and "DISPATCH_WEBHOOK_SECRET" in lines["secrets"]
    assert lines["database"].startswith("FAIL") and "run `petition-gateway migrate`" in out
    assert lines["redis"].startswith("FAIL") and "start Redis, or correct REDIS_URL" in out
    assert "hunter2" not in out  # no password from a URL
    assert lines["wechat"].startswith("FAIL") and "errcode 40125" in lines["wechat"] and "AppSecret" in out
    assert lines["alipay"].startswith("FAIL") and "does not match the app public key" in out
    assert lines["public"].startswith("FAIL") and "start `serve` first" in out
    assert lines["metrics"].startswith("warn")
    assert out.rstrip().splitlines()[-1].startswith("not ready: ")


def test_settings_that_cannot_work_are_the_first_failure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GATEWAY_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", secrets.token_urlsafe(40))
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    assert main(["doctor"]) == 1
    assert "FAIL  settings        PUBLIC_BASE_URL must be set" in capsys.readouterr().out


def test_a_machine_without_a_cjk_font_is_told_to_install_one(tmp_path: Path) -> None:
    empty = tmp_path / "no-fonts"
    empty.mkdir()
    (empty / "NotoSansCJK-Regular.ttc").write_bytes(b"not a font")  # the right name is not enough
    finding = doctor._font([empty])
    assert finding.status == "FAIL" and "fonts-noto-cjk" in finding.fix
