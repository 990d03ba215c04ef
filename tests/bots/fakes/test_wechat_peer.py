"""bots/fakes/wechat_peer.py: WeChat's stand-in for the dev simulator and the benchmark, checked with WeRoBot."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import xmltodict
from werobot.crypto import MessageCrypt
from werobot.utils import get_signature

from bots.fakes.wechat_peer import WeChatPeer
from bots.replies import Reply
from bots.request import PlainRequest
from bots.wechat.adapter import WeChatAdapter
from tickets.errors import SignatureError
from tickets.inbox.message import InboundMessage, Kind, Location, Media

TOKEN = "petition_token"
APP_ID = "wx1234567890abcdef"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ACCOUNT = "gh_0123456789ab"
OPENID = "oTcitizen-0002"
NOW = datetime(2024, 6, 10, 6, 13, 20, tzinfo=UTC)
WEROBOT = MessageCrypt(token=TOKEN, encoding_aes_key=AES_KEY, app_id=APP_ID)


def peer() -> WeChatPeer:
    return WeChatPeer(TOKEN, APP_ID, AES_KEY, account=ACCOUNT, clock=lambda: NOW)


def adapter(aes_key: str = AES_KEY) -> WeChatAdapter:
    return WeChatAdapter(TOKEN, APP_ID, aes_key, clock=lambda: NOW)


def test_plain_push_signature_is_what_werobot_computes() -> None:
    query, body = peer().seal(peer().text_xml(OPENID, "你好", 7), encrypted=False, openid=OPENID)
    assert query["signature"] == get_signature(TOKEN, query["timestamp"], query["nonce"])
    assert query["openid"] == OPENID
    assert query["timestamp"] == str(int(NOW.timestamp()))
    assert "encrypt_type" not in query
    assert xmltodict.parse(body)["xml"]["Content"] == "你好"


def test_safe_push_is_what_werobot_decrypts() -> None:
    xml = peer().text_xml(OPENID, "路灯坏了]]>", 7)
    query, body = peer().seal(xml, encrypted=True, openid=OPENID)
    outer = xmltodict.parse(body)["xml"]
    assert set(outer) == {"ToUserName", "Encrypt"}
    assert query["encrypt_type"] == "aes"
    q = query
    inner = WEROBOT.decrypt_message(q["timestamp"], q["nonce"], q["msg_signature"], outer["Encrypt"])
    assert inner.decode() == xml
    assert xmltodict.parse(inner)["xml"]["Content"] == "路灯坏了]]>"


@pytest.mark.parametrize("mode", ["plain", "safe", "compatible"])
def test_round_trip_through_the_adapter(mode: str) -> None:
    xml = peer().text_xml(OPENID, "井盖丢了", 99)
    query, body = peer().seal(xml, encrypted=mode != "plain", compatible=mode == "compatible", openid=OPENID)
    ours = adapter("" if mode == "plain" else AES_KEY)
    envelope = ours.open(PlainRequest("POST", query, {}, body))
    assert envelope.message.text == "井盖丢了"
    assert envelope.message.dedupe_key == "m:99"
    assert envelope.message.account == ACCOUNT
    reply, _ = ours.render([Reply("已收到")], envelope)
    assert peer().open_reply(reply) == "已收到"


def test_compatible_mode_carries_the_plaintext_beside_encrypt() -> None:
    xml = peer().text_xml(OPENID, "井盖丢了", 99)
    query, body = peer().seal(xml, encrypted=True, compatible=True, openid=OPENID)
    outer = xmltodict.parse(body)["xml"]
    assert outer["Content"] == "井盖丢了" and "Encrypt" in outer
    q = query
    assert WEROBOT.decrypt_message(q["timestamp"], q["nonce"], q["msg_signature"], outer["Encrypt"]).decode() == xml


def push(xml: str) -> InboundMessage:
    query, body = peer().seal(xml, encrypted=False, openid=OPENID)
    return adapter("").open(PlainRequest("POST", query, {}, body)).message


def test_builders_give_what_the_adapter_expects() -> None:
    p = peer()
    image = push(p.image_xml(OPENID, "M1", "http://pic/1"))
    assert (image.kind, image.media) == (Kind.IMAGE, Media("M1", url="http://pic/1"))
    voice = push(p.voice_xml(OPENID, "V1", recognition="有噪音"))
    assert (voice.kind, voice.text, voice.media) == (Kind.VOICE, "有噪音", Media("V1", format="amr"))
    assert push(p.voice_xml(OPENID, "V2")).text == ""
    location = push(p.location_xml(OPENID, 36.65, 117.12, label="泉城路"))
    assert location.location == Location(36.65, 117.12, "泉城路", 15)
    follow = push(p.event_xml(OPENID, "subscribe", "qrscene_P42"))
    assert (follow.kind, follow.event_key, follow.created_at) == (Kind.FOLLOW, "P42", NOW)


def test_messages_get_distinct_ids_when_none_is_given() -> None:
    ids = {xmltodict.parse(peer().text_xml(OPENID, "x"))["xml"]["MsgId"] for _ in range(5)}
    assert len(ids) == 5


@pytest.mark.parametrize("body", [b"success", b"", b"  \n"])
def test_no_reply_reads_as_empty(body: bytes) -> None:
    assert peer().open_reply(body) == ""


def test_a_reply_werobot_encrypted_is_read() -> None:
    reply = "<xml><ToUserName><![CDATA[o1]]></ToUserName><Content><![CDATA[已受理]]></Content></xml>"
    assert peer().open_reply(WEROBOT.encrypt_message(reply, "1718000000", "n1").encode()) == "已受理"


def test_a_reply_with_a_bad_msg_signature_is_refused() -> None:
    sealed = WEROBOT.encrypt_message("<xml><Content>x</Content></xml>", "1718000000", "n1")
    fields = xmltodict.parse(sealed)["xml"]
    forged = sealed.replace(fields["MsgSignature"], "0" * 40)
    with pytest.raises(SignatureError):
        peer().open_reply(forged.encode())


def test_safe_mode_needs_the_key() -> None:
    with pytest.raises(ValueError, match="EncodingAESKey"):
        WeChatPeer(TOKEN, APP_ID).seal("<xml/>", encrypted=True, openid=OPENID)
