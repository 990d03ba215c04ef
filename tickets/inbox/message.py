"""The channel-neutral inbound message every adapter normalises to."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

import sqlalchemy as sa

from tickets.errors import MalformedPayload
from tickets.storage.schema import attachments, citizens, consents, inbound_messages, tickets


def _length(column: sa.Column[Any]) -> int:
    return int(cast(sa.String, column.type).length or 0)


# The columns a message's fields land in bound them: a longer value is refused at the edge (a 400) rather
# than failing in the database (PostgreSQL: a 503 on every retry of a push that can never be stored).
MAX_ACCOUNT = min(_length(citizens.c.account), _length(inbound_messages.c.account))
MAX_USER_ID = _length(citizens.c.external_id)
MAX_DEDUPE_KEY = _length(inbound_messages.c.dedupe_key)
MAX_MEDIA_ID = _length(attachments.c.media_id)
MAX_MEDIA_URL = _length(attachments.c.url)
MAX_LABEL = _length(tickets.c.location_label)
MAX_TEMPLATE_ID = _length(consents.c.template_id)


class Channel(StrEnum):
    """Where a citizen reached us."""

    WECHAT = "wechat"
    ALIPAY = "alipay"
    WEB = "web"
    SMS = "sms"  # a phone number proven with a one-time code (co-signers outside the apps)


class Kind(StrEnum):
    """What an inbound message is, whatever the channel called it."""

    TEXT = "text"
    IMAGE = "image"
    VOICE = "voice"
    VIDEO = "video"
    LOCATION = "location"
    LINK = "link"
    FOLLOW = "follow"  # subscribed, possibly through a parametric QR code (scene set)
    UNFOLLOW = "unfollow"
    SCAN = "scan"  # an existing follower scanned a parametric QR code
    MENU_CLICK = "menu_click"
    MENU_VIEW = "menu_view"
    LOCATION_REPORT = "location_report"  # periodic position report, not a message from the citizen
    DELIVERY_RECEIPT = "delivery_receipt"  # template / subscription message sent or failed
    CONSENT = "consent"  # subscription notification accepted or rejected
    UNKNOWN = "unknown"


def is_point(latitude: float, longitude: float) -> bool:
    """Whether the two numbers are a place on Earth: finite, latitude within ±90°, longitude within ±180°."""
    return (math.isfinite(latitude) and math.isfinite(longitude)
            and -90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0)


@dataclass(frozen=True, slots=True)
class Location:
    """A point the citizen shared; label is the address the platform resolved, if any.

    Never NaN, infinite or off the globe (adapters drop such a location before building one): stored, one
    such value breaks the JSON columns on PostgreSQL and every later step of the conversation.
    """

    latitude: float
    longitude: float
    label: str = ""
    scale: int | None = None

    def __post_init__(self) -> None:
        if not is_point(self.latitude, self.longitude):
            raise ValueError("a location must be finite, latitude within ±90 and longitude within ±180")


@dataclass(frozen=True, slots=True)
class Media:
    """A photo, voice note or video kept on the platform (media ids expire after 3 days on WeChat)."""

    media_id: str
    url: str = ""
    format: str = ""
    thumb_media_id: str = ""


@dataclass(frozen=True, slots=True)
class Link:
    """A link the citizen forwarded."""

    title: str
    description: str
    url: str


@dataclass(frozen=True, slots=True)
class Consent:
    """One template's subscription decision (`accept` / `reject`) or delivery outcome."""

    template_id: str
    status: str
    msg_id: str = ""
    error_code: str = ""


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message or event from a citizen, normalised across channels.

    `dedupe_key` is unique per (channel, account): the platform's message id for messages,
    user + time + event + key for events, so a retried delivery is recognised.
    """

    channel: Channel
    account: str
    user_id: str
    kind: Kind
    dedupe_key: str
    created_at: datetime
    text: str = ""
    media: Media | None = None
    location: Location | None = None
    link: Link | None = None
    event_key: str = ""  # menu key, QR scene (without `qrscene_`) or VIEW url
    consents: tuple[Consent, ...] = ()
    raw_type: str = ""  # the platform's own type name, for logs of unknown input
    extra: dict[str, Any] = field(default_factory=dict)
    # Fields the adapter could not take (a location that is no point on Earth, ...): kept without them.
    dropped: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Refuse a field longer than the column it is stored in (the reason names the field, not its value)."""
        bounded = [("account", self.account, MAX_ACCOUNT), ("user id", self.user_id, MAX_USER_ID),
                   ("dedupe key", self.dedupe_key, MAX_DEDUPE_KEY)]
        if self.media is not None:
            bounded += [("media id", self.media.media_id, MAX_MEDIA_ID), ("media url", self.media.url, MAX_MEDIA_URL),
                        ("thumb media id", self.media.thumb_media_id, MAX_MEDIA_ID)]
        if self.location is not None:
            bounded.append(("location label", self.location.label, MAX_LABEL))
        bounded += [("template id", consent.template_id, MAX_TEMPLATE_ID) for consent in self.consents]
        for name, value, limit in bounded:
            if len(value) > limit:
                raise MalformedPayload(f"{name} over {limit} characters")

    def to_record(self) -> dict[str, Any]:
        """The normalised fields as JSON-ready data for storage."""
        record: dict[str, Any] = {"kind": self.kind.value, "raw_type": self.raw_type}
        if self.text:
            record["text"] = self.text
        if self.media:
            record["media"] = {"media_id": self.media.media_id, "url": self.media.url,
                               "format": self.media.format, "thumb_media_id": self.media.thumb_media_id}
        if self.location:
            record["location"] = {"latitude": self.location.latitude, "longitude": self.location.longitude,
                                  "label": self.location.label, "scale": self.location.scale}
        if self.link:
            record["link"] = {"title": self.link.title, "description": self.link.description,
                              "url": self.link.url}
        if self.event_key:
            record["event_key"] = self.event_key
        if self.consents:
            record["consents"] = [
                {"template_id": c.template_id, "status": c.status, "msg_id": c.msg_id,
                 "error_code": c.error_code} for c in self.consents
            ]
        if self.extra:
            record["extra"] = self.extra
        if self.dropped:
            record["dropped"] = list(self.dropped)
        return record

    def to_data(self) -> dict[str, Any]:
        """The whole message as JSON-ready data, read back by `from_data` (a message answered later)."""
        return {**self.to_record(), "channel": self.channel.value, "account": self.account, "user_id": self.user_id,
                "dedupe_key": self.dedupe_key, "created_at": self.created_at.isoformat()}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> InboundMessage:
        """The message `to_data` wrote."""
        media, location, link = data.get("media"), data.get("location"), data.get("link")
        return cls(
            channel=Channel(data["channel"]), account=str(data["account"]), user_id=str(data["user_id"]),
            kind=Kind(data["kind"]), dedupe_key=str(data["dedupe_key"]),
            created_at=datetime.fromisoformat(str(data["created_at"])), text=str(data.get("text", "")),
            media=Media(**media) if media else None, location=Location(**location) if location else None,
            link=Link(**link) if link else None, event_key=str(data.get("event_key", "")),
            consents=tuple(Consent(**c) for c in data.get("consents", ())), raw_type=str(data.get("raw_type", "")),
            extra=dict(data.get("extra", {})), dropped=tuple(data.get("dropped", ())),
        )
