"""Notifications: who is told what about a ticket, each delivered by a job through the outbox.

A row is written in the same transaction as the change it tells of; its outcome (sent by which
method, failed with the platform's error, given up) and the platform's delivery receipt are
written back on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tickets import outbox
from tickets.schema import notifications

PENDING, SENT, FAILED = "pending", "sent", "failed"
TOPIC = "notification.deliver"


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


def create(conn: sa.Connection, *, citizen_id: int, purpose: str, payload: dict[str, Any], now: datetime,
           ticket_id: int | None = None, event_id: int | None = None) -> int | None:
    """Write a notification and its outbox row; None if this event already notified this citizen."""
    existing = None
    if event_id is not None:
        existing = conn.execute(sa.select(notifications.c.id).where(
            notifications.c.event_id == event_id, notifications.c.citizen_id == citizen_id,
            notifications.c.purpose == purpose)).scalar_one_or_none()
    if existing is not None:
        return None
    notification_id = int(conn.execute(sa.insert(notifications).values(
        ticket_id=ticket_id, citizen_id=citizen_id, purpose=purpose, event_id=event_id, payload=payload,
        status=PENDING, created_at=now, updated_at=now,
    ).returning(notifications.c.id)).scalar_one())
    outbox.put(conn, TOPIC, {"notification_id": notification_id}, now)
    return notification_id


def get(conn: sa.Connection, notification_id: int) -> Notification | None:
    """A notification by id."""
    row = conn.execute(sa.select(notifications).where(notifications.c.id == notification_id)).one_or_none()
    if row is None:
        return None
    return Notification(row.id, row.ticket_id, row.citizen_id, row.purpose, dict(row.payload), row.status,
                        row.attempts)


def mark_sent(conn: sa.Connection, notification_id: int, method: str, platform_msg_id: str | None,
              now: datetime) -> None:
    """Delivered to the platform by `method` (subscription, template, customer_service, alipay_template)."""
    conn.execute(sa.update(notifications).where(notifications.c.id == notification_id).values(
        status=SENT, method=method, platform_msg_id=platform_msg_id, sent_at=now, updated_at=now,
        attempts=notifications.c.attempts + 1,
    ))


def mark_attempt(conn: sa.Connection, notification_id: int, error: str, now: datetime, *, final: bool) -> None:
    """A failed attempt: the platform's error, and whether it was the last one."""
    values: dict[str, Any] = {"last_error": error[:1000], "updated_at": now, "attempts": notifications.c.attempts + 1}
    if final:
        values["status"] = FAILED
    conn.execute(sa.update(notifications).where(notifications.c.id == notification_id).values(**values))


def join_receipt(conn: sa.Connection, platform_msg_id: str, receipt: str, now: datetime) -> bool:
    """Record a delivery receipt (TEMPLATESENDJOBFINISH, subscribe_msg_sent_event) on its notification."""
    result = conn.execute(sa.update(notifications).where(notifications.c.platform_msg_id == platform_msg_id)
                          .values(receipt=receipt[:64], updated_at=now))
    return bool(result.rowcount)
