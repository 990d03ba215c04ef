"""The outbox: every side effect that leaves the process is first a row, written in the same
transaction as the change that caused it. A relay (workers/relay.py) hands rows to jobs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from tickets.schema import outbox

PENDING, QUEUED, DONE, FAILED = "pending", "queued", "done", "failed"


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One unit of work to do."""

    id: int
    topic: str
    payload: dict[str, Any]
    attempts: int


def put(conn: sa.Connection, topic: str, payload: dict[str, Any], now: datetime, *, delay_s: float = 0) -> int:
    """Write a row of work; it is done after the surrounding transaction commits."""
    return int(conn.execute(
        sa.insert(outbox).values(
            topic=topic, payload=payload, status=PENDING, created_at=now,
            available_at=now + timedelta(seconds=delay_s),
        ).returning(outbox.c.id)
    ).scalar_one())


def due(conn: sa.Connection, now: datetime, *, limit: int = 100, stale_after_s: float = 300) -> list[OutboxRow]:
    """Rows ready to hand to jobs: pending and due, or queued so long ago that the queue lost them."""
    stale = now - timedelta(seconds=stale_after_s)
    rows = conn.execute(
        sa.select(outbox.c.id, outbox.c.topic, outbox.c.payload, outbox.c.attempts)
        .where(sa.or_(
            sa.and_(outbox.c.status == PENDING, outbox.c.available_at <= now),
            sa.and_(outbox.c.status == QUEUED, outbox.c.available_at <= stale),
        ))
        .order_by(outbox.c.id).limit(limit)
    ).all()
    return [OutboxRow(r.id, r.topic, dict(r.payload), r.attempts) for r in rows]


def mark_queued(conn: sa.Connection, ids: list[int], now: datetime) -> None:
    """Rows handed to the queue; `available_at` now dates the hand-off for the stale check."""
    if ids:
        conn.execute(sa.update(outbox).where(outbox.c.id.in_(ids)).values(status=QUEUED, available_at=now))


def get(conn: sa.Connection, row_id: int) -> OutboxRow | None:
    """One row, if it still needs doing."""
    row = conn.execute(
        sa.select(outbox.c.id, outbox.c.topic, outbox.c.payload, outbox.c.attempts, outbox.c.status)
        .where(outbox.c.id == row_id)
    ).one_or_none()
    if row is None or row.status in (DONE, FAILED):
        return None
    return OutboxRow(row.id, row.topic, dict(row.payload), row.attempts)


def mark_done(conn: sa.Connection, row_id: int, now: datetime) -> None:
    """The work is done."""
    conn.execute(sa.update(outbox).where(outbox.c.id == row_id).values(status=DONE, done_at=now))


def mark_retry(conn: sa.Connection, row_id: int, error: str, now: datetime, *, retry_in_s: float,
               give_up: bool) -> None:
    """The work failed: try again later, or give up for good."""
    conn.execute(sa.update(outbox).where(outbox.c.id == row_id).values(
        status=FAILED if give_up else PENDING, attempts=outbox.c.attempts + 1, last_error=error[:2000],
        available_at=now + timedelta(seconds=retry_in_s), done_at=now if give_up else None,
    ))


def backlog(conn: sa.Connection) -> int:
    """How many rows are not done yet."""
    return int(conn.execute(
        sa.select(sa.func.count()).select_from(outbox).where(outbox.c.status.in_((PENDING, QUEUED)))
    ).scalar_one())
