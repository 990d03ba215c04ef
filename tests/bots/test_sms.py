"""The SMS senders: the console one in dev and outside it, the HTTP one against the loopback gateway."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bots.fakes.sms import FakeSmsGateway
from bots.sms import ConsoleSmsSender, HttpSmsSender, SmsError, build_sender
from tickets.settings import Settings

SECRET = "sms-secret"
PHONE = "13912345678"


@pytest.fixture
def gateway() -> Iterator[FakeSmsGateway]:
    with FakeSmsGateway(SECRET) as fake:
        fake.start()
        yield fake


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def test_http_sender_posts_signed_json(gateway: FakeSmsGateway, http: httpx.Client) -> None:
    HttpSmsSender(gateway.entry_url, SECRET, http).send(PHONE, "验证码 123456")
    assert gateway.texts_to(PHONE) == ["验证码 123456"] and gateway.last_code(PHONE) == "123456"


def test_a_wrong_secret_is_refused_and_not_retried(gateway: FakeSmsGateway, http: httpx.Client) -> None:
    with pytest.raises(SmsError) as caught:
        HttpSmsSender(gateway.entry_url, "not-the-secret", http).send(PHONE, "x")
    assert not caught.value.retryable and "403" in caught.value.reason and gateway.refused == 1
    assert PHONE not in str(caught.value)


def test_gateway_failures_and_no_answer_are_retryable(gateway: FakeSmsGateway, http: httpx.Client) -> None:
    sender = HttpSmsSender(gateway.entry_url, SECRET, http)
    gateway.fail_next(503)
    with pytest.raises(SmsError) as busy:
        sender.send(PHONE, "x")
    gateway.fail_next(400)
    with pytest.raises(SmsError) as refused:
        sender.send(PHONE, "x")
    assert busy.value.retryable and not refused.value.retryable
    with pytest.raises(SmsError) as gone:
        HttpSmsSender("http://127.0.0.1:1/sms/send", SECRET, http).send(PHONE, "x")
    assert gone.value.retryable and gateway.sent == []


def test_console_sender_shows_the_text_only_in_dev(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    ConsoleSmsSender(reveal=True).send(PHONE, "验证码 654321")
    with pytest.raises(SmsError) as refused:  # outside dev: the citizen is told at once, not left waiting
        ConsoleSmsSender(reveal=False).send(PHONE, "验证码 111222")
    assert not refused.value.retryable
    assert "139****5678" in caplog.text and "654321" in caplog.text
    assert "111222" not in caplog.text and PHONE not in caplog.text


def test_build_sender_follows_the_settings(tmp_path: Path, gateway: FakeSmsGateway, http: httpx.Client) -> None:
    dev = Settings(var_dir=tmp_path, secret_key="z" * 40, _env_file=None)  # type: ignore[call-arg]
    console = build_sender(dev, http)
    assert isinstance(console, ConsoleSmsSender) and console.reveal
    production = Settings(gateway_env="production", secret_key="z" * 40, sms_sender="http",
                          sms_http_url=gateway.entry_url, sms_http_secret=SECRET, _env_file=None)  # type: ignore[call-arg]
    build_sender(production, http).send(PHONE, "hello")
    assert gateway.texts_to(PHONE) == ["hello"]
