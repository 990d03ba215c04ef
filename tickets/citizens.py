"""Citizen identities per channel, and the durable conversation state kept on them.

`lock_citizen` is the per-user lock of the intake path: on PostgreSQL the upsert holds the
citizen's row lock until the transaction ends; on SQLite every write transaction is already
serialised by BEGIN IMMEDIATE (tickets/db.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tickets.db import dialect_insert
from tickets.schema import citizens


@dataclass(frozen=True, slots=True)
class CitizenKey:
    """Who a citizen is on one channel: (channel, account, the platform's user id)."""

    channel: str
    account: str
    external_id: str


@dataclass(slots=True)
class Citizen:
    """A citizen row with its conversation state."""

    id: int
    key: CitizenKey
    following: bool
    dialog_state: str
    dialog_data: dict[str, Any] = field(default_factory=dict)
    dialog_updated_at: datetime | None = None
    last_message_at: datetime | None = None


def lock_citizen(conn: sa.Connection, key: CitizenKey, now: datetime) -> Citizen:
    """Create or touch the citizen and hold its lock for the rest of the transaction."""
    stmt = dialect_insert(conn, citizens).values(
        channel=key.channel, account=key.account, external_id=key.external_id,
        created_at=now, last_seen_at=now, dialog_state="idle", dialog_data={},
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[citizens.c.channel, citizens.c.account, citizens.c.external_id],
        set_={"last_seen_at": now},
    ).returning(
        citizens.c.id, citizens.c.following, citizens.c.dialog_state, citizens.c.dialog_data,
        citizens.c.dialog_updated_at, citizens.c.last_message_at,
    )
    row = conn.execute(stmt).one()
    return Citizen(
        id=row.id, key=key, following=row.following, dialog_state=row.dialog_state,
        dialog_data=dict(row.dialog_data or {}), dialog_updated_at=row.dialog_updated_at,
        last_message_at=row.last_message_at,
    )


def save_citizen(conn: sa.Connection, citizen: Citizen, now: datetime, *, wrote: bool) -> None:
    """Store the citizen's conversation state; `wrote` marks a message from them (not an event)."""
    values: dict[str, Any] = {
        "dialog_state": citizen.dialog_state,
        "dialog_data": citizen.dialog_data,
        "dialog_updated_at": citizen.dialog_updated_at,
        "following": citizen.following,
    }
    if wrote:
        values["last_message_at"] = now
        values["draft_reminded_at"] = None
    conn.execute(sa.update(citizens).where(citizens.c.id == citizen.id).values(**values))


def get_citizen_key(conn: sa.Connection, citizen_id: int) -> CitizenKey | None:
    """The channel identity of a citizen id."""
    row = conn.execute(
        sa.select(citizens.c.channel, citizens.c.account, citizens.c.external_id).where(
            citizens.c.id == citizen_id
        )
    ).one_or_none()
    return CitizenKey(row.channel, row.account, row.external_id) if row else None


def find_citizen_id(conn: sa.Connection, key: CitizenKey) -> int | None:
    """The id of a known citizen, without creating one."""
    return conn.execute(
        sa.select(citizens.c.id).where(
            citizens.c.channel == key.channel, citizens.c.account == key.account,
            citizens.c.external_id == key.external_id,
        )
    ).scalar_one_or_none()
