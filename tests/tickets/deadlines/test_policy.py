"""Each new ticket gets a due time; the sweep reminds before it and escalates after it, each once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bots.conversations.desk import Desk, DeskConfig
from bots.conversations.draft import Draft
from tickets import progress, zones
from tickets.deadlines import policy as deadlines
from tickets.inbox.citizens import CitizenKey, lock_citizen
from tickets.lifecycle import Status
from tickets.outbox import Topic
from tickets.progress import StatusUpdate
from tickets.storage.schema import outbox, ticket_deadlines
from workers import sweeps

TZ = ZoneInfo("Asia/Shanghai")
CONFIG = DeskConfig(tz=TZ, public_base_url="https://gw.example.cn")
POLICY = deadlines.default_policy()
# Monday 9 March 2026, 10:00 in Shanghai.
T0 = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)


def open_ticket(engine: Engine, text: str = "小区路灯坏了", now: datetime = T0, user: str = "oA") -> int:
    with engine.begin() as conn:
        citizen = lock_citizen(conn, CitizenKey("wechat", "gh", user), now)
        return Desk(conn, CONFIG, now).open_ticket(citizen, Draft(description=text, address="幸福路1号")).id


def deadline_events(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(outbox.c.payload).where(outbox.c.topic == Topic.DEADLINE)
                            .order_by(outbox.c.id)).scalars()
        return [dict(r) for r in rows]


def test_new_ticket_is_due_by_the_default_rule(engine: Engine) -> None:
    ticket_id = open_ticket(engine)
    with engine.connect() as conn:
        row = conn.execute(sa.select(ticket_deadlines).where(ticket_deadlines.c.ticket_id == ticket_id)).one()
    # Default: 5 working days, reminded a day (1440 minutes) before.
    assert row.due_at == datetime(2026, 3, 16, 10, 0, tzinfo=TZ)
    assert row.remind_at == datetime(2026, 3, 15, 10, 0, tzinfo=TZ)
    assert row.rule == "/"


def test_zone_and_type_pick_a_shorter_deadline(engine: Engine) -> None:
    ticket_id = open_ticket(engine)
    with engine.begin() as conn:
        zones.set_zone(conn, ticket_id, "unpaid_wages")
        assert deadlines.assign(conn, ticket_id, POLICY, T0) == datetime(2026, 3, 12, 10, 0, tzinfo=TZ)
        due = deadlines.assign(conn, ticket_id, POLICY, T0, ticket_type_="consultation")
    assert due == datetime(2026, 3, 9, 11, 0, tzinfo=TZ)  # 1 working hour


def test_sweep_reminds_then_escalates_each_once(engine: Engine) -> None:
    quick = open_ticket(engine)
    slow = open_ticket(engine, "小区垃圾好几天没人清运", user="oB")
    with engine.begin() as conn:
        zones.set_zone(conn, quick, "winter_heating")
        deadlines.assign(conn, quick, POLICY, T0, ticket_type_="consultation")  # due 11:00, reminder 10:45
    with engine.begin() as conn:
        assert sweeps.watch_deadlines(conn, T0 + timedelta(minutes=30), POLICY) == (0, 0)
    with engine.begin() as conn:
        assert sweeps.watch_deadlines(conn, T0 + timedelta(minutes=50), POLICY) == (1, 0)
    with engine.begin() as conn:
        assert sweeps.watch_deadlines(conn, T0 + timedelta(minutes=55), POLICY) == (0, 0)
    with engine.begin() as conn:
        assert sweeps.watch_deadlines(conn, T0 + timedelta(minutes=61), POLICY) == (0, 1)
    with engine.begin() as conn:
        assert sweeps.watch_deadlines(conn, T0 + timedelta(hours=3), POLICY) == (0, 0)
    events = deadline_events(engine)
    assert [(e["event"], e["ticket_id"]) for e in events] == [(deadlines.REMINDER, quick),
                                                              (deadlines.ESCALATION, quick)]
    assert events[0]["due_at"] == datetime(2026, 3, 9, 3, 0, tzinfo=UTC).isoformat()
    assert events[0]["zone"] == "winter_heating" and events[0]["number"]
    with engine.connect() as conn:
        overdue, total = deadlines.list_deadlines(conn, deadlines.OVERDUE, T0 + timedelta(hours=3))
        soon, _ = deadlines.list_deadlines(conn, deadlines.DUE_SOON, T0 + timedelta(days=6, hours=1))
    assert total == 1 and overdue[0].ticket_id == quick and overdue[0].escalated_at is not None
    assert [d.ticket_id for d in soon] == [slow]


def test_resolved_tickets_are_not_chased_and_old_ones_get_a_deadline(engine: Engine) -> None:
    ticket_id = open_ticket(engine)
    with engine.begin() as conn:
        progress.apply_update(conn, ticket_id, StatusUpdate(Status.ACCEPTED, actor="unit"), T0)
        progress.apply_update(conn, ticket_id, StatusUpdate(Status.RESOLVED, actor="unit"), T0)
        conn.execute(sa.delete(ticket_deadlines))
        assert sweeps.watch_deadlines(conn, T0 + timedelta(days=30), POLICY) == (0, 0)
        assert conn.execute(sa.select(sa.func.count()).select_from(ticket_deadlines)).scalar_one() == 0
    reopened = open_ticket(engine, "又坏了", user="oC")
    with engine.begin() as conn:
        conn.execute(sa.delete(ticket_deadlines))
        assert deadlines.assign_missing(conn, POLICY, T0) == 1
        assert reopened in deadlines.due_of(conn, [reopened])


def test_a_new_due_time_rearms_the_reminders(engine: Engine) -> None:
    ticket_id = open_ticket(engine)
    with engine.begin() as conn:
        sweeps.watch_deadlines(conn, T0 + timedelta(days=10), POLICY)
    with engine.begin() as conn:
        zones.set_zone(conn, ticket_id, "housing_delivery")
        deadlines.assign(conn, ticket_id, POLICY, T0 + timedelta(days=10))
        row = conn.execute(sa.select(ticket_deadlines)).one()
    assert row.escalated_at is None and row.due_at == datetime(2026, 3, 12, 10, 0, tzinfo=TZ)
    with engine.begin() as conn:
        assert sweeps.watch_deadlines(conn, T0 + timedelta(days=10), POLICY) == (0, 1)
    assert len(deadline_events(engine)) == 2
