"""Safe parsing of WeChat's XML and its normalisation into an `InboundMessage`.

Message and event types follow the Official Account documents:
- messages: https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_standard_messages.html
- events: https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_event_pushes.html
- subscription-notification events (`subscribe_msg_*`):
  https://developers.weixin.qq.com/doc/offiaccount/Subscription_Messages/api.html

wechatpy 1.8.18's message and event classes read the fields where they exist; the `subscribe_msg_*`
events, which 1.8.18 returns as `UnknownMessage`, are read by hand. Unknown types become `Kind.UNKNOWN`.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree
from xml.parsers.expat import ExpatError

import xmltodict
from wechatpy.events import EVENT_TYPES, LocationEvent, TemplateSendJobFinishEvent
from wechatpy.messages import (
    MESSAGE_TYPES,
    ImageMessage,
    LinkMessage,
    LocationMessage,
    ShortVideoMessage,
    TextMessage,
    VideoMessage,
    VoiceMessage,
)

from tickets.errors import MalformedPayload
from tickets.inbox.message import (
    MAX_DEDUPE_KEY,
    MAX_LABEL,
    Channel,
    Consent,
    InboundMessage,
    Kind,
    Link,
    Location,
    Media,
    is_point,
)

log = logging.getLogger(__name__)

# DOCTYPE and ENTITY are refused anywhere outside CDATA sections. Inside CDATA they are a citizen's
# text (someone may well type "<!DOCTYPE"), and refusing them would show "该公众号暂时无法提供服务".
# CDATA cannot contain "]]>", so dropping the sections before the search is exact.
_DTD = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_CDATA = re.compile(r"<!\[CDATA\[.*?\]\]>", re.DOTALL)

# Events whose meaning is only the event itself (the key, if any, is kept as event_key).
_SIMPLE_EVENTS = {
    "subscribe": Kind.FOLLOW,
    "scan": Kind.SCAN,
    "unsubscribe": Kind.UNFOLLOW,
    "click": Kind.MENU_CLICK,
    "view": Kind.MENU_VIEW,
}
# subscribe_msg_* event -> (kind, the element holding the <List> entries)
_CONSENT_EVENTS = {
    "subscribe_msg_popup_event": (Kind.CONSENT, "SubscribeMsgPopupEvent"),
    "subscribe_msg_change_event": (Kind.CONSENT, "SubscribeMsgChangeEvent"),
    "subscribe_msg_sent_event": (Kind.DELIVERY_RECEIPT, "SubscribeMsgSentEvent"),
}
_QR_SCENE_PREFIX = "qrscene_"
_UNIX_TIME = re.compile(r"[0-9]{1,11}")
MAX_MSG_ID = 64  # an int64 in WeChat's documents: 20 digits at most


def parse_xml(document: bytes | str) -> dict[str, Any]:
    """The fields under `<xml>` of a WeChat document, refusing anything unsafe or not WeChat's XML.

    Raises:
        MalformedPayload: empty, JSON, not UTF-8, DOCTYPE/ENTITY, not well-formed, or no `<xml>` root.
    """
    try:
        text = document.decode("utf-8") if isinstance(document, bytes) else document
    except UnicodeDecodeError:
        raise MalformedPayload("body is not UTF-8") from None
    stripped = text.strip()
    if not stripped:
        raise MalformedPayload("empty body")
    if stripped.startswith("{"):
        raise MalformedPayload("JSON body; the account must push XML")
    if _DTD.search(_CDATA.sub("", text)):
        raise MalformedPayload("DOCTYPE or ENTITY in XML")
    try:
        # xmltodict refuses entity declarations by default (disable_entities=True); keep it that way.
        parsed = _plain_fields(text) or xmltodict.parse(text, disable_entities=True)
    except (ValueError, ExpatError):
        raise MalformedPayload("XML is not well-formed") from None
    root = parsed.get("xml")
    if not isinstance(root, dict):
        raise MalformedPayload("no <xml> root element")
    return root


class _NotPlain(Exception):
    """An element `_plain_fields` leaves to xmltodict."""


def _plain_fields(text: str) -> dict[str, Any] | None:
    """What `xmltodict.parse(text)` gives, for the plain shape of WeChat's XML, from the C ElementTree parser.

    About three times faster than xmltodict, whose expat callbacks are Python. Only elements without
    attributes or namespaces, at most `_PLAIN_DEPTH` deep, are converted here; for anything else (and
    anything the parser refuses) None is returned and xmltodict decides, as before. Both parsers are expat
    given the same UTF-8 bytes, so they agree on what is well-formed; text is joined and stripped as
    xmltodict does, repeated elements become lists, and comments and processing instructions are dropped
    (checked against xmltodict on the fixtures and on generated documents).
    """
    if "xmlns" in text or _DTD.search(text):  # no DTD (so nothing to expand), even inside CDATA
        return None
    try:
        # Read as UTF-8 whatever the declaration says, as xmltodict reads a str.
        parser = ElementTree.XMLParser(encoding="utf-8")  # noqa: S314
        parser.feed(text.encode("utf-8"))
        root = parser.close()
        return {root.tag: _plain_item(root, 1)}
    except (ElementTree.ParseError, ValueError, LookupError, _NotPlain):
        return None


_PLAIN_DEPTH = 8  # WeChat's deepest is 4 (xml > SubscribeMsgPopupEvent > List > TemplateId)


def _plain_item(element: ElementTree.Element, depth: int) -> Any:
    if element.attrib or depth > _PLAIN_DEPTH:
        raise _NotPlain
    if len(element) == 0:
        return (element.text or "").strip() or None
    item: dict[str, Any] = {}
    for child in element:
        value = _plain_item(child, depth + 1)
        if child.tag in item:
            earlier = item[child.tag]
            if isinstance(earlier, list):
                earlier.append(value)
            else:
                item[child.tag] = [earlier, value]
        else:
            item[child.tag] = value
    data = ((element.text or "") + "".join(child.tail or "" for child in element)).strip()
    if data:
        item["#text"] = data
    return item


@dataclass(frozen=True, slots=True)
class _Body:
    """What a message type adds to the common fields."""

    kind: Kind
    text: str = ""
    media: Media | None = None
    location: Location | None = None
    link: Link | None = None
    event_key: str = ""
    consents: tuple[Consent, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    dropped: tuple[str, ...] = ()


def normalise(fields: Mapping[str, Any]) -> InboundMessage:
    """The channel-neutral form of one parsed WeChat message or event.

    Raises:
        MalformedPayload: MsgType, FromUserName or CreateTime missing, or a field of the wrong type.
    """
    msg_type = _text(fields.get("MsgType"))
    user_id = _text(fields.get("FromUserName"))
    if not msg_type or not user_id:
        raise MalformedPayload("MsgType or FromUserName missing")
    create_time = _text(fields.get("CreateTime"))
    if not _UNIX_TIME.fullmatch(create_time):
        raise MalformedPayload("CreateTime missing or not an integer")
    data = dict(fields)  # wechatpy's field descriptors write defaults into the dict they read
    try:
        if msg_type.lower() == "event":
            event = _text(fields.get("Event"))
            key = _text(fields.get("EventKey"))
            dedupe_key = _bounded(f"e:{user_id}:{create_time}:{event}:{key}")
            raw_type = f"event:{event}"
            body = _event_body(event, data)
        else:
            msg_id = _text(fields.get("MsgId"))
            if len(msg_id) > MAX_MSG_ID:
                raise MalformedPayload(f"MsgId over {MAX_MSG_ID} characters")
            # A message without MsgId (should not happen) is deduplicated like an event.
            dedupe_key = f"m:{msg_id}" if msg_id else _bounded(f"e:{user_id}:{create_time}:{msg_type[:64]}:")
            raw_type = msg_type
            body = _message_body(msg_type, data)
    except (ValueError, TypeError):
        raise MalformedPayload(f"a field of {msg_type[:32]} has the wrong type") from None
    if body.kind is Kind.UNKNOWN:
        log.info("wechat: unknown message type %.64s, passed on as unknown", raw_type)
    return InboundMessage(
        channel=Channel.WECHAT,
        account=_text(fields.get("ToUserName")),
        user_id=user_id,
        kind=body.kind,
        dedupe_key=dedupe_key,
        created_at=datetime.fromtimestamp(int(create_time), UTC),
        text=body.text,
        media=body.media,
        location=body.location,
        link=body.link,
        event_key=body.event_key,
        consents=body.consents,
        raw_type=raw_type,
        extra=body.extra,
        dropped=body.dropped,
    )


def _message_body(msg_type: str, data: dict[str, Any]) -> _Body:
    cls = MESSAGE_TYPES.get(msg_type.lower())
    message = cls(data) if cls is not None else None
    if isinstance(message, TextMessage):
        return _Body(Kind.TEXT, text=_text(message.content))
    if isinstance(message, ImageMessage):
        return _Body(Kind.IMAGE, media=Media(_text(message.media_id), url=_text(message.image)))
    if isinstance(message, VoiceMessage):
        # Recognition is a hint WeChat may stop sending; the MediaId is what counts.
        media = Media(_text(message.media_id), format=_text(message.format))
        return _Body(Kind.VOICE, text=_text(message.recognition), media=media)
    if isinstance(message, VideoMessage | ShortVideoMessage):
        media = Media(_text(message.media_id), thumb_media_id=_text(message.thumb_media_id))
        return _Body(Kind.VIDEO, media=media)
    if isinstance(message, LocationMessage):
        point = _point(message.location_x, message.location_y)
        if point is None:  # kept without it; the intake asks for the place again (bots/intake.py)
            return _Body(Kind.LOCATION, dropped=("location",))
        scale = _text(message.scale)
        # A label is the platform's description of the place: a longer one is cut to its column, not refused.
        location = Location(latitude=point[0], longitude=point[1], label=_text(message.label)[:MAX_LABEL],
                            scale=int(scale) if scale else None)
        return _Body(Kind.LOCATION, location=location)
    if isinstance(message, LinkMessage):
        link = Link(title=_text(message.title), description=_text(message.description),
                    url=_text(message.url))
        return _Body(Kind.LINK, link=link)
    return _Body(Kind.UNKNOWN)  # miniprogrampage and whatever WeChat adds next


def _event_body(event: str, data: dict[str, Any]) -> _Body:
    name = event.lower()
    key = _text(data.get("EventKey"))
    if name == "subscribe":
        # A parametric QR code scanned by a non-follower: EventKey is qrscene_<scene>.
        scene = key[len(_QR_SCENE_PREFIX):] if key.startswith(_QR_SCENE_PREFIX) else ""
        return _Body(Kind.FOLLOW, event_key=scene)
    if name in _SIMPLE_EVENTS:
        return _Body(_SIMPLE_EVENTS[name], event_key=key)
    if name in _CONSENT_EVENTS:
        kind, container = _CONSENT_EVENTS[name]
        return _Body(kind, consents=_consents(data.get(container)))
    cls = EVENT_TYPES.get(name)
    message = cls(data) if cls is not None else None
    if isinstance(message, LocationEvent):
        # Read raw: wechatpy's FloatField turns a missing value into 0.0, a point off the coast of Africa.
        point = _point(data.get("Latitude"), data.get("Longitude"))
        precision = _finite(data.get("Precision"))
        dropped = (() if point else ("location",)) + (() if precision is not None else ("precision",))
        return _Body(Kind.LOCATION_REPORT, location=Location(*point) if point else None,
                     extra={"precision": precision} if precision is not None else {}, dropped=dropped)
    if isinstance(message, TemplateSendJobFinishEvent):
        consent = Consent(template_id="", status=_text(message.status), msg_id=_text(data.get("MsgID")))
        return _Body(Kind.DELIVERY_RECEIPT, consents=(consent,))
    return _Body(Kind.UNKNOWN)


def _bounded(dedupe_key: str) -> str:
    """An event's dedupe key, hashed when its parts (a VIEW event's URL may be 1000 characters) make it too long.

    The same push gives the same key, so a retry is still recognised.
    """
    if len(dedupe_key) <= MAX_DEDUPE_KEY:
        return dedupe_key
    return "h:" + hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()


def _finite(value: Any) -> float | None:
    """A finite number from a text field; None for anything else (NaN and infinity included)."""
    try:
        number = float(_text(value))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _point(latitude: Any, longitude: Any) -> tuple[float, float] | None:
    """(latitude, longitude) when both fields make a place on Earth, else None."""
    lat, lon = _finite(latitude), _finite(longitude)
    if lat is None or lon is None or not is_point(lat, lon):
        return None
    return lat, lon


def _consents(container: Any) -> tuple[Consent, ...]:
    """The `<List>` entries of a subscribe_msg_* event: one gives xmltodict a dict, several a list."""
    if not isinstance(container, dict):
        return ()
    entries = container.get("List")
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list):
        return ()
    return tuple(
        Consent(
            template_id=_text(entry.get("TemplateId")),
            status=_text(entry.get("SubscribeStatusString")) or _text(entry.get("ErrorStatus")),
            msg_id=_text(entry.get("MsgID")),
            error_code=_text(entry.get("ErrorCode")),
        )
        for entry in entries
        if isinstance(entry, dict)
    )


def _text(value: Any) -> str:
    """A text field; missing or empty is ""; an element with children or attributes is refused."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    raise MalformedPayload("a text field holds structured XML")
