"""Messages answered later: a push the gateway could not answer before the platform's deadline.

The webhook keeps such a message here with an outbox row (`citizen.deferred_message`) and answers at once; the
job runs the message through the intake as if it had just arrived (the intake's dedupe answers a message that
was handled meanwhile with the replies it got) and sends the replies by customer-service message. One row per
message, however often the platform sends it, so one job answers it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tickets import outbox
from tickets.inbox.message import InboundMessage
from tickets.storage import fastsql
from tickets.storage.schema import deferred_messages

_KEEP = fastsql.Sql("INSERT INTO deferred_messages (channel, account, dedupe_key, message, created_at, user_id, late)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel, account, dedupe_key) DO NOTHING RETURNING id")
# The citizen's messages still waiting for their job, oldest first; the id bound last is the one to look before.
WAITING_BEFORE_SQL = ("SELECT id FROM deferred_messages WHERE channel = ? AND account = ? AND user_id = ?"
                      " AND answered_at IS NULL AND id < ? ORDER BY id LIMIT 1")
_WAITING_BEFORE = fastsql.Sql(WAITING_BEFORE_SQL)
NO_ID = 2**62  # any message kept so far


def keep(conn: sa.Connection, msg: InboundMessage, now: datetime, *, late: bool) -> bool:
    """Keep `msg` to be answered by a job; False when it was kept before (the platform sending it again).
    `late`: kept because it waited too long for the web (`shedding` reads these), not to wait behind another."""
    pg = fastsql.is_postgres(conn)
    kept = fastsql.fetch(conn, _KEEP, (msg.channel.value, msg.account, msg.dedupe_key,
                                       fastsql.bind_json(pg, msg.to_data()), fastsql.bind_time(pg, now),
                                       msg.user_id or None, late))
    if kept:  # the job's payload names the row only: no openid or text in the outbox
        outbox.put(conn, outbox.Topic.DEFERRED_MESSAGE, {"deferred_id": int(kept[0][0])}, now)
    return bool(kept)


# PostgreSQL, the web behind (`keep_at_once`): the message and its outbox row in one statement, its own transaction;
# with the push's nonce (when the database keeps them) as a third row, and nothing written unless the nonce is new.
_AT_ONCE = fastsql.Sql(
    "-- PostgreSQL only",
    "WITH d AS (INSERT INTO deferred_messages (channel, account, dedupe_key, message, created_at, user_id, late)"
    " VALUES (%s, %s, %s, %s, %s, %s, true) ON CONFLICT (channel, account, dedupe_key) DO NOTHING RETURNING id),"
    " o AS (INSERT INTO outbox (topic, payload, status, created_at, available_at)"
    " SELECT %s, jsonb_build_object('deferred_id', id), %s, %s, %s FROM d RETURNING id)"
    " SELECT 1, (SELECT count(*) FROM o)")
_AT_ONCE_WITH_NONCE = fastsql.Sql(
    "-- PostgreSQL only",
    'WITH n AS (INSERT INTO push_nonces ("key", fingerprint, expires_at) VALUES (%s, %s, %s)'
    ' ON CONFLICT ("key") DO NOTHING RETURNING "key"),'
    " d AS (INSERT INTO deferred_messages (channel, account, dedupe_key, message, created_at, user_id, late)"
    " SELECT %s, %s, %s, %s, %s, %s, true WHERE EXISTS (SELECT 1 FROM n)"
    " ON CONFLICT (channel, account, dedupe_key) DO NOTHING RETURNING id),"
    " o AS (INSERT INTO outbox (topic, payload, status, created_at, available_at)"
    " SELECT %s, jsonb_build_object('deferred_id', id), %s, %s, %s FROM d RETURNING id)"
    " SELECT (SELECT count(*) FROM n), (SELECT count(*) FROM o)")


def keep_at_once(engine: Engine, msg: InboundMessage, now: datetime, nonce: tuple[str, str, datetime] | None
                 ) -> bool | None:
    """PostgreSQL: `keep(..., late=True)` and the push's `nonce` (key, fingerprint, expiry) claimed as a row of
    push_nonces, in one statement that is its own transaction: measured, half the CPU or less and two thirds
    of the time of a transaction of three statements (docs/performance.md). Returns whether the message is new
    (False: kept before, left as it was), or None, with nothing written, when the nonce was there already (the platform
    retrying, or a copied signature): the caller then takes `keep`'s way, whose claim tells the two apart."""
    if not fastsql.is_postgres(engine):
        raise ValueError("keep_at_once is PostgreSQL's; SQLite takes keep's way")
    at = fastsql.bind_time(True, now)
    pg_values = (msg.channel.value, msg.account, msg.dedupe_key, fastsql.bind_json(True, msg.to_data()), at,
                 msg.user_id or None, outbox.Topic.DEFERRED_MESSAGE.value, outbox.PENDING, at, at)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if nonce is None:
            [(claimed, kept)] = fastsql.fetch(conn, _AT_ONCE, pg_values)
        else:
            [(claimed, kept)] = fastsql.fetch(conn, _AT_ONCE_WITH_NONCE, (*nonce, *pg_values))
    return bool(kept) if claimed else None


def waits_before(conn: sa.Connection, msg: InboundMessage, deferred_id: int | None = None) -> bool:
    """Whether a message of `msg`'s sender, kept before `deferred_id` (or at all), is still waiting for its job:
    then `msg` goes after it, not before (a citizen's messages are stepped through in the order they came)."""
    if not msg.user_id:
        return False
    before = NO_ID if deferred_id is None else deferred_id
    return bool(fastsql.fetch(conn, _WAITING_BEFORE, (msg.channel.value, msg.account, msg.user_id, before)))


def shedding(conn: sa.Connection, now: datetime, within_s: float) -> bool:
    """Whether the web kept a message because it waited too long (`late`) in the last `within_s`: the web is
    shedding load now, and the answers to what it kept would take the CPU and the database from it."""
    c = deferred_messages.c
    last = conn.execute(sa.select(c.created_at).where(c.late == sa.true())
                        .order_by(c.created_at.desc()).limit(1)).scalar_one_or_none()
    return last is not None and last > now - timedelta(seconds=within_s)


def senders(conn: sa.Connection, deferred_ids: list[int]) -> dict[int, str]:
    """Who sent each of the messages still waiting among `deferred_ids`: one key per citizen (channel, account
    and user id), for keeping a citizen's messages in one lane of a job (workers/jobs.py)."""
    if not deferred_ids:
        return {}
    c = deferred_messages.c
    rows = conn.execute(sa.select(c.id, c.channel, c.account, c.user_id)
                        .where(c.id.in_(deferred_ids), c.answered_at.is_(None), c.user_id.is_not(None)))
    return {row.id: f"{row.channel}/{row.account}/{row.user_id}" for row in rows}


def waiting(conn: sa.Connection, deferred_id: int) -> InboundMessage | None:
    """The kept message; None when it is answered (or unknown). One outbox row answers it, so one job at a time
    reads it (a job handed out again while the first still runs, after OUTBOX_STALE_SECONDS, could send twice,
    as for every job: delivery is at least once)."""
    row = conn.execute(sa.select(deferred_messages.c.message, deferred_messages.c.answered_at)
                       .where(deferred_messages.c.id == deferred_id)).one_or_none()
    if row is None or row.answered_at is not None:
        return None
    return InboundMessage.from_data(dict(row.message))


def answered(conn: sa.Connection, deferred_id: int, now: datetime) -> None:
    """The message was answered: the row stays (a late copy of the push is not kept again), its content goes.
    (`answered_at` is also set on a message given up: see `give_up`.)"""
    conn.execute(sa.update(deferred_messages).where(deferred_messages.c.id == deferred_id)
                 .values(answered_at=now, message={}, user_id=None))


def give_up(conn: sa.Connection, before: datetime, now: datetime) -> int:
    """Messages kept before `before` and still unanswered (their job failed for good): past WeChat's 48-hour
    customer-service window no answer can reach the citizen, so their words are dropped and the row is closed.
    Returns how many."""
    return int(conn.execute(
        sa.update(deferred_messages)
        .where(deferred_messages.c.answered_at.is_(None), deferred_messages.c.created_at < before)
        .values(answered_at=now, message={}, user_id=None)
    ).rowcount)
