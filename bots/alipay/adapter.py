"""The Alipay adapter: verify, decode and normalise a notification posted to our 应用网关 (`/webhooks/alipay`).

A notification is a form POST (`application/x-www-form-urlencoded`) signed RSA2 by Alipay and verified
with Alipay's public key (ALIPAY_PUBLIC_KEY), never our app key (docs/platforms.md 4.1, 4.2).
Which content is signed depends on the kind of message (AlipaySignature.java's rsaCheckV1 / rsaCheckV2):

| kind (how we tell it)                                              | variant | signed content               |
|--------------------------------------------------------------------|---------|------------------------------|
| open-platform message service (消息服务, "From 蚂蚁"): `msg_method` | V1      | all but `sign`, `sign_type`  |
| asynchronous payment-style notifications: `notify_type`            | V1      | all but `sign`, `sign_type`  |
| 生活号 gateway events (`service`: alipay.mobile.public.message.notify) | V2      | all but `sign`               |

Source: alipay/alipay-sdk-java-all `com/alipay/api/internal/util/AlipaySignature.java` (rsaCheckV1's Javadoc:
payment notifications; rsaCheckV2's: "生活号相关的事件消息和口碑服务市场订购信息等发送到应用网关地址的异步信息"),
and the message service's common parameters (notify_id, utc_timestamp, msg_method, app_id, version,
biz_content, charset, sign_type, sign), which it signs the V1 way. A message signed the other way does
not verify: the variant is never guessed by trying both.

The order of checks is fixed: size cap, form shape, `charset` (the percent-escapes are decoded with it,
GBK included), `sign`/`sign_type` present and RSA2, signature, our `app_id`, age. Only then is
`biz_content` read. Every refusal raises an `InboundError` whose reason names the check, never a value.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import parse_qsl

from cryptography.hazmat.primitives.asymmetric import rsa

from bots.alipay.sign import load_public_key, verify_notification
from bots.request import PlainRequest
from tickets.clock import utcnow
from tickets.errors import MalformedPayload, PayloadTooLarge, SignatureError
from tickets.inbox.consents import ACCEPT, REJECT
from tickets.inbox.message import Channel, Consent, InboundMessage, Kind

Variant = Literal["v1", "v2"]
SUCCESS = b"success"  # the only answer that stops Alipay's retries (8 attempts over about 25 hours)
CHARSETS = {"utf-8": "utf-8", "utf8": "utf-8", "gbk": "gbk", "gb2312": "gb2312", "gb18030": "gb18030"}
MAX_FIELDS = 64
# Alipay retries for about 25 hours; a genuine notification older than this is a replay, not a retry.
MAX_AGE = timedelta(hours=72)
_NOTIFY_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_MILLIS = re.compile(r"[0-9]{13}")
_FORM = "application/x-www-form-urlencoded"
# How a subscription decision is spelt in a consent notification's biz_content.
_DECISIONS = {"accept": ACCEPT, "subscribe": ACCEPT, "subscribed": ACCEPT, "agree": ACCEPT,
              "reject": REJECT, "refuse": REJECT, "unsubscribe": REJECT, "unsubscribed": REJECT, "cancel": REJECT}
_STATUS_FIELDS = ("subscribe_status", "status", "action")
_LIST_FIELDS = ("subscribe_relations", "templates", "template_list")
_RAW_CHARS = 16_000


@dataclass(frozen=True, slots=True)
class AlipayNotification:
    """A verified notification: its normalised form and how it was signed."""

    message: InboundMessage
    variant: Variant
    params: Mapping[str, str]


def variant_of(params: Mapping[str, str]) -> Variant:
    """V1 or V2, from the kind of message (see the table above)."""
    if params.get("msg_method") and params.get("service"):
        raise MalformedPayload("both msg_method and service given")
    return "v2" if params.get("service") else "v1"


def decode_form(body: bytes) -> dict[str, str]:
    """The form's fields, percent-escapes decoded with its own `charset`; one value per field.

    Raises:
        MalformedPayload: raw non-ASCII bytes, a broken or repeated field, an unknown charset, or
            escapes that are not valid in the declared charset.
    """
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise MalformedPayload("form body has raw non-ASCII bytes") from None
    text = "&".join(part for part in text.split("&") if part)  # a stray "&" is no field, and no reason to refuse
    try:
        raw = parse_qsl(text, keep_blank_values=True, strict_parsing=True, encoding="latin-1",
                        max_num_fields=MAX_FIELDS)
    except ValueError:
        raise MalformedPayload("form body is not a well-formed form") from None
    names = [name for name, _ in raw]
    if len(set(names)) != len(names):
        raise MalformedPayload("a form field is repeated")
    declared = dict(raw).get("charset") or "utf-8"
    codec = CHARSETS.get(declared.strip().lower())
    if codec is None:
        raise MalformedPayload("charset is not one Alipay uses")
    try:
        return dict(parse_qsl(text, keep_blank_values=True, strict_parsing=True, encoding=codec, errors="strict",
                              max_num_fields=MAX_FIELDS))
    except UnicodeDecodeError:
        raise MalformedPayload(f"values are not valid {codec}") from None


class AlipayAdapter:
    """One app's 应用网关: Alipay's public key, our app id, and which msg_methods carry consent changes."""

    def __init__(self, app_id: str, alipay_public_key: str | rsa.RSAPublicKey, *, max_body_bytes: int = 65536,
                 consent_methods: Collection[str] = (), clock: Callable[[], datetime] = utcnow) -> None:
        self.app_id = app_id
        self._key = (load_public_key(alipay_public_key) if isinstance(alipay_public_key, str)
                     else alipay_public_key)
        self._max_body_bytes = max_body_bytes
        self._consent_methods = frozenset(consent_methods)
        self._clock = clock

    def open(self, request: PlainRequest) -> AlipayNotification:
        """Verify and normalise one notification.

        Raises:
            PayloadTooLarge: the body is over the cap (checked first).
            MalformedPayload: not a form, a broken form or charset, no notify_id on a message-service
                notification, or a notification too old to be a retry.
            SignatureError: `sign` missing, `sign_type` not RSA2, the signature does not verify (forged,
                tampered, signed with another key or the other variant), or it is for another app.
        """
        if len(request.body) > self._max_body_bytes:
            raise PayloadTooLarge(f"body over {self._max_body_bytes} bytes")
        content_type = request.headers.get("content-type", _FORM).split(";")[0].strip().lower()
        if content_type != _FORM:
            raise MalformedPayload("not a form POST")
        params = decode_form(request.body)
        variant = variant_of(params)
        if not params.get("sign"):
            raise SignatureError("sign missing")
        if params.get("sign_type") != "RSA2":
            raise SignatureError("sign_type is not RSA2")
        if not verify_notification(params, self._key, variant=variant):
            raise SignatureError(f"signature does not verify ({variant})")
        if params.get("app_id") != self.app_id:
            raise SignatureError("notification for another app_id")
        return AlipayNotification(self._normalise(params, variant), variant, params)

    def _normalise(self, params: Mapping[str, str], variant: Variant) -> InboundMessage:
        method = params.get("msg_method", "")
        created_at = self._created_at(params)
        notify_id = params.get("notify_id", "")
        if notify_id:
            if not _NOTIFY_ID.fullmatch(notify_id):
                raise MalformedPayload("notify_id is not an Alipay notify_id")
            dedupe_key = f"n:{notify_id}"
        elif method:
            raise MalformedPayload("notify_id missing")
        else:
            # RSA PKCS#1 v1.5 signatures are deterministic: a retry of the same content repeats its sign.
            dedupe_key = "s:" + hashlib.sha256(params["sign"].encode("ascii", "replace")).hexdigest()[:48]
        raw_biz = params.get("biz_content", "")
        biz = _json_object(raw_biz)
        user_id = _user_of(biz)
        consents = _decisions(biz) if method in self._consent_methods else ()
        kind = Kind.CONSENT if consents and user_id else Kind.UNKNOWN
        field = next((f for f in ("msg_method", "service", "notify_type") if params.get(f)), "msg_method")
        name = params.get(field, "")[:100]
        extra: dict[str, Any] = {"variant": variant, field: name}
        if notify_id:
            extra["notify_id"] = notify_id
        extra["biz_content"] = biz if biz is not None else raw_biz[:_RAW_CHARS]
        return InboundMessage(
            channel=Channel.ALIPAY, account=self.app_id, user_id=user_id, kind=kind, dedupe_key=dedupe_key,
            created_at=created_at, consents=consents, raw_type=f"{field}:{name}", extra=extra,
        )

    def _created_at(self, params: Mapping[str, str]) -> datetime:
        """When Alipay sent it (`utc_timestamp`, milliseconds); a notification past `MAX_AGE` is refused."""
        now = self._clock()
        stamp = params.get("utc_timestamp", "")
        if not stamp:
            return now
        if not _MILLIS.fullmatch(stamp):
            raise MalformedPayload("utc_timestamp is not 13 digits")
        sent = datetime.fromtimestamp(int(stamp) / 1000, UTC)
        if now - sent > MAX_AGE:
            raise MalformedPayload("notification too old to be a retry")
        return sent


def _json_object(text: str) -> dict[str, Any] | None:
    """`biz_content` as a JSON object; None for XML (生活号), ciphertext (接口内容加密) or anything else.

    NaN, Infinity and numbers beyond a float are not JSON (Python's parser takes them): such content is
    kept as text, since a non-finite number stored breaks the JSON column on PostgreSQL.
    """
    try:
        value = (json.loads(text, parse_constant=_not_json, parse_float=_finite_float)
                 if text.lstrip().startswith("{") else None)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _not_json(constant: str) -> float:
    raise ValueError(f"{constant} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of a float's range")
    return value


def _user_of(biz: Mapping[str, Any] | None) -> str:
    """The citizen a notification is about: `user_id` (2088...) or `open_id`, as the OAuth exchange gives it."""
    if biz is None:
        return ""
    for field in ("user_id", "open_id"):
        value = biz.get(field)
        if isinstance(value, str) and 0 < len(value) <= 128:
            return value
    return ""


def _decisions(biz: Mapping[str, Any] | None) -> tuple[Consent, ...]:
    """The subscription decisions in a consent notification: one template or a list of them.

    Read: `template_id` (as in alipay.open.app.messagetemplate.subscribe.query's relations) with a decision
    in `subscribe_status`, `status` or `action` (accept/subscribe... or reject/unsubscribe...), at the top
    level or in a list. Our documents do not name the msg_method or its fields: which msg_methods are read
    this way is configuration (ALIPAY_CONSENT_METHODS), to be set from the console's message list.
    """
    if biz is None:
        return ()
    entries: list[Any] = [biz]
    for field in _LIST_FIELDS:
        if isinstance(biz.get(field), list):
            entries = list(biz[field])
            break
    found: list[Consent] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        template_id = entry.get("template_id")
        status = next((entry[f] for f in _STATUS_FIELDS if isinstance(entry.get(f), str)), "")
        decision = _DECISIONS.get(status.strip().lower())
        if isinstance(template_id, str) and 0 < len(template_id) <= 128 and decision:
            found.append(Consent(template_id=template_id, status=decision))
    return tuple(found)

