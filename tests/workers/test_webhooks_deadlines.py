"""Deadline reminders and escalations leave through the outbox as signed webhooks, each once."""

from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.workers.conftest import Receiver
from tickets import repository
from tickets.clock import utcnow
from tickets.deadlines import policy as deadlines
from tickets.outbox import Topic
from tickets.repository import NewTicket
from tickets.settings import Settings
from tickets.storage.schema import outbox, ticket_deadlines
from workers import jobs, sweeps
from workers.context import WorkerContext
from workers.webhooks import sign


def test_overdue_ticket_escalated_once_as_signed_webhook(settings: Settings, engine: Engine, receiver: Receiver,
                                                         context: WorkerContext) -> None:
    settings.dispatch_webhook_url, settings.dispatch_webhook_secret = receiver.url + "/events", "s3cret"
    now = utcnow()
    policy = deadlines.policy_for(settings)
    with engine.begin() as conn:
        ticket = repository.open_ticket(conn, NewTicket("web", None, "供暖不热"), now - timedelta(days=30),
                                        ZoneInfo("Asia/Shanghai"))
        assert sweeps.watch_deadlines(conn, now, policy) == (0, 1)  # given a deadline, long past
    with engine.begin() as conn:
        assert sweeps.watch_deadlines(conn, now + timedelta(minutes=1), policy) == (0, 0)
        [row_id] = conn.execute(sa.select(outbox.c.id).where(outbox.c.topic == Topic.DEADLINE)).scalars()
    assert jobs.run_outbox_rows([row_id]) == {row_id: "done"}
    [(_, headers, body)] = receiver.received
    assert headers["X-Gateway-Signature"] == sign("s3cret", body)
    event = json.loads(body)
    assert event["event"] == "deadline.overdue" and event["ticket_id"] == ticket.id
    with engine.connect() as conn:
        assert conn.execute(sa.select(ticket_deadlines.c.escalated_at)).scalar_one() is not None
