"""The WeChat sender against the fake WeChat server over real HTTP."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from bots.fakes.wechat import FakeWeChat
from bots.wechat.access_token import AccessTokenProvider
from bots.wechat.api import WeChatApi, WeChatApiError
from bots.wechat.errors import (
    ACCESS_TOKEN_EXPIRED,
    ARGUMENT_INVALID,
    CS_QUOTA_EXHAUSTED,
    DAILY_QUOTA,
    INVALID_CREDENTIAL,
    INVALID_TEMPLATE_ID,
    MINUTE_QUOTA,
    OUT_OF_WINDOW,
    SUBSCRIPTION_REFUSED,
    SYSTEM_BUSY,
)
from tickets.storage.db import create_db_engine

APP_ID = "wx1234567890abcdef"
SECRET = "s3cr3t-0123456789abcdef0123456789"
OPENID = "oABCD1234567890abcdefghijkl"
CS_SEND = "/cgi-bin/message/custom/send"
TEMPLATE_SEND = "/cgi-bin/message/template/send"
BIZSEND = "/cgi-bin/message/subscribe/bizsend"
# The smallest valid PNG: 1x1, one black pixel.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360606060000000050001a5f645400000000049454e44ae426082"
)


@pytest.fixture
def fake() -> Iterator[FakeWeChat]:
    with FakeWeChat(APP_ID, SECRET) as server:
        server.start()
        yield server


@pytest.fixture
def engine(tmp_path: Path, sqlite_template: Path) -> Iterator[Engine]:
    path = tmp_path / "gateway.db"
    shutil.copy(sqlite_template, path)
    eng = create_db_engine(f"sqlite:///{path}")
    yield eng
    eng.dispose()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


@pytest.fixture
def api(fake: FakeWeChat, engine: Engine, http: httpx.Client) -> WeChatApi:
    return WeChatApi(AccessTokenProvider(engine, APP_ID, SECRET, fake.base_url, http), fake.base_url, http)


def test_send_text_posts_a_customer_service_message_with_chinese_unescaped(
        api: WeChatApi, fake: FakeWeChat) -> None:
    api.send_text(OPENID, "您的诉求已受理，编号 12345")
    [message] = fake.sent
    assert message["path"] == CS_SEND
    assert message["body"] == {"touser": OPENID, "msgtype": "text", "text": {"content": "您的诉求已受理，编号 12345"}}
    assert "您的诉求已受理".encode() in message["raw"]
    assert b"\\u" not in message["raw"]
    assert [m["text"] for m in fake.texts_to(OPENID)] == ["您的诉求已受理，编号 12345"]


def test_send_template_returns_the_msgid_and_wraps_plain_values(api: WeChatApi, fake: FakeWeChat) -> None:
    msgid = api.send_template(OPENID, "TPL_progress", {"keyword1": "处理中", "keyword2": {"value": "2026-11-23"}},
                              url="https://gw.example.cn/t/ABC", client_msg_id="ticket-7-progress-2")
    assert isinstance(msgid, int)
    [message] = fake.sent
    assert message["path"] == TEMPLATE_SEND
    assert message["body"] == {
        "touser": OPENID, "template_id": "TPL_progress", "url": "https://gw.example.cn/t/ABC",
        "client_msg_id": "ticket-7-progress-2",
        "data": {"keyword1": {"value": "处理中"}, "keyword2": {"value": "2026-11-23"}},
    }
    assert "处理中".encode() in message["raw"]
    # WeChat sends one message per openid + client_msg_id; a repeat gets the first msgid.
    assert api.send_template(OPENID, "TPL_progress", {"keyword1": "处理中"},
                             client_msg_id="ticket-7-progress-2") == msgid
    assert len(fake.sent) == 1


def test_send_template_omits_absent_optional_fields(api: WeChatApi, fake: FakeWeChat) -> None:
    api.send_template(OPENID, "TPL", {"keyword1": "x"})
    assert set(fake.sent[0]["body"]) == {"touser", "template_id", "data"}


def test_send_subscription_uses_bizsend(api: WeChatApi, fake: FakeWeChat) -> None:
    api.send_subscription(OPENID, "SUB_TPL", {"thing1": "路灯不亮", "phrase2": "已办结"}, page="https://gw.example.cn/t/A")
    [message] = fake.sent
    assert message["path"] == BIZSEND
    assert message["body"] == {"touser": OPENID, "template_id": "SUB_TPL", "page": "https://gw.example.cn/t/A",
                               "data": {"thing1": {"value": "路灯不亮"}, "phrase2": {"value": "已办结"}}}


def test_upload_image_sends_multipart_media(api: WeChatApi, fake: FakeWeChat, http: httpx.Client) -> None:
    media_id = api.upload_image(PNG)
    assert fake.media[media_id] == ("image/png", PNG)
    got = http.get(f"{fake.base_url}/cgi-bin/media/get",
                   params={"access_token": fake.current_token, "media_id": media_id})
    assert got.content == PNG


def test_qr_scene_of_64_characters_is_accepted(api: WeChatApi, fake: FakeWeChat) -> None:
    scene = "cosign:" + "x" * 57
    reply = api.create_qr_scene(scene, 2_592_000)
    assert reply["expire_seconds"] == 2_592_000
    assert reply["url"] == f"http://weixin.qq.com/q/{reply['ticket']}"
    assert fake.qr_scenes[reply["ticket"]] == scene


@pytest.mark.parametrize(("scene", "expire"), [("x" * 65, 60), ("", 60), ("ok", 2_592_001), ("ok", 0)])
def test_qr_scene_out_of_bounds_is_refused_before_any_call(
        api: WeChatApi, fake: FakeWeChat, scene: str, expire: int) -> None:
    with pytest.raises(ValueError):
        api.create_qr_scene(scene, expire)
    assert sum(fake.calls.values()) == 0


def test_rotated_token_gets_one_invalidate_and_one_retry(api: WeChatApi, fake: FakeWeChat) -> None:
    api.send_text(OPENID, "第一条")
    old = fake.current_token
    fake.rotate_token()
    api.send_text(OPENID, "第二条")
    assert fake.current_token != old
    assert fake.calls[CS_SEND] == 3
    assert fake.stable_token_calls == 2
    assert [m["text"] for m in fake.texts_to(OPENID)] == ["第一条", "第二条"]


@pytest.mark.parametrize("errcode", [INVALID_CREDENTIAL, 40014, ACCESS_TOKEN_EXPIRED])
def test_token_errors_are_retried_once_with_a_refreshed_token(
        api: WeChatApi, fake: FakeWeChat, errcode: int) -> None:
    fake.fail_next("custom/send", errcode)
    api.send_text(OPENID, "你好")
    assert fake.calls[CS_SEND] == 2
    assert fake.stable_token_calls == 2  # the first token, then the single refresh
    assert len(fake.sent) == 1


def test_a_token_error_on_the_retry_is_raised_not_looped(api: WeChatApi, fake: FakeWeChat) -> None:
    fake.fail_next("custom/send", INVALID_CREDENTIAL, times=5)
    with pytest.raises(WeChatApiError) as caught:
        api.send_text(OPENID, "你好")
    assert caught.value.errcode == INVALID_CREDENTIAL
    assert fake.calls[CS_SEND] == 2
    assert fake.stable_token_calls == 2


@pytest.mark.parametrize("errcode", [DAILY_QUOTA, MINUTE_QUOTA, SYSTEM_BUSY])
def test_busy_and_rate_limits_raise_retryable_without_a_retry_loop(
        api: WeChatApi, fake: FakeWeChat, errcode: int) -> None:
    fake.fail_next("custom/send", errcode, times=3)
    with pytest.raises(WeChatApiError) as caught:
        api.send_text(OPENID, "你好")
    assert (caught.value.errcode, caught.value.retryable) == (errcode, True)
    assert fake.calls[CS_SEND] == 1
    assert fake.stable_token_calls == 1


@pytest.mark.parametrize(("path", "errcode"), [
    ("custom/send", CS_QUOTA_EXHAUSTED),
    ("custom/send", OUT_OF_WINDOW),
    ("subscribe/bizsend", SUBSCRIPTION_REFUSED),
    ("subscribe/bizsend", ARGUMENT_INVALID),
    ("template/send", INVALID_TEMPLATE_ID),
])
def test_final_refusals_raise_with_their_errcode_and_are_not_retryable(
        api: WeChatApi, fake: FakeWeChat, path: str, errcode: int) -> None:
    fake.fail_next(path, errcode, errmsg="refused")
    send: Callable[[], object] = {
        "custom/send": lambda: api.send_text(OPENID, "你好"),
        "subscribe/bizsend": lambda: api.send_subscription(OPENID, "SUB", {"thing1": "x"}),
        "template/send": lambda: api.send_template(OPENID, "TPL", {"keyword1": "x"}),
    }[path]
    with pytest.raises(WeChatApiError) as caught:
        send()
    assert caught.value.errcode == errcode
    assert caught.value.errmsg.startswith("refused")
    assert caught.value.retryable is False
    assert sum(n for p, n in fake.calls.items() if p.endswith(path)) == 1
    assert fake.sent == []


def test_customer_service_quota_is_five_per_window(api: WeChatApi, fake: FakeWeChat) -> None:
    for n in range(5):
        api.send_text(OPENID, f"第{n}条")
    with pytest.raises(WeChatApiError) as caught:
        api.send_text(OPENID, "第六条")
    assert (caught.value.errcode, caught.value.retryable) == (CS_QUOTA_EXHAUSTED, False)
    fake.message_from(OPENID)  # the citizen writes again: a new window
    api.send_text(OPENID, "第六条")
    assert len(fake.sent) == 6


def test_outside_the_48_hour_window(api: WeChatApi, fake: FakeWeChat) -> None:
    fake.outside_window.add(OPENID)
    with pytest.raises(WeChatApiError) as caught:
        api.send_text(OPENID, "你好")
    assert (caught.value.errcode, caught.value.retryable) == (OUT_OF_WINDOW, False)


def test_template_with_unknown_template_id_from_the_fake(api: WeChatApi) -> None:
    with pytest.raises(WeChatApiError) as caught:
        api.send_template(OPENID, "", {"keyword1": "x"})
    assert caught.value.errcode == INVALID_TEMPLATE_ID


def test_slow_answer_over_the_read_timeout_is_a_retryable_transport_error(
        fake: FakeWeChat, engine: Engine, http: httpx.Client) -> None:
    tokens = AccessTokenProvider(engine, APP_ID, SECRET, fake.base_url, http)
    tokens.token()
    api = WeChatApi(tokens, fake.base_url, http, timeout=httpx.Timeout(0.2, connect=3.0))
    fake.latency = 1.0
    started = time.monotonic()
    with pytest.raises(WeChatApiError) as caught:
        api.send_text(OPENID, "你好")
    assert time.monotonic() - started < 0.9
    assert (caught.value.errcode, caught.value.errmsg, caught.value.retryable) == (-2, "transport", True)
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)


def test_non_json_or_non_200_answer_is_a_transport_error(
        fake: FakeWeChat, engine: Engine, http: httpx.Client) -> None:
    tokens = AccessTokenProvider(engine, APP_ID, SECRET, fake.base_url, http)
    api = WeChatApi(tokens, fake.base_url + "/nowhere", http)
    with pytest.raises(WeChatApiError) as caught:
        api.send_text(OPENID, "你好")
    assert (caught.value.errcode, caught.value.retryable) == (-2, True)
    assert "404" in caught.value.errmsg


def test_fake_rejects_calls_without_a_valid_token(fake: FakeWeChat, http: httpx.Client) -> None:
    body = json.dumps({"touser": OPENID, "msgtype": "text", "text": {"content": "x"}})
    reply = http.post(f"{fake.base_url}{CS_SEND}", params={"access_token": "forged"}, content=body).json()
    assert reply["errcode"] == INVALID_CREDENTIAL
    assert fake.sent == []
