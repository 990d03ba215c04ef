"""Inbound messages as received, with the replies given: the deduplication of platform retries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tickets.inbox.citizens import (
    LOCK_SQL,
    SAVE_SQL,
    Citizen,
    CitizenKey,
    citizen_from_row,
    lock_params,
    save_citizen,
    save_params,
)
from tickets.inbox.deferred import NO_ID, WAITING_BEFORE_SQL
from tickets.inbox.message import InboundMessage
from tickets.inbox.nonces import CLAIM_SQL
from tickets.storage import fastsql
from tickets.storage.db import is_postgres
from tickets.storage.schema import inbound_messages

_FIND = "SELECT replies FROM inbound_messages WHERE channel = ? AND account = ? AND dedupe_key = ?"
_RECORD_SQL = (
    "INSERT INTO inbound_messages"
    " (channel, account, dedupe_key, citizen_id, kind, payload, replies, ticket_id, received_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_RECORD = fastsql.Sql(_RECORD_SQL)
# One round trip for the lock and the retry check: the citizen upsert returns the earlier replies.
_OPEN_TURN = fastsql.Sql(f"{LOCK_SQL}, ({_FIND})")
# A message that keeps the citizen's order (`open_in_order`): the same, and whether a message the citizen sent
# before waits for its job. PostgreSQL, with the push's nonce: its row too, in a data-modifying CTE (SQLite has none).
_OPEN_IN_ORDER_SQL = f"{LOCK_SQL}, ({WAITING_BEFORE_SQL}), 1, ({_FIND})"
_OPEN_IN_ORDER = fastsql.Sql(_OPEN_IN_ORDER_SQL)
_OPEN_IN_ORDER_WITH_NONCE = fastsql.Sql(
    "-- PostgreSQL only",
    f"WITH n AS ({CLAIM_SQL}) {LOCK_SQL}, ({WAITING_BEFORE_SQL}), (SELECT count(*) FROM n), ({_FIND})"  # noqa: S608
    .replace("?", "%s"))
# PostgreSQL: the state and the message in one statement (SQLite has no round trips to save).
_CLOSE_TURN = {wrote: fastsql.Sql(f"WITH saved AS ({sql}) {_RECORD_SQL}") for wrote, sql in SAVE_SQL.items()}


def _key(msg: InboundMessage) -> tuple[str, str, str]:
    return (msg.channel.value, msg.account, msg.dedupe_key)


def _record_params(
    pg: bool, msg: InboundMessage, citizen_id: int, replies: list[dict[str, Any]], ticket_id: int | None,
    now: datetime,
) -> tuple[Any, ...]:
    return (msg.channel.value, msg.account, msg.dedupe_key, citizen_id, msg.kind.value,
            fastsql.bind_json(pg, msg.to_record()), fastsql.bind_json(pg, replies), ticket_id,
            fastsql.bind_time(pg, now))


def record(
    conn: sa.Connection, msg: InboundMessage, citizen_id: int, replies: list[dict[str, Any]],
    ticket_id: int | None, now: datetime,
) -> None:
    """Store the message with its replies; the unique key refuses a second copy."""
    pg = is_postgres(conn)
    fastsql.run(conn, _RECORD, _record_params(pg, msg, citizen_id, replies, ticket_id, now))


def open_turn(conn: sa.Connection, msg: InboundMessage, now: datetime) -> tuple[Citizen, list[dict[str, Any]] | None]:
    """`lock_citizen` for the sender and the replies already given to this message (a retry), in one statement.

    On PostgreSQL the lookup sees the snapshot taken when the upsert began: if a concurrent copy of the
    same message held the citizen's lock and committed meanwhile, it is not seen here, and the unique
    key refuses this copy's `record` (the caller retries and then finds the replies).
    """
    pg = is_postgres(conn)
    key = CitizenKey(msg.channel.value, msg.account, msg.user_id)
    [row] = fastsql.fetch(conn, _OPEN_TURN, (*lock_params(pg, key, now), *_key(msg)))
    earlier = row[len(row) - 1]
    return citizen_from_row(pg, key, row), (None if earlier is None else list(fastsql.read_json(pg, earlier)))


@dataclass(frozen=True, slots=True)
class Opening:
    """What `open_in_order` found: the citizen (locked), the replies already given to this message (a retry),
    whether a message the citizen sent before waits for its job, and whether the push's nonce row was new."""

    citizen: Citizen
    earlier: list[dict[str, Any]] | None
    waiting: bool
    nonce_new: bool


def open_in_order(conn: sa.Connection, msg: InboundMessage, now: datetime,
                  nonce: tuple[str, str, datetime] | None = None) -> Opening:
    """`open_turn`, and whether a message of the sender's still waits for its job (tickets/inbox/deferred.py
    `waits_before`), in one statement; on PostgreSQL also the push's `nonce` (key, fingerprint, expiry) claimed as a
    row of push_nonces, when given. Each was a round trip of its own, with the event loop waiting (docs/performance.md).

    `nonce_new` is False when the nonce's row was there already (the platform retrying, an expired row, or a copied
    signature): the caller then claims it the usual way (tickets/inbox/nonces.py `claim`), which tells them apart.
    Without a nonce, True. The citizen is locked (and touched) even when the message then waits behind another.
    """
    pg = is_postgres(conn)
    if nonce is not None and not pg:
        raise ValueError("a nonce as a row of the opening is PostgreSQL's; SQLite claims it apart")
    key = CitizenKey(msg.channel.value, msg.account, msg.user_id)
    params = (*lock_params(pg, key, now), msg.channel.value, msg.account, msg.user_id or None, NO_ID, *_key(msg))
    if nonce is None:
        [row] = fastsql.fetch(conn, _OPEN_IN_ORDER, params)
    else:
        nonce_key, fingerprint, expires_at = nonce
        [row] = fastsql.fetch(conn, _OPEN_IN_ORDER_WITH_NONCE,
                              (nonce_key, fingerprint, fastsql.bind_time(pg, expires_at), *params))
    *_, waiting, nonce_rows, earlier = row
    return Opening(citizen_from_row(pg, key, row), None if earlier is None else list(fastsql.read_json(pg, earlier)),
                   waiting is not None, bool(nonce_rows))


def close_turn(
    conn: sa.Connection, msg: InboundMessage, citizen: Citizen, replies: list[dict[str, Any]],
    ticket_id: int | None, now: datetime, *, wrote: bool,
) -> None:
    """`save_citizen` and `record` (one statement on PostgreSQL)."""
    pg = is_postgres(conn)
    if not pg:
        save_citizen(conn, citizen, now, wrote=wrote)
        record(conn, msg, citizen.id, replies, ticket_id, now)
        return
    fastsql.run(conn, _CLOSE_TURN[wrote], (*save_params(pg, citizen, now, wrote),
                                           *_record_params(pg, msg, citizen.id, replies, ticket_id, now)))


def recent_for_citizen(conn: sa.Connection, citizen_id: int, *, limit: int = 50) -> list[dict[str, Any]]:
    """A citizen's latest messages with the replies, oldest first (for the dev simulator)."""
    rows = conn.execute(
        sa.select(inbound_messages.c.payload, inbound_messages.c.replies, inbound_messages.c.received_at)
        .where(inbound_messages.c.citizen_id == citizen_id)
        .order_by(inbound_messages.c.id.desc()).limit(limit)
    ).all()
    return [{"payload": r.payload, "replies": r.replies, "received_at": r.received_at} for r in reversed(rows)]
