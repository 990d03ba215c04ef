"""WeChat's side of the push protocol, for the dev simulator page and the benchmark.

It builds the XML WeChat pushes, signs (and in safe mode encrypts) it as WeChat does, and opens our
passive replies. Correctness tests do not use it: they check our crypto against WeRoBot, an independent
implementation, since a peer built on our own cipher would agree with any mistake in it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime

from bots.wechat.crypto import MessageCipher, signature_matches, wechat_signature
from bots.wechat.parse import parse_xml
from tickets.clock import utcnow
from tickets.errors import SignatureError


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


class WeChatPeer:
    """Plays the WeChat server towards one Official Account (our gh_ id is `account`)."""

    def __init__(self, token: str, app_id: str, aes_key: str = "", account: str = "gh_0123456789ab",
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._token = token
        self._cipher = MessageCipher(token, aes_key, app_id) if aes_key else None
        self.account = account
        self._clock = clock

    def text_xml(self, openid: str, content: str, msg_id: int | None = None, *,
                 created: datetime | None = None) -> str:
        """A text message from `openid`, sent at `created` (CreateTime; now when not given)."""
        return self._message(openid, "text", f"<Content>{_cdata(content)}</Content>", msg_id, created)

    def image_xml(self, openid: str, media_id: str, pic_url: str = "", msg_id: int | None = None) -> str:
        """A photo from `openid`."""
        fields = f"<PicUrl>{_cdata(pic_url)}</PicUrl><MediaId>{_cdata(media_id)}</MediaId>"
        return self._message(openid, "image", fields, msg_id)

    def voice_xml(self, openid: str, media_id: str, recognition: str | None = None,
                  msg_id: int | None = None) -> str:
        """A voice note from `openid`, with WeChat's speech recognition when given."""
        fields = f"<MediaId>{_cdata(media_id)}</MediaId><Format>{_cdata('amr')}</Format>"
        if recognition is not None:
            fields += f"<Recognition>{_cdata(recognition)}</Recognition>"
        return self._message(openid, "voice", fields, msg_id)

    def location_xml(self, openid: str, latitude: float, longitude: float, label: str = "", scale: int = 15,
                     msg_id: int | None = None) -> str:
        """A location shared by `openid`."""
        fields = (f"<Location_X>{latitude}</Location_X><Location_Y>{longitude}</Location_Y>"
                  f"<Scale>{scale}</Scale><Label>{_cdata(label)}</Label>")
        return self._message(openid, "location", fields, msg_id)

    def event_xml(self, openid: str, event: str, key: str = "") -> str:
        """An event (subscribe, SCAN, CLICK, ...) from `openid`, with EventKey `key`."""
        return (f"<xml>{self._head(openid, 'event')}<Event>{_cdata(event)}</Event>"
                f"<EventKey>{_cdata(key)}</EventKey></xml>")

    def seal(self, xml: str, *, encrypted: bool, openid: str, compatible: bool = False) -> tuple[dict[str, str], bytes]:
        """The query string and body WeChat would POST for `xml`: plain, safe or (`compatible`) compatible mode.

        Compatible mode (encrypted and `compatible`) sends the plaintext fields beside `Encrypt`, as an account
        migrating to safe mode receives them.
        """
        timestamp = str(int(self._clock().timestamp()))
        nonce = str(secrets.randbelow(10**10))
        query = {"signature": wechat_signature(self._token, timestamp, nonce), "timestamp": timestamp,
                 "nonce": nonce, "openid": openid}
        if not encrypted:
            return query, xml.encode("utf-8")
        encrypt = self._require_cipher().encrypt(xml)
        query["encrypt_type"] = "aes"
        query["msg_signature"] = wechat_signature(self._token, timestamp, nonce, encrypt)
        if compatible:
            return query, xml.replace("</xml>", f"<Encrypt>{_cdata(encrypt)}</Encrypt></xml>").encode("utf-8")
        body = (f"<xml><ToUserName>{_cdata(self.account)}</ToUserName>"
                f"<Encrypt>{_cdata(encrypt)}</Encrypt></xml>")
        return query, body.encode("utf-8")

    def open_reply(self, body: bytes) -> str:
        """The text content of our passive reply ('' for `success` or an empty body).

        Raises:
            SignatureError: an encrypted reply whose MsgSignature does not match.
        """
        if body.strip() in (b"", b"success"):
            return ""
        fields = parse_xml(body)
        encrypt = fields.get("Encrypt")
        if isinstance(encrypt, str):
            parts = (str(fields.get("TimeStamp") or ""), str(fields.get("Nonce") or ""), encrypt)
            if not signature_matches(str(fields.get("MsgSignature") or ""), self._token, *parts):
                raise SignatureError("reply MsgSignature does not match")
            fields = parse_xml(self._require_cipher().decrypt(encrypt))
        content = fields.get("Content")
        return content if isinstance(content, str) else ""

    def _message(self, openid: str, msg_type: str, fields: str, msg_id: int | None,
                 created: datetime | None = None) -> str:
        msg_id = secrets.randbits(63) if msg_id is None else msg_id
        return f"<xml>{self._head(openid, msg_type, created)}{fields}<MsgId>{msg_id}</MsgId></xml>"

    def _head(self, openid: str, msg_type: str, created: datetime | None = None) -> str:
        sent = int((created or self._clock()).timestamp())
        return (f"<ToUserName>{_cdata(self.account)}</ToUserName>"
                f"<FromUserName>{_cdata(openid)}</FromUserName><CreateTime>{sent}</CreateTime>"
                f"<MsgType>{_cdata(msg_type)}</MsgType>")

    def _require_cipher(self) -> MessageCipher:
        if self._cipher is None:
            raise ValueError("safe mode needs the EncodingAESKey")
        return self._cipher
