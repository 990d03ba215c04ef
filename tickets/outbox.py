"""The outbox: every side effect that leaves the process is first a row, written in the same
transaction as the change that caused it. A relay (workers/relay.py) hands rows to jobs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa

from tickets.storage import fastsql
from tickets.storage.schema import outbox

PENDING, QUEUED, RUNNING, DONE, FAILED = "pending", "queued", "running", "done", "failed"


class Topic(StrEnum):
    """Every kind of work the outbox carries, named once (workers/jobs.py maps each to its job).

    The values are stored on rows: renaming one strands the rows already written.
    """

    NOTIFICATION = "notification.deliver"  # tell a citizen of their ticket's progress, in their channel
    PUSH_TEXT = "citizen.push_text"  # a plain text to a citizen (the idle-draft reminder, ...)
    DISPATCH = "dispatch.event"  # ticket.created and status events for the dispatch system
    PETITION_CARD = "petition.qr_card"  # make and send a joint petition's QR card
    WARNING = "warning.deliver"  # an early warning, as a signed webhook
    DEADLINE = "deadline.event"  # a deadline reminder or escalation, as a signed webhook
    DRAFT_PROMPT = "citizen.draft_prompt"  # the one reply after a burst of fragments (bots/conversations)
    DEFERRED_MESSAGE = "citizen.deferred_message"  # a push answered later (tickets/inbox/deferred.py)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One unit of work to do."""

    id: int
    topic: str
    payload: dict[str, Any]
    attempts: int


# Every new ticket and many chat steps write a row: the statement is written once (storage/fastsql.py).
_PUT = fastsql.Sql("INSERT INTO outbox (topic, payload, status, created_at, available_at) VALUES (?, ?, ?, ?, ?)"
                   " RETURNING id")


def put(conn: sa.Connection, topic: Topic, payload: dict[str, Any], now: datetime, *, delay_s: float = 0) -> int:
    """Write a row of work; it is done after the surrounding transaction commits."""
    pg = fastsql.is_postgres(conn)
    [(row_id,)] = fastsql.fetch(conn, _PUT, (str(topic), fastsql.bind_json(pg, payload), PENDING,
                                             fastsql.bind_time(pg, now),
                                             fastsql.bind_time(pg, now + timedelta(seconds=delay_s))))
    return int(row_id)


def due(conn: sa.Connection, now: datetime, *, limit: int = 100, stale_after_s: float = 300,
        hold: Mapping[str, datetime] | None = None) -> list[OutboxRow]:
    """Rows ready to hand to jobs: pending and due, or queued or running for so long that the
    queue lost them or the worker died (so delivery is at least once; jobs check before acting).
    `hold` maps a topic to a time: its pending rows written after that time wait (they stay pending)."""
    stale = now - timedelta(seconds=stale_after_s)
    pending = sa.and_(outbox.c.status == PENDING, outbox.c.available_at <= now,
                      *(sa.not_(sa.and_(outbox.c.topic == topic, outbox.c.created_at > after))
                        for topic, after in (hold or {}).items()))
    rows = conn.execute(
        sa.select(outbox.c.id, outbox.c.topic, outbox.c.payload, outbox.c.attempts)
        .where(sa.or_(pending, sa.and_(outbox.c.status.in_((QUEUED, RUNNING)), outbox.c.available_at <= stale)))
        .order_by(outbox.c.id).limit(limit)
    ).all()
    return [OutboxRow(r.id, r.topic, dict(r.payload), r.attempts) for r in rows]


def mark_queued(conn: sa.Connection, ids: list[int], now: datetime) -> None:
    """Rows handed to the queue; `available_at` now dates the hand-off for the stale check."""
    if ids:
        conn.execute(sa.update(outbox).where(outbox.c.id.in_(ids)).values(status=QUEUED, available_at=now))


def release(conn: sa.Connection, ids: list[int]) -> None:
    """Rows the queue did not take (Redis down): pending again, for the next round."""
    if ids:
        conn.execute(sa.update(outbox).where(outbox.c.id.in_(ids), outbox.c.status == QUEUED).values(status=PENDING))


def release_all_queued(conn: sa.Connection) -> int:
    """Every row handed to the queue and not yet taken by a job: pending again (the queue lost its jobs)."""
    return int(conn.execute(sa.update(outbox).where(outbox.c.status == QUEUED).values(status=PENDING)).rowcount)


def claim(conn: sa.Connection, row_ids: list[int], now: datetime, *, stale_after_s: float = 300) -> list[OutboxRow]:
    """Take rows for running, except those done, given up, or being run by another worker right now."""
    taken = conn.execute(
        sa.update(outbox)
        .where(outbox.c.id.in_(row_ids), sa.or_(
            outbox.c.status.in_((PENDING, QUEUED)),
            sa.and_(outbox.c.status == RUNNING, outbox.c.available_at <= now - timedelta(seconds=stale_after_s)),
        ))
        .values(status=RUNNING, available_at=now)
        .returning(outbox.c.id, outbox.c.topic, outbox.c.payload, outbox.c.attempts)
    ).all()
    return sorted((OutboxRow(r.id, r.topic, dict(r.payload), r.attempts) for r in taken), key=lambda r: r.id)


def set_payload(conn: sa.Connection, row_id: int, payload: dict[str, Any]) -> None:
    """Complete a row's work before it is done (workers/routing.py: a `ticket.created` routed after its commit)."""
    conn.execute(sa.update(outbox).where(outbox.c.id == row_id).values(payload=payload))


def payload_of(conn: sa.Connection, row_id: int) -> dict[str, Any] | None:
    """A row's payload as it stands now (None for no such row)."""
    payload = conn.execute(sa.select(outbox.c.payload).where(outbox.c.id == row_id)).scalar_one_or_none()
    return dict(payload) if payload is not None else None


def mark_done(conn: sa.Connection, row_ids: list[int], now: datetime) -> None:
    """The work is done."""
    if row_ids:
        conn.execute(sa.update(outbox).where(outbox.c.id.in_(row_ids)).values(status=DONE, done_at=now))


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
        sa.select(sa.func.count()).select_from(outbox).where(outbox.c.status.in_((PENDING, QUEUED, RUNNING)))
    ).scalar_one())


def backlog_by_topic(conn: sa.Connection) -> dict[str, tuple[int, datetime]]:
    """Rows not done yet, per topic: how many, and when the oldest was written."""
    rows = conn.execute(
        sa.select(outbox.c.topic, sa.func.count(), sa.func.min(outbox.c.created_at))
        .where(outbox.c.status.in_((PENDING, QUEUED, RUNNING))).group_by(outbox.c.topic)
    ).all()
    return {str(topic): (int(count), oldest) for topic, count, oldest in rows}
