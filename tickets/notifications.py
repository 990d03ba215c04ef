"""Notifications: who is told what about a ticket, each delivered by a job through the outbox.

A row is written in the same transaction as the change it tells of; its outcome (sent by which
method, failed with the platform's error, given up) and the platform's delivery receipt are
written back on it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tickets import outbox
from tickets.inbox.citizens import CitizenKey
from tickets.lifecycle import Status
from tickets.outbox import Topic
from tickets.repository import Ticket
from tickets.storage import fastsql
from tickets.storage.db import is_postgres
from tickets.storage.schema import notifications

PENDING, SENT, FAILED = "pending", "sent", "failed"
TOPIC = Topic.NOTIFICATION  # written here by hand-made SQL, not outbox.put


@dataclass(frozen=True, slots=True)
class Notification:
    """One message to one citizen."""

    id: int
    ticket_id: int | None
    citizen_id: int
    purpose: str
    payload: dict[str, Any]
    status: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Delivery:
    """What the delivery job reads, in one statement: the notification, the citizen's channel identity
    and last message (WeChat's 48-hour window), and the ticket (None when the citizen or ticket is gone)."""

    note: Notification
    key: CitizenKey | None
    last_message_at: datetime | None
    ticket: Ticket | None


# The fan-out and delivery statements run through the driver (tickets/storage/fastsql.py): a petition's update
# writes one notification per co-signer, and each is read and marked once by a worker.
# Status 'pending' is PENDING here and outbox.PENDING in the outbox.
_INSERT = ("INSERT INTO notifications (ticket_id, citizen_id, purpose, event_id, payload, status, created_at,"
           " updated_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)"
           " ON CONFLICT (event_id, citizen_id, purpose) DO NOTHING RETURNING id")  # one per event and citizen
_OUTBOX = "INSERT INTO outbox (topic, payload, status, created_at, available_at) VALUES (?, ?, 'pending', ?, ?)"
_CREATE_SQLITE = (fastsql.Sql(_INSERT), fastsql.Sql(_OUTBOX))
# PostgreSQL: the notification and its outbox row (as `outbox.put` writes it) in one round trip.
_CREATE_PG = fastsql.Sql(
    f"WITH n AS ({_INSERT}), o AS (INSERT INTO outbox (topic, payload, status, created_at, available_at)"  # noqa: S608
    " SELECT ?, jsonb_build_object('notification_id', n.id), 'pending', ?, ? FROM n) SELECT id FROM n")  # (constants)
_TICKET_COLUMNS = ("id", "number", "tracking_code", "channel", "citizen_id", "status", "description", "address",
                   "latitude", "longitude", "location_label", "created_at", "updated_at", "unit", "expected_at",
                   "resolved_at", "evaluation_asked_at", "evaluation_asks")
_TICKET_SELECT = ", ".join(f"t.{column}" for column in _TICKET_COLUMNS)
_FOR_DELIVERY = fastsql.Sql(
    "SELECT n.id, n.ticket_id, n.citizen_id, n.purpose, n.payload, n.status, n.attempts,"  # noqa: S608 (constants)
    f" c.channel, c.account, c.external_id, c.last_message_at, {_TICKET_SELECT}"
    " FROM notifications n LEFT JOIN citizens c ON c.id = n.citizen_id"
    " LEFT JOIN tickets t ON t.id = n.ticket_id WHERE n.id = ?")
# A job's batch of notifications in one statement (a fan-out job carries up to 50).
_MANY_WHERE = {False: " WHERE n.id IN (SELECT value FROM json_each(?))", True: " WHERE n.id = ANY(%s)"}
_FOR_DELIVERY_MANY = fastsql.Sql(_FOR_DELIVERY.sqlite.replace(" WHERE n.id = ?", _MANY_WHERE[False]),
                                 _FOR_DELIVERY.postgresql.replace(" WHERE n.id = %s", _MANY_WHERE[True]))
_MARK_SENT = fastsql.Sql("UPDATE notifications SET status = 'sent', method = ?, platform_msg_id = ?, sent_at = ?,"
                         " updated_at = ?, attempts = attempts + 1 WHERE id = ?")


def create(conn: sa.Connection, *, citizen_id: int, purpose: str, payload: dict[str, Any], now: datetime,
           ticket_id: int | None = None, event_id: int | None = None) -> int | None:
    """Write a notification and its outbox row; None if this event already notified this citizen."""
    pg = is_postgres(conn)
    stamp = fastsql.bind_time(pg, now)
    row = (ticket_id, citizen_id, purpose, event_id, fastsql.bind_json(pg, payload), stamp, stamp)
    if pg:
        found = fastsql.fetch(conn, _CREATE_PG, (*row, TOPIC, stamp, stamp))
        return int(found[0][0]) if found else None
    insert, put = _CREATE_SQLITE
    found = fastsql.fetch(conn, insert, row)
    if not found:
        return None
    notification_id = int(found[0][0])
    fastsql.run(conn, put, (TOPIC, fastsql.bind_json(pg, {"notification_id": notification_id}), stamp, stamp))
    return notification_id


# PostgreSQL: a whole audience's notifications and outbox rows in one round trip (a petition's thousands of
# co-signers were one round trip each).
_CREATE_MANY_PG = fastsql.Sql("SELECT NULL WHERE 0 -- PostgreSQL only: SQLite writes them one by one", (
    "WITH s AS (SELECT * FROM unnest(%s::integer[], %s::text[]) AS s(citizen_id, purpose)),"
    " n AS (INSERT INTO notifications (ticket_id, citizen_id, purpose, event_id, payload, status, created_at,"
    " updated_at) SELECT %s::integer, s.citizen_id, s.purpose, %s::integer, %s::jsonb, 'pending', %s, %s FROM s"
    " ON CONFLICT (event_id, citizen_id, purpose) DO NOTHING RETURNING id),"
    " o AS (INSERT INTO outbox (topic, payload, status, created_at, available_at)"
    " SELECT %s, jsonb_build_object('notification_id', n.id), 'pending', %s, %s FROM n) SELECT id FROM n"))


def create_many(conn: sa.Connection, audience: Sequence[tuple[int, str]], *, payload: dict[str, Any], now: datetime,
                ticket_id: int | None = None, event_id: int | None = None) -> list[int]:
    """`create` for every (citizen id, purpose) of `audience`, with one payload; the ids of those written."""
    if not audience:
        return []
    if not is_postgres(conn):  # SQLite: no round trips to save
        made = [create(conn, citizen_id=c, purpose=p, payload=payload, now=now, ticket_id=ticket_id,
                       event_id=event_id) for c, p in audience]
        return [n for n in made if n is not None]
    stamp = fastsql.bind_time(True, now)
    found = fastsql.fetch(conn, _CREATE_MANY_PG, ([c for c, _ in audience], [p for _, p in audience], ticket_id,
                                                  event_id, fastsql.bind_json(True, payload), stamp, stamp,
                                                  TOPIC, stamp, stamp))
    return [int(row[0]) for row in found]


def get(conn: sa.Connection, notification_id: int) -> Notification | None:
    """A notification by id."""
    row = conn.execute(sa.select(notifications).where(notifications.c.id == notification_id)).one_or_none()
    if row is None:
        return None
    return Notification(row.id, row.ticket_id, row.citizen_id, row.purpose, dict(row.payload), row.status,
                        row.attempts)


def for_delivery(conn: sa.Connection, notification_id: int) -> Delivery | None:
    """The notification with its citizen and ticket, as the delivery job needs them; None if no such row."""
    pg = is_postgres(conn)
    rows = fastsql.fetch(conn, _FOR_DELIVERY, (notification_id,))
    return _delivery(pg, rows[0]) if rows else None


def for_delivery_many(conn: sa.Connection, notification_ids: list[int]) -> dict[int, Delivery]:
    """`for_delivery` for many notifications in one statement; ids with no row are left out."""
    if not notification_ids:
        return {}
    pg = is_postgres(conn)
    ids = [int(i) for i in notification_ids]
    rows = fastsql.fetch(conn, _FOR_DELIVERY_MANY, (ids if pg else json.dumps(ids),))
    return {int(row[0]): _delivery(pg, row) for row in rows}


def _delivery(pg: bool, row: Any) -> Delivery:
    (nid, ticket_id, citizen_id, purpose, payload, status, attempts, channel, account, external_id,
     last_message_at, *ticket) = row
    note = Notification(nid, ticket_id, citizen_id, purpose, dict(fastsql.read_json(pg, payload)), status, attempts)
    key = CitizenKey(channel, account, external_id) if channel is not None else None
    return Delivery(note, key, fastsql.read_time(last_message_at), _ticket(ticket))


def _ticket(values: list[Any]) -> Ticket | None:
    # The columns of `_TICKET_COLUMNS`, converted as repository.get_ticket's Core types would.
    if values[0] is None:
        return None
    t = dict(zip(_TICKET_COLUMNS, values, strict=True))
    times = {name: fastsql.read_time(t[name]) for name in
             ("created_at", "updated_at", "expected_at", "resolved_at", "evaluation_asked_at")}
    return Ticket(**{**t, **times, "status": Status(t["status"])})


def mark_sent(conn: sa.Connection, notification_id: int, method: str, platform_msg_id: str | None,
              now: datetime) -> None:
    """Delivered to the platform by `method` (subscription, template, customer_service, alipay_template)."""
    stamp = fastsql.bind_time(is_postgres(conn), now)
    fastsql.run(conn, _MARK_SENT, (method, platform_msg_id, stamp, stamp, notification_id))


def mark_sent_many(conn: sa.Connection, receipts: Sequence[tuple[int, str, str | None, datetime]]) -> None:
    """`mark_sent` for several notifications at once: (notification id, method, platform msg id, when sent)."""
    pg = is_postgres(conn)
    fastsql.run_many(conn, _MARK_SENT, [(method, msg_id, fastsql.bind_time(pg, at), fastsql.bind_time(pg, at), nid)
                                        for nid, method, msg_id, at in receipts])


def mark_attempt(conn: sa.Connection, notification_id: int, error: str, now: datetime, *, final: bool) -> None:
    """A failed attempt: the platform's error, and whether it was the last one."""
    values: dict[str, Any] = {"last_error": error[:1000], "updated_at": now, "attempts": notifications.c.attempts + 1}
    if final:
        values["status"] = FAILED
    conn.execute(sa.update(notifications).where(notifications.c.id == notification_id).values(**values))


def retry(conn: sa.Connection, notification_id: int, now: datetime, *, ticket_id: int | None = None) -> bool:
    """Send a failed notification again (an officer's retry): pending again, with a new outbox row.

    False when it is not a failed notification (of `ticket_id`, when given). The last error stays on the row
    until the next attempt replaces it.
    """
    condition = sa.and_(notifications.c.id == notification_id, notifications.c.status == FAILED)
    if ticket_id is not None:
        condition = sa.and_(condition, notifications.c.ticket_id == ticket_id)
    changed = conn.execute(sa.update(notifications).where(condition).values(status=PENDING, updated_at=now))
    if not changed.rowcount:
        return False
    outbox.put(conn, TOPIC, {"notification_id": notification_id}, now)
    return True


def join_receipt(conn: sa.Connection, platform_msg_id: str, receipt: str, now: datetime) -> bool:
    """Record a delivery receipt (TEMPLATESENDJOBFINISH, subscribe_msg_sent_event) on its notification."""
    result = conn.execute(sa.update(notifications).where(notifications.c.platform_msg_id == platform_msg_id)
                          .values(receipt=receipt[:64], updated_at=now))
    return bool(result.rowcount)
