"""The WeChat Official Account adapter: verify, decrypt, parse and normalise a push; render the reply.

Implements, from developers.weixin.qq.com:
- server URL verification and message push (消息推送):
  https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Access_Overview.html
- plain, compatible and safe mode (消息加解密):
  https://developers.weixin.qq.com/doc/oplatform/developers/dev/push/encryption.md
- passive replies (被动回复用户消息):
  https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Passive_user_reply_message.html

The order of checks is fixed: size cap, signature, timestamp window, (safe mode) msg_signature, decrypt,
nonce, parse. Nothing is parsed before the signature verifies (docs/design.md section 8). With an
EncodingAESKey only encrypted pushes are taken (safe or compatible mode, and in compatible mode only the
`Encrypt` element is read): the plain `signature` covers the timestamp and nonce but not the body, so a
plain push could carry anything under a signature copied from any genuine push (docs/platforms.md 1.2).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from bots.replies import Reply
from bots.request import PlainRequest
from bots.wechat.crypto import MessageCipher, signature_matches
from bots.wechat.parse import normalise, parse_xml
from bots.wechat.replay import DatabaseNonces, MemoryNonces, NonceStore, fingerprint
from tickets.clock import utcnow
from tickets.errors import MalformedPayload, PayloadTooLarge, SignatureError
from tickets.inbox.message import InboundMessage

SUCCESS = b"success"  # "WeChat does nothing and does not retry" (passive-reply document)
# WeChat retries a push over about 15 s with its original timestamp; clocks drift. Settings:
# WECHAT_MAX_CLOCK_SKEW_SECONDS (docs/configuration.md).
DEFAULT_CLOCK_SKEW = 300
MAX_NONCE = 64  # WeChat's nonces are about ten digits; the key column is bounded (tickets/inbox/nonces.py)


@dataclass(frozen=True, slots=True)
class WeChatEnvelope:
    """An opened push: the normalised message and what its reply needs."""

    message: InboundMessage
    encrypted: bool
    to_user: str  # the citizen's openid, ToUserName of our reply
    from_user: str  # our gh_ id, FromUserName of our reply
    nonce: str
    timestamp: str
    unclaimed: NonceClaim | None = None  # the nonce still to claim, when open() was asked to leave it


@dataclass(frozen=True, slots=True)
class NonceClaim:
    """A push's (timestamp, nonce) with the fingerprint of its message, to remember until `ttl_s` passes."""

    key: str
    fingerprint: str
    ttl_s: int


def _text_reply(source: str, target: str, time: int, content: str) -> str:
    """A passive text reply, byte for byte what wechatpy's `TextReply(...).render()` gives (a fifth of the cost).

    Values go in CDATA sections without escaping, as in wechatpy; a "]]>" in the text is split across two
    sections so that it cannot end the section early.
    """
    content = content.replace("]]>", "]]]]><![CDATA[>")
    return (f"<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[{content}]]></Content>\n"
            f"<FromUserName><![CDATA[{source}]]></FromUserName>\n<ToUserName><![CDATA[{target}]]></ToUserName>\n"
            f"<CreateTime>{time}</CreateTime>\n</xml>")


class WeChatAdapter:
    """One Official Account's server endpoint (token, AppID and, for safe mode, the EncodingAESKey).

    A push whose `timestamp` is more than `max_clock_skew` seconds from now is refused, and each
    (timestamp, nonce) is remembered in `nonces` for as long as its timestamp is accepted
    (bots/wechat/replay.py). WeChat retries a push with its original timestamp over about 15 s, so the
    window must stay well above that.
    """

    def __init__(self, token: str, app_id: str, aes_key: str = "", max_body_bytes: int = 65536,
                 max_clock_skew: int = DEFAULT_CLOCK_SKEW, clock: Callable[[], datetime] = utcnow,
                 nonces: NonceStore | None = None) -> None:
        if max_clock_skew < 1:
            raise ValueError("max_clock_skew must be at least one second")
        self._token = token
        self._cipher = MessageCipher(token, aes_key, app_id) if aes_key else None
        self._max_body_bytes = max_body_bytes
        self._max_clock_skew = max_clock_skew
        self._clock = clock
        self._nonces: NonceStore = nonces if nonces is not None else MemoryNonces()

    @property
    def safe_mode(self) -> bool:
        """An EncodingAESKey is configured: only encrypted pushes are taken."""
        return self._cipher is not None

    def close(self) -> None:
        """Release the nonce store's connections."""
        self._nonces.close()

    def verify_url(self, request: PlainRequest) -> str:
        """The `echostr` of a URL-verification GET, verbatim, when its signature matches.

        Raises:
            SignatureError: the signature does not match.
            MalformedPayload: the signature matches but there is no echostr.
        """
        # No timestamp window here: the answer only echoes `echostr`, and stores nothing.
        self._check_signature(request)
        echostr = request.query.get("echostr")
        if echostr is None:
            raise MalformedPayload("echostr missing")
        return echostr

    def open(self, request: PlainRequest, *, claim_nonce: bool = True) -> WeChatEnvelope:
        """Verify, decrypt if needed, parse and normalise one pushed message or event.

        With `claim_nonce=False` the nonce is left in `envelope.unclaimed` for `claim(envelope, conn)`, which
        the webhook runs inside the intake's transaction: without Redis the nonce is one more row of that
        transaction instead of a transaction (and a commit) of its own.

        Raises:
            PayloadTooLarge: the body is over the cap (checked first).
            SignatureError: `signature`, or in safe mode `msg_signature`, does not match; the timestamp is
                outside the window; a plain push while an EncodingAESKey is configured; a nonce seen
                before with another message.
            DecryptError: the ciphertext is broken or for another AppID.
            MalformedPayload: JSON, empty, DOCTYPE/ENTITY, not well-formed, no MsgType/FromUserName.
        """
        if len(request.body) > self._max_body_bytes:
            raise PayloadTooLarge(f"body over {self._max_body_bytes} bytes")
        self._check_signature(request)
        query = request.query
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        if not self._recent(timestamp):
            raise SignatureError("timestamp outside the allowed window")
        if not nonce or len(nonce) > MAX_NONCE:
            raise MalformedPayload(f"nonce missing or over {MAX_NONCE} characters")
        encrypt_type = query.get("encrypt_type", "raw")
        if encrypt_type == "aes":
            inner = self._decrypt(request)
        elif encrypt_type == "raw":
            if self._cipher is not None:
                raise SignatureError("plain push refused: an EncodingAESKey is configured (safe mode)")
            try:
                inner = request.body.decode("utf-8")
            except UnicodeDecodeError:
                raise MalformedPayload("body is not UTF-8") from None
        else:
            raise MalformedPayload("unknown encrypt_type")
        unclaimed = self._nonce_claim(timestamp, nonce, inner)
        if claim_nonce:
            self._claim(unclaimed, None)
        message = normalise(parse_xml(inner))
        return WeChatEnvelope(
            message=message,
            encrypted=encrypt_type == "aes",
            to_user=message.user_id,
            from_user=message.account,
            nonce=query.get("nonce", ""),
            timestamp=query.get("timestamp", ""),
            unclaimed=None if claim_nonce else unclaimed,
        )

    def claim_as_row(self, envelope: WeChatEnvelope) -> tuple[str, str, datetime] | None:
        """The nonce `open(..., claim_nonce=False)` left, as the push_nonces row (key, fingerprint, expiry) a caller
        writes in a statement of its own (bots/intake.py `defer`), when the nonces are kept in the database. None
        when none is left, they are kept elsewhere (Redis), or this claim is the one that deletes the expired ones:
        then `claim` it. (Where the caller cannot write the row, it claims it too: counted twice, it prunes sooner.)"""
        if (envelope.unclaimed is None or not isinstance(self._nonces, DatabaseNonces)
                or not self._nonces.claim_as_row()):
            return None
        claim = envelope.unclaimed
        return claim.key, claim.fingerprint, self._clock() + timedelta(seconds=claim.ttl_s)

    def claim(self, envelope: WeChatEnvelope, conn: sa.Connection | None) -> None:
        """Claim the nonce `open(..., claim_nonce=False)` left, inside the caller's transaction `conn` (None: apart).

        Raises:
            SignatureError: the nonce was seen before with another message (the transaction should roll back).
        """
        if envelope.unclaimed is not None:
            self._claim(envelope.unclaimed, conn)

    def render(self, replies: Sequence[Reply], envelope: WeChatEnvelope) -> tuple[bytes, str]:
        """The HTTP body and media type answering a push: `success`, or one passive text reply.

        Several replies are joined with a blank line (only one passive reply per push is possible).
        The reply is encrypted and signed when the push was.
        """
        text = "\n\n".join(reply.text for reply in replies if reply.text)
        if not text:
            return SUCCESS, "text/plain"
        now = int(self._clock().timestamp())
        xml = _text_reply(envelope.from_user, envelope.to_user, now, text)
        if envelope.encrypted:
            if self._cipher is None:  # open() refuses encrypted pushes without a key
                raise MalformedPayload("encrypted reply without an EncodingAESKey")
            xml = self._cipher.seal(xml, nonce=secrets.token_hex(8), timestamp=str(now))
        return str(xml).encode("utf-8"), "application/xml"

    def _check_signature(self, request: PlainRequest) -> None:
        query = request.query
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        if not signature_matches(query.get("signature", ""), self._token, timestamp, nonce):
            raise SignatureError("signature does not match")

    def _recent(self, timestamp: str) -> bool:
        if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
            return False
        return abs(self._clock().timestamp() - int(timestamp)) <= self._max_clock_skew

    def _nonce_claim(self, timestamp: str, nonce: str, inner: str) -> NonceClaim:
        """(timestamp, nonce) with the message, remembered until the timestamp leaves the window."""
        ttl = int(timestamp) + self._max_clock_skew - int(self._clock().timestamp()) + 1
        return NonceClaim(f"wechat:{timestamp}:{nonce}", fingerprint(inner), max(1, ttl))

    def _claim(self, claim: NonceClaim, conn: sa.Connection | None) -> None:
        """The same message again is WeChat retrying (answered by the intake's dedupe); another message under
        a (timestamp, nonce) already seen is a copied signature."""
        if conn is None:
            kept = self._nonces.claim(claim.key, claim.fingerprint, claim.ttl_s)
        else:
            kept = self._nonces.claim_in(conn, claim.key, claim.fingerprint, claim.ttl_s)
        if not kept:
            raise SignatureError("nonce already used by another message")

    def _decrypt(self, request: PlainRequest) -> str:
        """The inner XML of a safe- or compatible-mode push, after checking msg_signature."""
        if self._cipher is None:
            raise MalformedPayload("encrypted push but no EncodingAESKey configured")
        outer = parse_xml(request.body)
        encrypt = outer.get("Encrypt")
        if not isinstance(encrypt, str) or not encrypt:
            raise MalformedPayload("Encrypt missing")
        query = request.query
        if not signature_matches(query.get("msg_signature", ""), self._token, query.get("timestamp", ""),
                                 query.get("nonce", ""), encrypt):
            raise SignatureError("msg_signature does not match")
        return self._cipher.decrypt(encrypt)
