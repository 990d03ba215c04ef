"""What a ticket's console page shows besides the ticket: messages, photos, notifications, co-signers, and the
units an officer may give it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tickets import attachments as stored_media
from tickets import petitions
from tickets.masking import mask_identifier, mask_name, mask_phone, mask_text
from tickets.routing import catalogue
from tickets.storage.schema import (
    attachments,
    citizens,
    inbound_messages,
    notifications,
)
from tickets.storage.schema import petitions as petitions_table
from tickets.storage.schema import signatures as signatures_table

# Why a notification failed, in the officer's words: markers of the reasons the senders record
# (workers/notify.py, docs/platforms.md section 2.5), first match wins; anything else shows as recorded.
FAILURE_REASONS = (
    ("sender not configured", "发送渠道没有配置好（例如缺少公众号 AppSecret），请管理员检查配置后重发"),
    ("no way to reach", "没有可用的发送方式：市民未授权订阅通知、未配置模板消息，且已超过 48 小时客服消息时限"),
    ("45015", "市民超过 48 小时没有给公众号发消息，客服消息发不出去"),
    ("45047", "客服消息条数已达上限，请等市民再次发消息后重发"),
    ("43004", "市民已取消关注公众号"),
    ("43101", "市民没有订阅或已拒收订阅通知"),
    ("40003", "市民的微信标识不属于本公众号"),
    ("citizen or ticket gone", "市民或工单已不存在"),
    ("unexpected", "系统内部错误，详情见服务器日志"),
)
# The conversation that built a ticket comes just before it; its messages carry no ticket id.
CONVERSATION_WINDOW = timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class MessageView:
    """A citizen's message, reduced to what an officer reads (autoescaped by the page)."""

    received_at: datetime
    kind: str
    text: str
    location: str
    link: str


@dataclass(frozen=True, slots=True)
class PhotoView:
    """An attachment: `served` when the gateway keeps the file itself (shown inline)."""

    id: int
    kind: str
    served: bool
    note: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CosignerView:
    """A co-signer of the ticket's petition, named only for admins."""

    name: str
    channel: str
    status: str
    flagged: bool
    created_at: datetime


def _message(row: Any, mask: bool) -> MessageView:
    payload = row.payload if isinstance(row.payload, dict) else {}
    text = str(payload.get("text", ""))
    place = payload.get("location") or {}
    link = payload.get("link") or {}
    location = ""
    if isinstance(place, dict) and "latitude" in place:
        location = f"{place.get('label') or ''} ({place['latitude']:.5f}, {place['longitude']:.5f})".strip()
    title = str(link.get("title", "")) if isinstance(link, dict) else ""
    if mask:
        text, location, title = mask_text(text), mask_text(location), mask_text(title)
    return MessageView(received_at=row.received_at, kind=str(row.kind), text=text, location=location, link=title)


def messages(conn: sa.Connection, ticket_id: int, citizen_id: int | None, created_at: datetime,
             *, mask: bool) -> list[MessageView]:
    """The messages that opened the ticket and those recorded against it, oldest first."""
    belongs = inbound_messages.c.ticket_id == ticket_id
    if citizen_id is not None:
        belongs = sa.or_(belongs, sa.and_(inbound_messages.c.citizen_id == citizen_id,
                                          inbound_messages.c.received_at >= created_at - CONVERSATION_WINDOW,
                                          inbound_messages.c.received_at <= created_at))
    rows = conn.execute(sa.select(inbound_messages.c.received_at, inbound_messages.c.kind, inbound_messages.c.payload)
                        .where(belongs).order_by(inbound_messages.c.received_at, inbound_messages.c.id).limit(100))
    return [_message(r, mask) for r in rows]


def photos(conn: sa.Connection, ticket_id: int, *, mask: bool) -> list[PhotoView]:
    """The ticket's attachments; numbers in their notes masked when `mask`."""
    rows = conn.execute(sa.select(attachments).where(attachments.c.ticket_id == ticket_id).order_by(attachments.c.id))
    return [PhotoView(id=r.id, kind=r.kind, served=r.media_id.startswith(stored_media.PREFIX),
                      note=mask_text(r.note) if mask else r.note, created_at=r.created_at) for r in rows]


def failure_reason(error: str) -> str:
    """Why a notification failed, for officers: a plain explanation with the platform's words after it."""
    for marker, reason in FAILURE_REASONS:
        if marker in error:
            return f"{reason}（{error}）"
    return error or "未记录原因"


@dataclass(frozen=True, slots=True)
class NoticeView:
    """One notification to one citizen: what it told (the status of its own event), to whom (masked, and as whom:
    filer, co-signer or follower), and how its delivery went."""

    created_at: datetime
    purpose: str
    status: str  # the ticket's status the notice tells of
    note: str
    role: str  # filer, cosigner, follower
    channel: str
    recipient: str  # masked
    delivery: str
    method: str
    id: int = 0
    last_error: str = ""  # why the last attempt failed


def _masked(channel: str | None, external_id: str | None) -> str:
    if not external_id:
        return "（已删除）"
    return mask_phone(external_id) if channel == "sms" else mask_identifier(external_id)


def notices(conn: sa.Connection, ticket_id: int, filer_id: int | None, *, mask: bool,
            limit: int = 500) -> list[NoticeView]:
    """The notifications written for the ticket, oldest first: one per recipient and event; numbers in their
    notes masked when `mask`."""
    cosigned = (sa.select(signatures_table.c.id)
                .join(petitions_table, petitions_table.c.id == signatures_table.c.petition_id)
                .where(petitions_table.c.ticket_id == ticket_id,
                       signatures_table.c.citizen_id == notifications.c.citizen_id).exists())
    rows = conn.execute(
        sa.select(notifications.c.id, notifications.c.purpose, notifications.c.status, notifications.c.method,
                  notifications.c.created_at, notifications.c.payload, notifications.c.citizen_id,
                  notifications.c.last_error,
                  citizens.c.channel, citizens.c.external_id, cosigned.label("cosigned"))
        .outerjoin(citizens, citizens.c.id == notifications.c.citizen_id)
        .where(notifications.c.ticket_id == ticket_id).order_by(notifications.c.id).limit(limit))
    views = []
    for r in rows:
        payload = r.payload if isinstance(r.payload, dict) else {}
        role = "filer" if r.citizen_id == filer_id else "cosigner" if r.cosigned else "follower"
        note = str(payload.get("note") or "")
        views.append(NoticeView(created_at=r.created_at, purpose=r.purpose, status=str(payload.get("status", "")),
                                note=mask_text(note) if mask else note, role=role, channel=str(r.channel or ""),
                                recipient=_masked(r.channel, r.external_id), delivery=r.status, method=r.method,
                                id=r.id, last_error=r.last_error or ""))
    return views


def cosigners(conn: sa.Connection, petition_id: int, *, show_names: bool, limit: int = 200) -> list[CosignerView]:
    """The petition's signatures; names masked unless `show_names`."""
    return [CosignerView(name=s.name if show_names else mask_name(s.name), channel=s.channel, status=s.status,
                         flagged=s.flagged, created_at=s.created_at)
            for s in petitions.list_signatures(conn, petition_id, limit=limit)]


@dataclass(frozen=True, slots=True)
class UnitChoice:
    """A unit an officer may give the ticket: its name (what the citizen is told, and the form's value)."""

    name: str
    recommended: bool
    in_catalogue: bool = True


def unit_choices(conn: sa.Connection, routed: dict[str, Any] | None, current: str) -> list[UnitChoice]:
    """The routing catalogue's units, those recommended for the ticket first (in their order); the ticket's
    current unit too when the catalogue no longer has it, so keeping it stays possible."""
    units = catalogue.current(conn).units
    recommended = [str(r.get("unit", "")) for r in (routed or {}).get("recommendations", [])]
    first = [units[u] for u in dict.fromkeys(recommended) if u in units]
    rest = [u for u in units.values() if u.id not in recommended]
    choices = [UnitChoice(u.name, True) for u in first] + [UnitChoice(u.name, False) for u in rest]
    if current and current not in {c.name for c in choices}:
        choices.append(UnitChoice(current, False, in_catalogue=False))
    return choices


def kind_names(conn: sa.Connection) -> dict[str, str]:
    """The routing catalogue's kinds of body by id (urban_management -> 城市管理局)."""
    return {kind.id: kind.name for kind in catalogue.current(conn).kinds.values()}


def catalogue_unit(conn: sa.Connection, value: str) -> str | None:
    """The name of the catalogue's unit an officer chose (by name or id), or None when it has no such unit."""
    book = catalogue.current(conn)
    unit = book.units.get(book.unit_id(value))
    return unit.name if unit is not None else None
