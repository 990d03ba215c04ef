"""tickets/notifications.py: a whole audience's notices written at once, each once per event and citizen."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tickets import notifications
from tickets.inbox.citizens import CitizenKey, lock_citizen
from tickets.outbox import Topic
from tickets.repository import NewTicket, open_ticket
from tickets.storage.schema import notifications as notifications_table
from tickets.storage.schema import outbox, ticket_events

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def test_an_audience_is_told_once_each_with_one_outbox_row_per_notice(engine: Engine) -> None:
    with engine.begin() as conn:
        people = [lock_citizen(conn, CitizenKey("wechat", "gh_x", f"o{n}"), NOW).id for n in range(5)]
        ticket = open_ticket(conn, NewTicket("wechat", people[0], "路灯不亮"), NOW, ZoneInfo("Asia/Shanghai"))
        event = conn.execute(sa.select(ticket_events.c.id).where(ticket_events.c.ticket_id == ticket.id)).scalar_one()
        audience = [(people[0], "evaluation"), *[(c, "cosigned_progress") for c in people[1:]],
                    (people[1], "cosigned_progress")]  # a co-signer who also follows is told once
        made = notifications.create_many(conn, audience, payload={"status": "resolved"}, now=NOW,
                                         ticket_id=ticket.id, event_id=event)
        again = notifications.create_many(conn, audience, payload={"status": "resolved"}, now=NOW,
                                          ticket_id=ticket.id, event_id=event)
        assert notifications.create_many(conn, [], payload={}, now=NOW) == []
        rows = conn.execute(sa.select(notifications_table.c.citizen_id, notifications_table.c.purpose,
                                      notifications_table.c.payload).order_by(notifications_table.c.id)).all()
        jobs = conn.execute(sa.select(outbox.c.payload).where(outbox.c.topic == Topic.NOTIFICATION)).scalars().all()
    assert len(made) == 5 and again == []
    assert sorted((r.citizen_id, r.purpose) for r in rows) == sorted(set(audience))
    assert all(r.payload == {"status": "resolved"} for r in rows)
    assert sorted(job["notification_id"] for job in jobs) == sorted(made)
