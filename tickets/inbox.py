"""Inbound messages as received, with the replies given: the deduplication of platform retries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tickets.inbound import InboundMessage
from tickets.schema import inbound_messages


def replies_for(conn: sa.Connection, msg: InboundMessage) -> list[dict[str, Any]] | None:
    """The replies already given to this message, if it was seen before (a retry)."""
    row = conn.execute(
        sa.select(inbound_messages.c.replies).where(
            inbound_messages.c.channel == msg.channel.value,
            inbound_messages.c.account == msg.account,
            inbound_messages.c.dedupe_key == msg.dedupe_key,
        )
    ).one_or_none()
    return list(row.replies) if row is not None else None


def record(
    conn: sa.Connection, msg: InboundMessage, citizen_id: int, replies: list[dict[str, Any]],
    ticket_id: int | None, now: datetime,
) -> None:
    """Store the message with its replies; the unique key refuses a second copy."""
    conn.execute(sa.insert(inbound_messages).values(
        channel=msg.channel.value, account=msg.account, dedupe_key=msg.dedupe_key, citizen_id=citizen_id,
        kind=msg.kind.value, payload=msg.to_record(), replies=replies, ticket_id=ticket_id, received_at=now,
    ))


def recent_for_citizen(conn: sa.Connection, citizen_id: int, *, limit: int = 50) -> list[dict[str, Any]]:
    """A citizen's latest messages with the replies, oldest first (for the dev simulator)."""
    rows = conn.execute(
        sa.select(inbound_messages.c.payload, inbound_messages.c.replies, inbound_messages.c.received_at)
        .where(inbound_messages.c.citizen_id == citizen_id)
        .order_by(inbound_messages.c.id.desc()).limit(limit)
    ).all()
    return [{"payload": r.payload, "replies": r.replies, "received_at": r.received_at} for r in reversed(rows)]
