"""Citizen identities per channel, and the durable conversation state kept on them.

`lock_citizen` is the per-user lock of the intake path: on PostgreSQL the upsert holds the
citizen's row lock until the transaction ends; on SQLite every write transaction is already
serialised by BEGIN IMMEDIATE (tickets/storage/db.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tickets.storage import fastsql
from tickets.storage.db import is_postgres
from tickets.storage.schema import citizens


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


# The hot path's statements (tickets/storage/fastsql.py): the upsert takes the lock (PostgreSQL: the row lock,
# held to the end of the transaction) and returns the conversation state; `following` keeps its
# server default on insert.
LOCK_SQL = (
    "INSERT INTO citizens (channel, account, external_id, created_at, last_seen_at, dialog_state, dialog_data)"
    " VALUES (?, ?, ?, ?, ?, 'idle', '{}')"
    " ON CONFLICT (channel, account, external_id) DO UPDATE SET last_seen_at = excluded.last_seen_at"
    " RETURNING id, following, dialog_state, dialog_data, dialog_updated_at, last_message_at"
)
_LOCK = fastsql.Sql(LOCK_SQL)
_SAVE_STATE = "UPDATE citizens SET dialog_state = ?, dialog_data = ?, dialog_updated_at = ?, following = ?"
SAVE_SQL = {
    False: _SAVE_STATE + " WHERE id = ?",
    True: _SAVE_STATE + ", last_message_at = ?, draft_reminded_at = NULL WHERE id = ?",
}
_SAVE = {wrote: fastsql.Sql(sql) for wrote, sql in SAVE_SQL.items()}


def lock_params(pg: bool, key: CitizenKey, now: datetime) -> tuple[Any, ...]:
    """The parameters of `LOCK_SQL`."""
    stamp = fastsql.bind_time(pg, now)
    return (key.channel, key.account, key.external_id, stamp, stamp)


def citizen_from_row(pg: bool, key: CitizenKey, row: Sequence[Any]) -> Citizen:
    """A citizen from the first columns of a row, those `LOCK_SQL` returns."""
    return Citizen(
        id=row[0], key=key, following=bool(row[1]), dialog_state=row[2],
        dialog_data=dict(fastsql.read_json(pg, row[3]) or {}), dialog_updated_at=fastsql.read_time(row[4]),
        last_message_at=fastsql.read_time(row[5]),
    )


def save_params(pg: bool, citizen: Citizen, now: datetime, wrote: bool) -> tuple[Any, ...]:
    """The parameters of `SAVE_SQL[wrote]`."""
    state = (citizen.dialog_state, fastsql.bind_json(pg, citizen.dialog_data),
             fastsql.bind_time(pg, citizen.dialog_updated_at), citizen.following)
    return (*state, fastsql.bind_time(pg, now), citizen.id) if wrote else (*state, citizen.id)


def lock_citizen(conn: sa.Connection, key: CitizenKey, now: datetime) -> Citizen:
    """Create or touch the citizen and hold its lock for the rest of the transaction."""
    pg = is_postgres(conn)
    [row] = fastsql.fetch(conn, _LOCK, lock_params(pg, key, now))
    return citizen_from_row(pg, key, row)


def save_citizen(conn: sa.Connection, citizen: Citizen, now: datetime, *, wrote: bool) -> None:
    """Store the citizen's conversation state; `wrote` marks a message from them (not an event)."""
    pg = is_postgres(conn)
    fastsql.run(conn, _SAVE[wrote], save_params(pg, citizen, now, wrote))


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
