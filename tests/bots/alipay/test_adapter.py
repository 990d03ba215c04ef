"""The Alipay notification adapter with fresh RSA keys: V1 and V2, UTF-8 and GBK, tampering and bad input.

Notifications are signed here as Alipay does, with `cryptography` directly (not our signing code), and
encoded by `urllib.parse.urlencode` in the declared charset, as a Java form post would be.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import quote, urlencode

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bots.alipay.adapter import AlipayAdapter, decode_form, variant_of
from bots.fakes.alipay import FakeAlipay
from bots.request import PlainRequest
from tickets.errors import InboundError, MalformedPayload, PayloadTooLarge, SignatureError
from tickets.inbox.message import Channel, Consent, Kind

Variant = Literal["v1", "v2"]
APP_ID = "2021000000000001"
USER_ID = "2088102150477652"
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
CONSENT_METHOD = "alipay.open.mini.subscription.changed"  # configured, as ALIPAY_CONSENT_METHODS would be
FORM = {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}


@pytest.fixture(scope="module")
def alipay_key() -> rsa.RSAPrivateKey:
    """Alipay's pair: the gateway holds only its public half."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture
def adapter(alipay_key: rsa.RSAPrivateKey) -> AlipayAdapter:
    return AlipayAdapter(APP_ID, public_pem(alipay_key), consent_methods=[CONSENT_METHOD], clock=lambda: NOW)


def message(method: str = "alipay.open.mini.example.notify", biz: dict[str, object] | None = None,
            notify_id: str = "2026112300222153002029291512345678", sent: datetime = NOW) -> dict[str, str]:
    """A message-service notification's fields before signing."""
    content = biz if biz is not None else {"user_id": USER_ID, "remark": "路灯不亮，已派单 & 处理中 100%"}
    return {"app_id": APP_ID, "version": "1.1", "msg_method": method, "notify_id": notify_id,
            "utc_timestamp": str(int(sent.timestamp() * 1000)),
            "biz_content": json.dumps(content, ensure_ascii=False, separators=(",", ":"))}


def sign(key: rsa.RSAPrivateKey, params: dict[str, str], variant: Variant, charset: str = "utf-8") -> dict[str, str]:
    """Sign as Alipay does: sorted k=v of the decoded values, without sign (V2) or sign and sign_type (V1)."""
    signed = {"charset": charset, "sign_type": "RSA2", **params}
    left_out = {"sign"} if variant == "v2" else {"sign", "sign_type"}
    content = "&".join(f"{k}={v}" for k, v in sorted(signed.items()) if k not in left_out)
    signature = key.sign(content.encode(charset), padding.PKCS1v15(), hashes.SHA256())
    return {**signed, "sign": base64.b64encode(signature).decode()}


def post(params: dict[str, str], charset: str | None = None) -> PlainRequest:
    """The POST Alipay makes: a form body percent-encoded in the message's charset."""
    body = urlencode(params, encoding=charset or params.get("charset") or "utf-8").encode("ascii")
    return PlainRequest("POST", {}, FORM, body)


@pytest.mark.parametrize("charset", ["utf-8", "GBK"])
@pytest.mark.parametrize("variant", ["v1", "v2"])
def test_round_trip(adapter: AlipayAdapter, alipay_key: rsa.RSAPrivateKey, variant: Variant, charset: str) -> None:
    params = message()
    if variant == "v2":  # a 生活号 gateway event: `service`, not `msg_method`
        del params["msg_method"]
        params["service"] = "alipay.mobile.public.message.notify"
    opened = adapter.open(post(sign(alipay_key, params, variant, charset)))
    assert opened.variant == variant
    msg = opened.message
    assert (msg.channel, msg.account, msg.user_id, msg.kind) == (Channel.ALIPAY, APP_ID, USER_ID, Kind.UNKNOWN)
    assert msg.dedupe_key == "n:2026112300222153002029291512345678"
    assert msg.created_at == NOW
    assert msg.extra["biz_content"]["remark"] == "路灯不亮，已派单 & 处理中 100%"
    assert msg.extra["variant"] == variant


def test_gbk_escapes_are_decoded_as_gbk(alipay_key: rsa.RSAPrivateKey) -> None:
    body = post(sign(alipay_key, message(), "v1", "GBK")).body
    assert quote("路灯".encode("gbk")).encode() in body  # %C2%B7%B5%C6: GBK bytes, not UTF-8
    assert "路灯不亮" in decode_form(body)["biz_content"]


def test_the_fake_gateways_notifications_verify(adapter: AlipayAdapter) -> None:
    with FakeAlipay(APP_ID, public_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))) as fake:
        ours = AlipayAdapter(APP_ID, fake.public_key_pem, clock=lambda: NOW)
        for charset in ("utf-8", "gbk"):
            assert ours.open(post(fake.signed_notification(message(), charset=charset))).variant == "v1"
        with pytest.raises(SignatureError):  # signed by the fake's key, checked with another
            adapter.open(post(fake.signed_notification(message())))


@pytest.mark.parametrize("variant", ["v1", "v2"])
def test_tampering_with_any_field_fails(adapter: AlipayAdapter, alipay_key: rsa.RSAPrivateKey,
                                        variant: Variant) -> None:
    params = message()
    if variant == "v2":
        del params["msg_method"]
        params["service"] = "alipay.mobile.public.message.notify"
    signed = sign(alipay_key, params, variant)
    for field in sorted(set(signed) - {"sign"}):
        tampered = dict(signed)
        tampered[field] = {"charset": "gbk", "sign_type": "RSA"}.get(field, signed[field] + "0")
        with pytest.raises(InboundError):
            adapter.open(post(tampered, "utf-8"))
    for changed in ({**signed, "extra": "1"}, {k: v for k, v in signed.items() if k != "version"}):
        with pytest.raises(SignatureError):
            adapter.open(post(changed))
    biz = dict(signed, biz_content=signed["biz_content"].replace("处理中", "已办结"))
    with pytest.raises(SignatureError, match="does not verify"):
        adapter.open(post(biz))


def test_forged_missing_and_foreign_signatures(adapter: AlipayAdapter, alipay_key: rsa.RSAPrivateKey,
                                               other_key: rsa.RSAPrivateKey) -> None:
    signed = sign(alipay_key, message(), "v1")
    cases = {
        "sign missing": {k: v for k, v in signed.items() if k != "sign"},
        "sign_type is not RSA2": {k: v for k, v in signed.items() if k != "sign_type"},
        "does not verify": sign(other_key, message(), "v1"),  # the wrong key (e.g. our app key)
    }
    raw = bytearray(base64.b64decode(signed["sign"]))
    raw[-1] ^= 1
    cases["does not verify (v1)"] = {**signed, "sign": base64.b64encode(bytes(raw)).decode()}
    cases["not base64"] = {**signed, "sign": "!!" + signed["sign"]}
    for reason, params in cases.items():
        with pytest.raises(SignatureError, match=reason.split(" (")[0] if reason != "not base64" else "verify"):
            adapter.open(post(params))


def test_sign_type_mismatch_is_refused(adapter: AlipayAdapter, alipay_key: rsa.RSAPrivateKey) -> None:
    # RSA (SHA-1) declared: refused before any verification, whatever was signed.
    legacy = {**sign(alipay_key, message(), "v1"), "sign_type": "RSA"}
    with pytest.raises(SignatureError, match="sign_type"):
        adapter.open(post(legacy))
    # V2 signs sign_type: declaring RSA2 over content that said RSA fails the signature.
    service = {k: v for k, v in message().items() if k != "msg_method"} | {"service": "alipay.service.check"}
    said_rsa = sign(alipay_key, {**service, "sign_type": "RSA"}, "v2")
    with pytest.raises(SignatureError):
        adapter.open(post({**said_rsa, "sign_type": "RSA2"}))


def test_the_variant_follows_the_kind_and_is_never_guessed(adapter: AlipayAdapter,
                                                           alipay_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(SignatureError, match=r"\(v1\)"):  # a message-service notification signed V2
        adapter.open(post(sign(alipay_key, message(), "v2")))
    service = {k: v for k, v in message().items() if k != "msg_method"} | {"service": "alipay.service.check"}
    with pytest.raises(SignatureError, match=r"\(v2\)"):  # a 生活号 event signed V1
        adapter.open(post(sign(alipay_key, service, "v1")))
    assert variant_of({"notify_type": "trade_status_sync"}) == "v1"
    with pytest.raises(MalformedPayload):
        variant_of({"msg_method": "a", "service": "b"})


def test_url_encoded_values_and_wrong_charsets(adapter: AlipayAdapter, alipay_key: rsa.RSAPrivateKey) -> None:
    signed = sign(alipay_key, message(), "v1")
    twice = urlencode({**signed, "biz_content": quote(signed["biz_content"])}).encode()
    with pytest.raises(SignatureError):  # a value still URL-encoded after decoding
        adapter.open(PlainRequest("POST", {}, FORM, twice))
    gbk_body = post(sign(alipay_key, message(), "v1", "GBK")).body
    with pytest.raises(MalformedPayload, match="not valid utf-8"):  # GBK escapes declared UTF-8
        adapter.open(PlainRequest("POST", {}, FORM, gbk_body.replace(b"charset=GBK", b"charset=utf-8")))
    utf8_declared_gbk = urlencode(sign(alipay_key, message(), "v1", "GBK"), encoding="utf-8").encode()
    with pytest.raises(InboundError):  # UTF-8 escapes declared GBK: undecodable or not what was signed
        adapter.open(PlainRequest("POST", {}, FORM, utf8_declared_gbk))
    with pytest.raises(MalformedPayload, match="charset"):
        adapter.open(post({**signed, "charset": "latin-1"}, "utf-8"))


def test_malformed_requests(adapter: AlipayAdapter, alipay_key: rsa.RSAPrivateKey) -> None:
    signed = sign(alipay_key, message(), "v1")
    body = post(signed).body
    cases = {
        "raw non-ASCII": PlainRequest("POST", {}, FORM, body + "&x=路".encode()),
        "repeated": PlainRequest("POST", {}, FORM, body + b"&notify_id=1"),
        "well-formed": PlainRequest("POST", {}, FORM, body + b"&novalue"),
        "form POST": PlainRequest("POST", {}, {"content-type": "application/json"}, body),
    }
    for reason, request in cases.items():
        with pytest.raises(MalformedPayload, match=reason):
            adapter.open(request)
    assert adapter.open(PlainRequest("POST", {}, FORM, b"&" + body + b"&&")).message.user_id == USER_ID
    with pytest.raises(PayloadTooLarge):
        AlipayAdapter(APP_ID, public_pem(alipay_key), max_body_bytes=1024).open(
            PlainRequest("POST", {}, FORM, b"x" * 1025))


def test_checks_after_the_signature(adapter: AlipayAdapter, alipay_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(SignatureError, match="another app_id"):
        adapter.open(post(sign(alipay_key, {**message(), "app_id": "2021000000000999"}, "v1")))
    with pytest.raises(MalformedPayload, match="notify_id missing"):
        adapter.open(post(sign(alipay_key, {k: v for k, v in message().items() if k != "notify_id"}, "v1")))
    with pytest.raises(MalformedPayload, match="too old"):  # beyond Alipay's ~25 h of retries: a replay
        adapter.open(post(sign(alipay_key, message(sent=NOW - timedelta(hours=73)), "v1")))
    late_retry = adapter.open(post(sign(alipay_key, message(sent=NOW - timedelta(hours=49)), "v1")))
    assert late_retry.message.created_at == NOW - timedelta(hours=49)


def test_consent_notifications_are_normalised_like_wechat_events(adapter: AlipayAdapter,
                                                                 alipay_key: rsa.RSAPrivateKey) -> None:
    one = message(CONSENT_METHOD, {"open_id": "074a1CcTG1Le", "template_id": "TPL1", "subscribe_status": "accept"})
    msg = adapter.open(post(sign(alipay_key, one, "v1"))).message
    assert (msg.kind, msg.user_id, msg.consents) == (Kind.CONSENT, "074a1CcTG1Le", (Consent("TPL1", "accept"),))
    assert msg.raw_type == f"msg_method:{CONSENT_METHOD}"
    several = message(CONSENT_METHOD, {"user_id": USER_ID, "subscribe_relations": [
        {"template_id": "TPL1", "status": "unsubscribe"}, {"template_id": "TPL2", "status": "subscribe"},
        {"template_id": "", "status": "accept"}, {"template_id": "TPL3", "status": "maybe"}]})
    msg = adapter.open(post(sign(alipay_key, several, "v1"))).message
    assert msg.consents == (Consent("TPL1", "reject"), Consent("TPL2", "accept"))
    # Not a configured consent method, or no citizen named: kept as unknown, never guessed.
    other = message("alipay.open.mini.other", {"user_id": USER_ID, "template_id": "T", "status": "accept"})
    assert adapter.open(post(sign(alipay_key, other, "v1"))).message.kind is Kind.UNKNOWN
    nobody = adapter.open(post(sign(alipay_key, message(CONSENT_METHOD, {"template_id": "T", "status": "accept"}),
                                    "v1"))).message
    assert (nobody.kind, nobody.user_id) == (Kind.UNKNOWN, "")


def test_unknown_and_unreadable_biz_content_is_kept_raw(adapter: AlipayAdapter, alipay_key: rsa.RSAPrivateKey) -> None:
    params = {**message("alipay.open.mini.version.audit.passed"), "biz_content": "c2VhbGVkIGNvbnRlbnQ="}
    msg = adapter.open(post(sign(alipay_key, params, "v1"))).message
    assert (msg.kind, msg.user_id, msg.extra["biz_content"]) == (Kind.UNKNOWN, "", "c2VhbGVkIGNvbnRlbnQ=")
    service = {k: v for k, v in message().items() if k not in {"msg_method", "notify_id"}}
    service |= {"service": "alipay.mobile.public.message.notify", "biz_content": "<XML><MsgType>event</MsgType></XML>"}
    signed = sign(alipay_key, service, "v2")
    msg = adapter.open(post(signed)).message
    assert msg.dedupe_key.startswith("s:") and msg.raw_type == "service:alipay.mobile.public.message.notify"
    assert adapter.open(post(signed)).message.dedupe_key == msg.dedupe_key  # a retry repeats its signature
