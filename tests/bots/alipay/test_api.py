"""The Alipay client against the fake Alipay gateway over real HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bots.alipay.api import TEMPLATE_DATA_MAX_CHARS, AlipayApi, AlipayApiError
from bots.alipay.sign import (
    RESPONSE_SIGNATURE,
    TRANSPORT,
    load_public_key,
    rsa2_sign,
    sign_content_request,
    verify_notification,
    verify_response,
)
from bots.fakes.alipay import FakeAlipay

APP_ID = "2021000000000001"
USER_ID = "2088102150477652"
TEMPLATE_SEND = "alipay.open.app.mini.templatemessage.send"
OAUTH = "alipay.system.oauth.token"


@pytest.fixture(scope="module")
def app_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture
def fake(app_key: rsa.RSAPrivateKey) -> Iterator[FakeAlipay]:
    with FakeAlipay(APP_ID, _public_pem(app_key)) as server:
        server.start()
        yield server


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


@pytest.fixture
def api(fake: FakeAlipay, app_key: rsa.RSAPrivateKey, http: httpx.Client) -> AlipayApi:
    pem = app_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return AlipayApi(APP_ID, pem, fake.public_key_pem, fake.gateway_url, http)


def test_send_template_posts_signed_biz_content_with_data_as_a_json_string(api: AlipayApi, fake: FakeAlipay) -> None:
    api.send_template(USER_ID, "TPL_progress", "pages/ticket/index?id=7",
                      {"keyword1": "处理中", "keyword2": {"value": "2026-11-23"}})
    [message] = fake.sent
    assert message["biz_content"] == {
        "to_user_id": USER_ID, "user_template_id": "TPL_progress", "page": "pages/ticket/index?id=7",
        "data": '{"keyword1":{"value":"处理中"},"keyword2":{"value":"2026-11-23"}}',
    }
    assert message["data"] == {"keyword1": {"value": "处理中"}, "keyword2": {"value": "2026-11-23"}}
    params = message["params"]
    assert {k: params[k] for k in ("app_id", "method", "format", "charset", "sign_type", "version")} == {
        "app_id": APP_ID, "method": TEMPLATE_SEND, "format": "JSON", "charset": "utf-8", "sign_type": "RSA2",
        "version": "1.0"}
    assert "\\u" not in params["biz_content"]
    api.send_template("074a1Kx3k9S2-openid-of-the-app", "TPL_progress", "p", {"keyword1": "已受理"})
    assert fake.sent[-1]["biz_content"]["to_open_id"] == "074a1Kx3k9S2-openid-of-the-app"  # OpenID scheme apps
    assert "to_user_id" not in fake.sent[-1]["biz_content"]
    shanghai = ZoneInfo("Asia/Shanghai")
    sent_at = datetime.strptime(params["timestamp"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=shanghai)
    assert abs(sent_at - datetime.now(shanghai)) < timedelta(minutes=1)
    assert fake.calls[TEMPLATE_SEND] == 2


def test_template_data_of_2048_characters_is_sent_and_2049_refused_before_any_call(
        api: AlipayApi, fake: FakeAlipay) -> None:
    overhead = len('{"k":{"value":""}}')
    api.send_template(USER_ID, "TPL", "pages/index", {"k": "x" * (TEMPLATE_DATA_MAX_CHARS - overhead)})
    assert len(fake.sent[0]["biz_content"]["data"]) == TEMPLATE_DATA_MAX_CHARS
    with pytest.raises(ValueError, match="2049"):
        api.send_template(USER_ID, "TPL", "pages/index", {"k": "中" * (TEMPLATE_DATA_MAX_CHARS - overhead + 1)})
    assert sum(fake.calls.values()) == 1
    assert len(fake.sent) == 1


def test_oauth_token_exchanges_a_code_once(api: AlipayApi, fake: FakeAlipay) -> None:
    fake.auth_codes["4b203fe6c11548bcabd8da5bb087a83b"] = USER_ID
    token = api.oauth_token("4b203fe6c11548bcabd8da5bb087a83b")
    assert token["user_id"] == USER_ID
    assert token["access_token"].startswith("authusrB")
    assert token["expires_in"] > 0
    with pytest.raises(AlipayApiError) as caught:
        api.oauth_token("4b203fe6c11548bcabd8da5bb087a83b")
    assert (caught.value.code, caught.value.sub_code) == ("40002", "isv.code-invalid")


def test_oauth_token_returns_open_id_for_apps_moved_to_open_id(api: AlipayApi, fake: FakeAlipay) -> None:
    fake.auth_codes["code-2"] = "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo"
    token = api.oauth_token("code-2")
    assert token["open_id"] == "074a1CcTG1LelxKe4xQC0zgNdId0nxi95b5lsNpazWYoCo"
    assert "user_id" not in token


def test_oauth_token_with_a_bad_code_is_not_retryable(api: AlipayApi, fake: FakeAlipay) -> None:
    with pytest.raises(AlipayApiError) as caught:
        api.oauth_token("no-such-code")
    assert (caught.value.code, caught.value.msg, caught.value.sub_code) == (
        "40002", "Invalid Arguments", "isv.code-invalid")
    assert caught.value.sub_msg
    assert not caught.value.retryable


def test_a_corrupt_response_signature_is_refused(api: AlipayApi, fake: FakeAlipay) -> None:
    fake.corrupt_signatures = True
    with pytest.raises(AlipayApiError) as caught:
        api.send_template(USER_ID, "TPL", "pages/index", {"k": "v"})
    assert caught.value.code == RESPONSE_SIGNATURE
    assert not caught.value.retryable  # Alipay may have sent it: do not send twice
    fake.auth_codes["c"] = USER_ID
    with pytest.raises(AlipayApiError, match="signature"):
        api.oauth_token("c")


def test_our_app_public_key_in_place_of_alipays_is_refused(
        fake: FakeAlipay, app_key: rsa.RSAPrivateKey, http: httpx.Client) -> None:
    # The most common configuration mistake (fzlee/alipay#66).
    api = AlipayApi(APP_ID, app_key, app_key.public_key(), fake.gateway_url, http)
    with pytest.raises(AlipayApiError) as caught:
        api.send_template(USER_ID, "TPL", "pages/index", {"k": "v"})
    assert caught.value.code == RESPONSE_SIGNATURE


def test_a_request_signed_with_another_key_is_refused_by_the_gateway(
        fake: FakeAlipay, http: httpx.Client) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    api = AlipayApi(APP_ID, stranger, fake.public_key_pem, fake.gateway_url, http)
    with pytest.raises(AlipayApiError) as caught:
        api.send_template(USER_ID, "TPL", "pages/index", {"k": "v"})
    assert (caught.value.code, caught.value.sub_code) == ("40002", "isv.invalid-signature")
    assert not caught.value.retryable
    assert fake.sent == []


def test_keys_can_be_configured_as_the_consoles_bare_base64(
        fake: FakeAlipay, app_key: rsa.RSAPrivateKey, http: httpx.Client) -> None:
    private = app_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public = "".join(fake.public_key_pem.splitlines()[1:-1])
    api = AlipayApi(APP_ID, base64.b64encode(private).decode(), public, fake.gateway_url, http)
    api.send_template(USER_ID, "TPL", "pages/index", {"k": "v"})
    assert len(fake.sent) == 1


@pytest.mark.parametrize(("code", "sub_code", "retryable"), [
    ("20000", "isp.unknow-error", True),
    ("20000", "aop.unknow-error", True),
    ("20000", "", True),  # the code alone: Service Currently Unavailable
    ("40004", "aop.ACQ.SYSTEM_ERROR", True),
    ("40004", "USER_TEMPLATE_ILLEGAL", False),
    ("40002", "isv.invalid-parameter", False),
    ("40006", "isv.insufficient-isv-permissions", False),
])
def test_injected_errors_carry_code_sub_code_and_retryable(
        api: AlipayApi, fake: FakeAlipay, code: str, sub_code: str, retryable: bool) -> None:
    fake.fail_next(TEMPLATE_SEND, code, sub_code, "注入的错误")
    with pytest.raises(AlipayApiError) as caught:
        api.send_template(USER_ID, "TPL", "pages/index", {"k": "v"})
    assert (caught.value.code, caught.value.sub_code, caught.value.sub_msg) == (code, sub_code, "注入的错误")
    assert caught.value.retryable is retryable
    api.send_template(USER_ID, "TPL", "pages/index", {"k": "v"})  # the failure was for one call only
    assert len(fake.sent) == 1


def test_fail_next_counts_down_per_method(api: AlipayApi, fake: FakeAlipay) -> None:
    fake.fail_next(OAUTH, "20000", "isp.unknow-error", times=2)
    fake.auth_codes["c"] = USER_ID
    api.send_template(USER_ID, "TPL", "pages/index", {"k": "v"})
    for _ in range(2):
        with pytest.raises(AlipayApiError) as caught:
            api.oauth_token("c")
        assert caught.value.retryable
    assert api.oauth_token("c")["user_id"] == USER_ID


def test_latency_beyond_the_read_timeout_is_a_retryable_transport_error(
        fake: FakeAlipay, app_key: rsa.RSAPrivateKey, http: httpx.Client) -> None:
    api = AlipayApi(APP_ID, app_key, fake.public_key_pem, fake.gateway_url, http, timeout=httpx.Timeout(0.2))
    fake.latency = 0.6
    with pytest.raises(AlipayApiError) as caught:
        api.send_template(USER_ID, "TPL", "pages/index", {"k": "v"})
    assert caught.value.code == TRANSPORT
    assert caught.value.retryable


def test_http_errors_and_unknown_methods(fake: FakeAlipay, app_key: rsa.RSAPrivateKey, http: httpx.Client) -> None:
    wrong_path = AlipayApi(APP_ID, app_key, fake.public_key_pem, fake.gateway_url.replace("gateway.do", "x"), http)
    with pytest.raises(AlipayApiError) as caught:
        wrong_path.call(TEMPLATE_SEND, {})
    assert (caught.value.code, caught.value.retryable) == (TRANSPORT, True)
    api = AlipayApi(APP_ID, app_key, fake.public_key_pem, fake.gateway_url, http)
    with pytest.raises(AlipayApiError) as caught:
        api.call("alipay.no.such.method", {"a": 1})
    assert (caught.value.code, caught.value.sub_code) == ("40002", "isv.invalid-method")
    wrong_app = AlipayApi("2021000000000999", app_key, fake.public_key_pem, fake.gateway_url, http)
    with pytest.raises(AlipayApiError) as caught:
        wrong_app.call(TEMPLATE_SEND, {})
    assert caught.value.sub_code == "isv.invalid-app-id"


def test_the_fake_honours_a_gbk_request(fake: FakeAlipay, app_key: rsa.RSAPrivateKey, http: httpx.Client) -> None:
    """A GBK request signed over GBK bytes; the fake answers in GBK, signed over GBK bytes."""
    data = json.dumps({"keyword1": {"value": "已办结，请评价"}}, ensure_ascii=False)
    params = {"app_id": APP_ID, "method": TEMPLATE_SEND, "format": "JSON", "charset": "GBK", "sign_type": "RSA2",
              "timestamp": "2026-11-23 10:00:00", "version": "1.0",
              "biz_content": json.dumps({"to_user_id": USER_ID, "user_template_id": "TPL", "page": "p",
                                         "data": data}, ensure_ascii=False)}
    params["sign"] = rsa2_sign(app_key, sign_content_request(params), "GBK")
    reply = http.post(fake.gateway_url, content=urlencode(params, encoding="gbk"),
                      headers={"Content-Type": "application/x-www-form-urlencoded;charset=GBK"})
    assert "GBK" in reply.headers["content-type"]
    node = verify_response(reply.content.decode("gbk"), TEMPLATE_SEND, load_public_key(fake.public_key_pem), "GBK")
    assert node["code"] == "10000"
    assert fake.sent[0]["data"] == {"keyword1": {"value": "已办结，请评价"}}


@pytest.mark.parametrize(("variant", "charset"), [("v1", "utf-8"), ("v2", "GBK")])
def test_signed_notification_verifies_with_the_fakes_public_key(
        fake: FakeAlipay, variant: Literal["v1", "v2"], charset: str) -> None:
    message = fake.signed_notification({
        "notify_id": "2024061000222153002029291512345678", "msg_method": "alipay.open.mini.example.notify",
        "app_id": APP_ID, "version": "1.1", "utc_timestamp": "1718000000000",
        "biz_content": json.dumps({"status": "已受理"}, ensure_ascii=False),
    }, variant=variant, charset=charset)
    assert (message["charset"], message["sign_type"]) == (charset, "RSA2")
    key = load_public_key(fake.public_key_pem)
    assert verify_notification(message, key, variant=variant)
    assert not verify_notification(message, key, variant="v2" if variant == "v1" else "v1")
