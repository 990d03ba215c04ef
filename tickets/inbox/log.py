"""Inbound records outside a conversation, in the same table as chat messages (one deduplication).

- A platform notification that names no citizen (an Alipay msg_method about the app itself) is kept
  with no citizen; its platform id makes a retry a no-op.
- A submission through the mini-program's API may carry the client's request id: its record points at
  the ticket it opened, so a retried submission finds that ticket instead of opening another.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from tickets.inbox.message import InboundMessage
from tickets.storage.db import dialect_insert
from tickets.storage.schema import inbound_messages


def record_notice(conn: sa.Connection, msg: InboundMessage, now: datetime) -> bool:
    """Keep a notification that names no citizen; False when the same one was kept before."""
    stmt = dialect_insert(conn, inbound_messages).values(
        channel=msg.channel.value, account=msg.account, dedupe_key=msg.dedupe_key, citizen_id=None,
        kind=msg.kind.value, payload=msg.to_record(), replies=[], ticket_id=None, received_at=now,
    ).on_conflict_do_nothing(index_elements=[inbound_messages.c.channel, inbound_messages.c.account,
                                             inbound_messages.c.dedupe_key])
    return bool(conn.execute(stmt.returning(inbound_messages.c.id)).first())


def earlier_ticket(conn: sa.Connection, channel: str, account: str, dedupe_key: str) -> tuple[bool, int | None]:
    """Whether this record was kept before, and the ticket it opened (None if it opened none)."""
    row = conn.execute(sa.select(inbound_messages.c.ticket_id).where(
        inbound_messages.c.channel == channel, inbound_messages.c.account == account,
        inbound_messages.c.dedupe_key == dedupe_key)).one_or_none()
    return (False, None) if row is None else (True, row.ticket_id)
