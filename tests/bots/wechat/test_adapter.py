"""bots/wechat/adapter.py: the WeChat adapter from fixture files, with WeRoBot playing WeChat in safe mode."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import xmltodict
from werobot.crypto import MessageCrypt
from werobot.utils import get_signature

from bots.replies import Reply
from bots.request import PlainRequest
from bots.wechat.adapter import WeChatAdapter, WeChatEnvelope
from bots.wechat.replay import MemoryNonces
from tickets.errors import DecryptError, MalformedPayload, PayloadTooLarge, SignatureError
from tickets.inbox.message import Channel, Consent, InboundMessage, Kind, Link, Location, Media

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "wechat"
TOKEN = "petition_token"
APP_ID = "wx1234567890abcdef"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ACCOUNT = "gh_0123456789ab"
OPENID = "oTcitizen-0001_AbCdEf"
TS, NONCE = "1718000000", "1320562132"
NOW = datetime(2024, 6, 10, 6, 13, 25, tzinfo=UTC)
CREATED = datetime(2024, 6, 10, 6, 13, 20, tzinfo=UTC)  # CreateTime 1718000000 of every fixture
TEMPLATE_A = "VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc"
TEMPLATE_B = "9nLIlbOQZC5Y89AZteFEux3WCXRRRG5Wfzkpssu4bLI"

WEROBOT = MessageCrypt(token=TOKEN, encoding_aes_key=AES_KEY, app_id=APP_ID)


def adapter(**kwargs: Any) -> WeChatAdapter:
    """An account in safe mode (an EncodingAESKey is configured), at NOW."""
    options: dict[str, Any] = {"aes_key": AES_KEY, "clock": lambda: NOW} | kwargs
    return WeChatAdapter(TOKEN, APP_ID, **options)


def plain_adapter(**kwargs: Any) -> WeChatAdapter:
    """An account in plain mode (no EncodingAESKey), at NOW."""
    return adapter(aes_key="", **kwargs)


def fixture(name: str) -> str:
    return (FIXTURES / f"{name}.xml").read_text(encoding="utf-8")


def signed_query(**extra: str) -> dict[str, str]:
    """The query WeChat sends with every push; the signature is WeRoBot's, not ours."""
    query = {"signature": get_signature(TOKEN, TS, NONCE), "timestamp": TS, "nonce": NONCE, "openid": OPENID}
    return query | extra


def plain(body: str | bytes) -> PlainRequest:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return PlainRequest("POST", signed_query(), {"content-type": "text/xml"}, data)


def encrypt_with_werobot(xml: str, crypt: MessageCrypt = WEROBOT) -> tuple[str, str]:
    """WeRoBot encrypts `xml` as WeChat would: (Encrypt, msg_signature)."""
    envelope = xmltodict.parse(crypt.encrypt_message(xml, TS, NONCE))["xml"]
    return envelope["Encrypt"], envelope["MsgSignature"]


def safe_body(encrypt: str) -> bytes:
    return (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>").encode()


def safe(xml: str, crypt: MessageCrypt = WEROBOT) -> PlainRequest:
    encrypt, msg_signature = encrypt_with_werobot(xml, crypt)
    query = signed_query(encrypt_type="aes", msg_signature=msg_signature)
    return PlainRequest("POST", query, {"content-type": "text/xml"}, safe_body(encrypt))


def safe_with_encrypt(encrypt: str) -> PlainRequest:
    """A safe-mode push whose (possibly broken) Encrypt carries a correct msg_signature."""
    query = signed_query(encrypt_type="aes", msg_signature=get_signature(TOKEN, TS, NONCE, encrypt))
    return PlainRequest("POST", query, {}, safe_body(encrypt))


def werobot_open(body: bytes) -> dict[str, Any]:
    """WeRoBot, playing WeChat, verifies MsgSignature and decrypts our encrypted reply."""
    o = xmltodict.parse(body)["xml"]
    inner = WEROBOT.decrypt_message(o["TimeStamp"], o["Nonce"], o["MsgSignature"], o["Encrypt"])
    fields: dict[str, Any] = xmltodict.parse(inner.decode("utf-8"))["xml"]
    return fields


def compatible(xml: str) -> PlainRequest:
    """Compatible mode: the plaintext fields and Encrypt in one body."""
    encrypt, msg_signature = encrypt_with_werobot(xml)
    outer = xml.replace("</xml>", f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
    query = signed_query(encrypt_type="aes", msg_signature=msg_signature)
    return PlainRequest("POST", query, {}, outer.encode())


def expected(kind: Kind, dedupe_key: str, raw_type: str, **fields: Any) -> InboundMessage:
    return InboundMessage(channel=Channel.WECHAT, account=ACCOUNT, user_id=OPENID, kind=kind,
                          dedupe_key=dedupe_key, created_at=CREATED, raw_type=raw_type, **fields)


def event_key(event: str, key: str = "") -> str:
    return f"e:{OPENID}:1718000000:{event}:{key}"


SCENE = "petition:P2024-0042"
DOC_SIGNATURE = "f464b24fc39322e44b38aa78f5edd27bd1441696"  # Token AAAAA, ts 1714036504, nonce 1514711492
NORMALISED = {
    "text": expected(Kind.TEXT, "m:24600000000000001", "text", text="路灯坏了，在人民路 12 号门口 #12345"),
    "image": expected(Kind.IMAGE, "m:24600000000000002", "image",
                      media=Media("media_image_01", url="http://mmbiz.qpic.cn/mmbiz_jpg/abc123/0")),
    "voice": expected(Kind.VOICE, "m:24600000000000003", "voice", text="小区门口的垃圾三天没人清运",
                      media=Media("media_voice_01", format="amr")),
    "voice_no_recognition": expected(Kind.VOICE, "m:24600000000000004", "voice",
                                     media=Media("media_voice_02", format="amr")),
    "video": expected(Kind.VIDEO, "m:24600000000000005", "video",
                      media=Media("media_video_01", thumb_media_id="thumb_video_01")),
    "shortvideo": expected(Kind.VIDEO, "m:24600000000000006", "shortvideo",
                           media=Media("media_shortvideo_01", thumb_media_id="thumb_shortvideo_01")),
    "location": expected(Kind.LOCATION, "m:24600000000000007", "location",
                         location=Location(36.651216, 117.120095, "山东省济南市历下区泉城路 1 号", scale=15)),
    "link": expected(Kind.LINK, "m:24600000000000008", "link",
                     link=Link("小区停车位被占用", "业主群里的讨论", "https://mp.weixin.qq.com/s/AbCdEf")),
    "miniprogrampage": expected(Kind.UNKNOWN, "m:24600000000000009", "miniprogrampage"),
    "unknown_msgtype": expected(Kind.UNKNOWN, "m:24600000000000010", "hologram"),
    "event_subscribe": expected(Kind.FOLLOW, event_key("subscribe"), "event:subscribe"),
    "event_subscribe_qrscene": expected(Kind.FOLLOW, event_key("subscribe", f"qrscene_{SCENE}"),
                                        "event:subscribe", event_key=SCENE),
    "event_scan": expected(Kind.SCAN, event_key("SCAN", SCENE), "event:SCAN", event_key=SCENE),
    "event_unsubscribe": expected(Kind.UNFOLLOW, event_key("unsubscribe"), "event:unsubscribe"),
    "event_click": expected(Kind.MENU_CLICK, event_key("CLICK", "MY_TICKETS"), "event:CLICK",
                            event_key="MY_TICKETS"),
    "event_view": expected(Kind.MENU_VIEW, event_key("VIEW", "https://gw.example.cn/t/ABC123"), "event:VIEW",
                           event_key="https://gw.example.cn/t/ABC123"),
    "event_location": expected(Kind.LOCATION_REPORT, event_key("LOCATION"), "event:LOCATION",
                               location=Location(36.651216, 117.120095), extra={"precision": 65.0}),
    "event_templatesendjobfinish": expected(
        Kind.DELIVERY_RECEIPT, event_key("TEMPLATESENDJOBFINISH"), "event:TEMPLATESENDJOBFINISH",
        consents=(Consent(template_id="", status="failed:user block", msg_id="200163836"),)),
    "event_subscribe_msg_popup_one": expected(
        Kind.CONSENT, event_key("subscribe_msg_popup_event"), "event:subscribe_msg_popup_event",
        consents=(Consent(TEMPLATE_A, "accept"),)),
    "event_subscribe_msg_popup_two": expected(
        Kind.CONSENT, event_key("subscribe_msg_popup_event"), "event:subscribe_msg_popup_event",
        consents=(Consent(TEMPLATE_A, "accept"), Consent(TEMPLATE_B, "reject"))),
    "event_subscribe_msg_change": expected(
        Kind.CONSENT, event_key("subscribe_msg_change_event"), "event:subscribe_msg_change_event",
        consents=(Consent(TEMPLATE_A, "reject"),)),
    "event_subscribe_msg_sent": expected(
        Kind.DELIVERY_RECEIPT, event_key("subscribe_msg_sent_event"), "event:subscribe_msg_sent_event",
        consents=(Consent(TEMPLATE_A, "success", msg_id="1700827132819554304", error_code="0"),)),
    "event_unknown": expected(Kind.UNKNOWN, event_key("user_enter_tempsession"),
                              "event:user_enter_tempsession"),
}


def test_every_fixture_is_checked() -> None:
    assert {p.stem for p in FIXTURES.glob("*.xml")} == set(NORMALISED) | {"doctype_entity"}


@pytest.mark.parametrize("name", sorted(NORMALISED))
@pytest.mark.parametrize("mode", ["plain", "safe", "compatible"])
def test_fixture_is_normalised(name: str, mode: str) -> None:
    build: dict[str, Callable[[str], PlainRequest]] = {"plain": plain, "safe": safe, "compatible": compatible}
    envelope = (plain_adapter() if mode == "plain" else adapter()).open(build[mode](fixture(name)))
    assert envelope.message == NORMALISED[name]
    assert envelope == WeChatEnvelope(message=NORMALISED[name], encrypted=mode != "plain", to_user=OPENID,
                                      from_user=ACCOUNT, nonce=NONCE, timestamp=TS)


@pytest.mark.parametrize("name", sorted(NORMALISED))
def test_a_plain_push_is_refused_when_an_aes_key_is_configured(name: str) -> None:
    # The plain `signature` covers token, timestamp and nonce, not the body: with it copied from any genuine
    # push (an access log is enough), a plain body could say anything as anyone.
    with pytest.raises(SignatureError, match="plain push refused"):
        adapter().open(plain(fixture(name)))


def test_plain_mode_needs_no_aes_key() -> None:
    envelope = WeChatAdapter(TOKEN, APP_ID, clock=lambda: NOW).open(plain(fixture("text")))
    assert envelope.message == NORMALISED["text"]
    assert not envelope.encrypted


def test_compatible_mode_uses_the_decrypted_copy() -> None:
    inner = fixture("text")
    encrypt, msg_signature = encrypt_with_werobot(inner)
    outer = inner.replace("路灯坏了", "TAMPERED").replace(OPENID, "oSomeoneElse")
    outer = outer.replace("</xml>", f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
    query = signed_query(encrypt_type="aes", msg_signature=msg_signature)
    message = adapter().open(PlainRequest("POST", query, {}, outer.encode())).message
    assert message == NORMALISED["text"]  # the plaintext beside Encrypt is never read


def test_a_message_without_msgid_is_deduplicated_like_an_event() -> None:
    body = fixture("text").replace("<MsgId>24600000000000001</MsgId>", "")
    assert plain_adapter().open(plain(body)).message.dedupe_key == f"e:{OPENID}:1718000000:text:"


# URL verification


@pytest.mark.parametrize("echostr", ["5838479218127813673", "a+b/c= %E4%B8%AD 中文 ", ""])
def test_url_verification_returns_echostr_verbatim(echostr: str) -> None:
    query = {"signature": "f464b24fc39322e44b38aa78f5edd27bd1441696", "timestamp": "1714036504",
             "nonce": "1514711492", "echostr": echostr}
    assert WeChatAdapter("AAAAA", APP_ID).verify_url(PlainRequest("GET", query)) == echostr


@pytest.mark.parametrize(
    "query",
    [
        {"signature": DOC_SIGNATURE[:-1] + "7", "timestamp": "1714036504", "nonce": "1514711492"},
        {"signature": DOC_SIGNATURE, "timestamp": "1714036505", "nonce": "1514711492"},
        {"signature": DOC_SIGNATURE.upper(), "timestamp": "1714036504", "nonce": "1514711492"},
        {"timestamp": "1714036504", "nonce": "1514711492"},
        {},
    ],
)
def test_url_verification_with_a_bad_signature_is_refused(query: dict[str, str]) -> None:
    with pytest.raises(SignatureError):
        WeChatAdapter("AAAAA", APP_ID).verify_url(PlainRequest("GET", query | {"echostr": "42"}))


def test_url_verification_without_echostr_is_malformed() -> None:
    query = {"signature": "f464b24fc39322e44b38aa78f5edd27bd1441696", "timestamp": "1714036504",
             "nonce": "1514711492"}
    with pytest.raises(MalformedPayload):
        WeChatAdapter("AAAAA", APP_ID).verify_url(PlainRequest("GET", query))


# Replies


def envelope_for(name: str = "text", *, encrypted: bool = False) -> WeChatEnvelope:
    return adapter().open(safe(fixture(name))) if encrypted else plain_adapter().open(plain(fixture(name)))


@pytest.mark.parametrize("encrypted", [False, True])
@pytest.mark.parametrize("replies", [[], [Reply("")]])
def test_no_reply_is_success(encrypted: bool, replies: list[Reply]) -> None:
    assert adapter().render(replies, envelope_for(encrypted=encrypted)) == (b"success", "text/plain")


def test_plain_reply_swaps_the_users_and_joins_replies() -> None:
    body, media_type = adapter().render([Reply("已受理"), Reply("工单号 GD20240610-0001")], envelope_for())
    assert media_type == "application/xml"
    fields = xmltodict.parse(body)["xml"]
    assert fields == {"MsgType": "text", "Content": "已受理\n\n工单号 GD20240610-0001",
                      "FromUserName": ACCOUNT, "ToUserName": OPENID, "CreateTime": str(int(NOW.timestamp()))}


def test_encrypted_reply_is_read_by_werobot() -> None:
    reply = Reply("已受理，工单号 GD20240610-0001")
    body, media_type = adapter().render([reply], envelope_for(encrypted=True))
    assert media_type == "application/xml"
    assert list(xmltodict.parse(body)["xml"]) == ["Encrypt", "MsgSignature", "TimeStamp", "Nonce"]
    fields = werobot_open(body)
    assert fields["Content"] == "已受理，工单号 GD20240610-0001"
    assert fields["ToUserName"] == OPENID
    assert fields["FromUserName"] == ACCOUNT
    assert fields["CreateTime"] == str(int(NOW.timestamp()))


def test_each_encrypted_reply_has_a_fresh_nonce() -> None:
    envelope = envelope_for(encrypted=True)
    nonces = {xmltodict.parse(adapter().render([Reply("ok")], envelope)[0])["xml"]["Nonce"] for _ in range(3)}
    assert len(nonces) == 3


@pytest.mark.parametrize("encrypted", [False, True])
def test_reply_text_with_a_cdata_terminator_survives(encrypted: bool) -> None:
    body, _ = adapter().render([Reply("a]]>b<c>&")], envelope_for(encrypted=encrypted))
    fields = werobot_open(body) if encrypted else xmltodict.parse(body)["xml"]
    assert fields["Content"] == "a]]>b<c>&"


# Refusals


def test_bad_signature_is_refused() -> None:
    request = plain(fixture("text"))
    with pytest.raises(SignatureError):
        adapter().open(PlainRequest("POST", dict(request.query) | {"signature": "0" * 40}, {}, request.body))


def test_bad_msg_signature_with_a_good_signature_is_refused() -> None:
    request = safe(fixture("text"))
    query = dict(request.query) | {"msg_signature": get_signature(TOKEN, TS, NONCE, "something else")}
    assert query["signature"] == signed_query()["signature"]
    with pytest.raises(SignatureError, match="msg_signature"):
        adapter().open(PlainRequest("POST", query, {}, request.body))


def test_safe_mode_without_msg_signature_is_refused() -> None:
    request = safe(fixture("text"))
    query = {k: v for k, v in request.query.items() if k != "msg_signature"}
    with pytest.raises(SignatureError, match="msg_signature"):
        adapter().open(PlainRequest("POST", query, {}, request.body))


def test_ciphertext_for_another_appid_is_refused() -> None:
    other = MessageCrypt(token=TOKEN, encoding_aes_key=AES_KEY, app_id="wx0000000000000000")
    with pytest.raises(DecryptError, match="AppID"):
        adapter().open(safe(fixture("text"), other))


def test_corrupted_base64_is_refused() -> None:
    encrypt, _ = encrypt_with_werobot(fixture("text"))
    with pytest.raises(DecryptError, match="base64"):
        adapter().open(safe_with_encrypt(encrypt[:30] + "*" + encrypt[31:]))


@pytest.mark.parametrize("cut", [5, 16, 32])
def test_truncated_ciphertext_is_refused(cut: int) -> None:
    encrypt, _ = encrypt_with_werobot(fixture("text"))
    truncated = base64.b64encode(base64.b64decode(encrypt)[:-cut]).decode()
    with pytest.raises(DecryptError):
        adapter().open(safe_with_encrypt(truncated))


def test_safe_mode_without_an_aes_key_is_refused() -> None:
    with pytest.raises(MalformedPayload, match="EncodingAESKey"):
        plain_adapter().open(safe(fixture("text")))


def test_safe_mode_without_encrypt_is_refused() -> None:
    query = signed_query(encrypt_type="aes", msg_signature=get_signature(TOKEN, TS, NONCE, ""))
    with pytest.raises(MalformedPayload, match="Encrypt"):
        adapter().open(PlainRequest("POST", query, {}, fixture("text").encode()))


def test_unknown_encrypt_type_is_refused() -> None:
    request = plain(fixture("text"))
    with pytest.raises(MalformedPayload, match="encrypt_type"):
        adapter().open(PlainRequest("POST", dict(request.query) | {"encrypt_type": "sm4"}, {}, request.body))


def test_doctype_and_entities_are_refused_in_plain_mode() -> None:
    with pytest.raises(MalformedPayload, match="DOCTYPE"):
        plain_adapter().open(plain(fixture("doctype_entity")))


def test_doctype_and_entities_are_refused_inside_the_ciphertext() -> None:
    with pytest.raises(MalformedPayload, match="DOCTYPE"):
        adapter().open(safe(fixture("doctype_entity")))


def test_doctype_is_refused_in_the_outer_safe_mode_body() -> None:
    encrypt, msg_signature = encrypt_with_werobot(fixture("text"))
    body = b'<!DOCTYPE xml [<!ENTITY e "x">]>' + safe_body(encrypt)
    query = signed_query(encrypt_type="aes", msg_signature=msg_signature)
    with pytest.raises(MalformedPayload, match="DOCTYPE"):
        adapter().open(PlainRequest("POST", query, {}, body))


@pytest.mark.parametrize("prolog", ["<!doctype xml>", '<!Entity e "x">', "<!DOCTYPE xml SYSTEM 'http://x/dtd'>"])
def test_doctype_and_entity_are_refused_in_any_case(prolog: str) -> None:
    with pytest.raises(MalformedPayload, match="DOCTYPE"):
        plain_adapter().open(plain(prolog + fixture("text")))


def test_a_citizen_may_type_doctype_inside_cdata() -> None:
    xml = fixture("text").replace("<Content><![CDATA[", "<Content><![CDATA[<!DOCTYPE 是什么意思？", 1)
    assert "<!DOCTYPE" in xml
    message = adapter().open(safe(xml)).message
    assert message.kind is Kind.TEXT and message.text.startswith("<!DOCTYPE 是什么意思？")


def test_body_over_the_cap_is_refused_before_the_signature() -> None:
    request = PlainRequest("POST", {"signature": "wrong"}, {}, b" " * 1025)
    with pytest.raises(PayloadTooLarge):
        adapter(max_body_bytes=1024).open(request)


def test_body_at_the_cap_is_accepted() -> None:
    body = fixture("text").encode()
    body += b" " * (2048 - len(body))
    assert plain_adapter(max_body_bytes=2048).open(plain(body)).message == NORMALISED["text"]
    with pytest.raises(PayloadTooLarge):
        plain_adapter(max_body_bytes=2047).open(plain(body))


@pytest.mark.parametrize(
    "body",
    [
        '{"ToUserName": "gh_0123456789ab", "MsgType": "text"}',
        '  \n {"MsgType": "text"}',
        "",
        "   \n",
        "<xml><MsgType>text</MsgType>",  # not well-formed
        "<xml><MsgType>text</MsgType></xml><xml/>",  # two roots
        "<root><MsgType>text</MsgType><FromUserName>o1</FromUserName></root>",  # not WeChat's root
        "<xml><FromUserName>o1</FromUserName><CreateTime>1718000000</CreateTime></xml>",  # no MsgType
        "<xml><MsgType>text</MsgType><CreateTime>1718000000</CreateTime></xml>",  # no FromUserName
        "<xml><MsgType>text</MsgType><FromUserName>o1</FromUserName></xml>",  # no CreateTime
        "<xml><MsgType>text</MsgType><FromUserName>o1</FromUserName><CreateTime>soon</CreateTime></xml>",
        "<xml><MsgType><a>text</a></MsgType><FromUserName>o1</FromUserName><CreateTime>1</CreateTime></xml>",
    ],
)
def test_malformed_plain_body_is_refused(body: str) -> None:
    with pytest.raises(MalformedPayload):
        plain_adapter().open(plain(body))


def test_malformed_inner_xml_is_refused() -> None:
    with pytest.raises(MalformedPayload):
        adapter().open(safe('{"MsgType": "text"}'))
    with pytest.raises(MalformedPayload):
        adapter().open(safe("<xml><MsgType>text</MsgType>"))


def test_body_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(MalformedPayload, match="UTF-8"):
        plain_adapter().open(plain(fixture("text").encode("gbk")))


@pytest.mark.parametrize(("latitude", "longitude"),
                         [("north", "117.120095"), ("nan", "117.120095"), ("36.651216", "inf"),
                          ("-Infinity", "0"), ("1e999", "0"), ("90.000001", "117.120095"),
                          ("36.651216", "-180.1"), ("", "117.120095")])
def test_a_location_that_is_no_point_on_earth_is_dropped(latitude: str, longitude: str) -> None:
    body = fixture("location").replace("36.651216", latitude).replace("117.120095", longitude)
    message = plain_adapter().open(plain(body)).message
    assert message.kind is Kind.LOCATION and message.location is None and message.dropped == ("location",)
    assert message.to_record() == {"kind": "location", "raw_type": "location", "dropped": ["location"]}


@pytest.mark.parametrize(("latitude", "longitude"), [("90", "180"), ("-90", "-180"), ("0", "0")])
def test_a_location_at_the_edges_of_the_globe_is_kept(latitude: str, longitude: str) -> None:
    body = fixture("location").replace("36.651216", latitude).replace("117.120095", longitude)
    location = plain_adapter().open(plain(body)).message.location
    assert location is not None and (location.latitude, location.longitude) == (float(latitude), float(longitude))


@pytest.mark.parametrize(("field", "value", "dropped"),
                         [("Latitude", "nan", ("location",)), ("Longitude", "-inf", ("location",)),
                          ("Latitude", "-91", ("location",)), ("Precision", "nan", ("precision",)),
                          ("Precision", "", ("precision",))])
def test_a_location_report_keeps_only_what_is_a_number(field: str, value: str, dropped: tuple[str, ...]) -> None:
    original = {"Latitude": "36.651216", "Longitude": "117.120095", "Precision": "65.000000"}[field]
    body = fixture("event_location").replace(f"<{field}>{original}</{field}>", f"<{field}>{value}</{field}>")
    message = plain_adapter().open(plain(body)).message
    assert message.kind is Kind.LOCATION_REPORT and message.dropped == dropped
    assert (message.location is None) is (dropped == ("location",))
    assert ("precision" in message.extra) is (dropped != ("precision",))


def test_a_location_cannot_be_built_off_the_globe() -> None:
    for latitude, longitude in ((float("nan"), 0.0), (0.0, float("inf")), (90.5, 0.0), (0.0, -181.0)):
        with pytest.raises(ValueError, match="location"):
            Location(latitude, longitude)


def test_timestamp_window_is_on_by_default() -> None:
    near = datetime.fromtimestamp(int(TS) + 300, UTC)
    assert adapter(clock=lambda: near).open(safe(fixture("text"))).message == NORMALISED["text"]
    for far in (datetime.fromtimestamp(int(TS) + 301, UTC), datetime.fromtimestamp(int(TS) - 301, UTC)):
        with pytest.raises(SignatureError, match="timestamp"):
            adapter(clock=lambda far=far: far).open(safe(fixture("text")))


def test_clock_skew_window_when_configured() -> None:
    near = datetime.fromtimestamp(int(TS) + 60, UTC)
    assert plain_adapter(max_clock_skew=60, clock=lambda: near).open(plain(fixture("text"))).message.text
    far = datetime.fromtimestamp(int(TS) + 61, UTC)
    with pytest.raises(SignatureError, match="timestamp"):
        plain_adapter(max_clock_skew=60, clock=lambda: far).open(plain(fixture("text")))


def test_the_window_cannot_be_turned_off() -> None:
    with pytest.raises(ValueError, match="max_clock_skew"):
        adapter(max_clock_skew=0)


@pytest.mark.parametrize("timestamp", ["", "soon", "1718000000.5", "-1718000000", "1" * 40, "１７１８００００００"])
def test_a_timestamp_that_is_not_whole_seconds_is_refused(timestamp: str) -> None:
    query = signed_query() | {"timestamp": timestamp, "signature": get_signature(TOKEN, timestamp, NONCE)}
    with pytest.raises(SignatureError, match="timestamp"):
        plain_adapter().open(PlainRequest("POST", query, {}, fixture("text").encode()))


@pytest.mark.parametrize("nonce", ["", "9" * 65])
def test_a_nonce_missing_or_too_long_is_refused(nonce: str) -> None:
    query = signed_query() | {"nonce": nonce, "signature": get_signature(TOKEN, TS, nonce)}
    with pytest.raises(MalformedPayload, match="nonce"):
        plain_adapter().open(PlainRequest("POST", query, {}, fixture("text").encode()))


# Replays


def test_the_same_push_again_is_let_through_for_the_dedupe() -> None:
    # WeChat's retry: the same query and body. The intake's MsgId dedupe answers it as before.
    ours = adapter()
    request = safe(fixture("text"))
    assert ours.open(request).message == ours.open(request).message == NORMALISED["text"]


def test_a_nonce_seen_with_another_message_is_refused() -> None:
    ours = adapter()
    ours.open(safe(fixture("text")))
    other = fixture("text").replace("24600000000000001", "24600000000000099")
    with pytest.raises(SignatureError, match="nonce"):
        ours.open(safe(other))  # same timestamp and nonce, correctly signed: only a token holder could
    assert ours.open(safe(fixture("text"))).message == NORMALISED["text"]


def test_in_plain_mode_a_copied_signature_cannot_carry_another_message() -> None:
    ours = plain_adapter()
    ours.open(plain(fixture("text")))
    forged = fixture("text").replace(OPENID, "oNeverWrote").replace("24600000000000001", "1")
    with pytest.raises(SignatureError, match="nonce"):
        ours.open(plain(forged))


def test_nonces_are_shared_through_the_store() -> None:
    # Two web processes with one store: a nonce one of them saw binds the other.
    store = MemoryNonces()
    adapter(nonces=store).open(safe(fixture("text")))
    with pytest.raises(SignatureError, match="nonce"):
        adapter(nonces=store).open(safe(fixture("image")))
