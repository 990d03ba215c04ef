"""Periodic sweeps that turn time passing into outbox rows."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bots.conversations.draft import Draft
from bots.conversations.states import Intake
from bots.replies import say
from tickets import clusters, notifications, outbox, petitions, progress, repository, warnings
from tickets.access import otp
from tickets.deadlines import policy as deadlines
from tickets.inbox import deferred
from tickets.inbox.message import Channel
from tickets.lifecycle import Status
from tickets.routing import catalogue, learned
from tickets.storage.schema import citizens, tickets

# WeChat allows customer-service messages for 48 hours after the citizen last wrote.
SERVICE_WINDOW = timedelta(hours=47)


log = logging.getLogger(__name__)

def remind_idle_drafts(conn: sa.Connection, now: datetime, *, idle_minutes: int) -> int:
    """Queue one reminder per draft with a description left idle, while the citizen can still be reached."""
    idle_since = now - timedelta(minutes=idle_minutes)
    rows = conn.execute(
        sa.select(citizens.c.id, citizens.c.dialog_data)
        .where(
            citizens.c.channel == Channel.WECHAT.value,
            citizens.c.dialog_state != Intake.IDLE.value,
            citizens.c.dialog_updated_at <= idle_since,
            citizens.c.draft_reminded_at.is_(None),
            citizens.c.following.is_(True),
            citizens.c.last_message_at >= now - SERVICE_WINDOW,
        )
        .limit(500)
    ).all()
    reminded = 0
    for row in rows:
        draft = Draft.from_data(dict(row.dialog_data or {}))
        if not draft.description:
            continue
        text = say("draft_reminder", description=draft.description).text
        outbox.put(conn, outbox.Topic.PUSH_TEXT, {"citizen_id": row.id, "text": text, "purpose": "draft_reminder"},
                   now)
        conn.execute(sa.update(citizens).where(citizens.c.id == row.id).values(draft_reminded_at=now))
        reminded += 1
    return reminded


def forget_unanswered(conn: sa.Connection, now: datetime) -> int:
    """Drop the words of deferred messages no job could answer within WeChat's customer-service window."""
    forgotten = deferred.give_up(conn, now - SERVICE_WINDOW - timedelta(hours=1), now)
    if forgotten:
        log.warning("%d deferred messages could not be answered within 48 hours; their text is dropped", forgotten)
    return forgotten


def follow_up_evaluations(conn: sa.Connection, now: datetime, *, remind_days: int) -> tuple[int, int]:
    """Resolved tickets nobody rated: ask once more after `remind_days`, close after as long again.

    Returns (asked again, closed).
    """
    due = now - timedelta(days=remind_days)
    rows = conn.execute(
        sa.select(tickets.c.id, tickets.c.evaluation_asks).where(
            tickets.c.status == Status.RESOLVED.value, tickets.c.evaluation_asked_at <= due,
        ).limit(500)
    ).all()
    asked = closed = 0
    for row in rows:
        ticket = repository.get_ticket(conn, row.id)
        if row.evaluation_asks <= 1:
            if ticket.citizen_id is not None:  # the filer rates; co-signers were told it is resolved
                notifications.create(conn, citizen_id=ticket.citizen_id, purpose="evaluation_reminder",
                                     payload={"status": ticket.status.value, "at": now.isoformat()}, now=now,
                                     ticket_id=ticket.id)
                progress.expect_evaluation(conn, ticket.citizen_id, ticket.id)
            conn.execute(sa.update(tickets).where(tickets.c.id == row.id)
                         .values(evaluation_asked_at=now, evaluation_asks=2))
            asked += 1
        else:
            repository.change_status(conn, row.id, Status.CLOSED, actor="system",
                                     note="办结后未收到评价，工单自动结束", now=now)
            closed += 1
    return asked, closed


def watch_petitions(conn: sa.Connection, now: datetime, *, velocity: list[int], factor: float) -> tuple[int, int]:
    """Record expired petitions and raise velocity warnings; returns (expired, warnings raised)."""
    expired = petitions.expire_due(conn, now)
    raised = warnings.scan_velocity(conn, now, levels=velocity, factor=factor)
    otp.purge(conn, now)  # one-time codes past use: nothing kept longer than it serves
    return expired, len(raised)


def watch_deadlines(conn: sa.Connection, now: datetime, policy: deadlines.Policy) -> tuple[int, int]:
    """Give open tickets without a deadline one, then write due reminders and escalations (each once)."""
    deadlines.assign_missing(conn, policy, now)
    return deadlines.sweep(conn, now)


def gather_clusters(conn: sa.Connection, now: datetime, rule: clusters.ClusterRule) -> int:
    """Compare new tickets with recent open ones; clusters that grow raise warnings. Returns tickets compared."""
    return clusters.sweep(conn, rule, now)


def retrain_routing(engine: Engine, now: datetime, *, after: int) -> bool:
    """Train the routing model again once `after` officers' corrections arrived since the last one; the
    training runs outside any transaction (on SQLite a transaction would hold the write lock for seconds)."""
    with engine.connect() as conn:
        book = catalogue.current(conn)
        taught = learned.lessons(conn, book, after=after)
    if taught is None:
        return False
    model = learned.train(book, taught)
    with engine.begin() as conn:
        if catalogue.current(conn).version != book.version:
            return False  # the catalogue changed meanwhile: its own round trains for it
        learned.save(conn, book, model, taught, now)
    log.info("routing model retrained on %d corrections", taught.corrections)
    return True
