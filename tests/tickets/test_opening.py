"""One path opens every ticket: stored, filed under the chosen zone, classified, timed, handed over once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tickets import opening
from tickets.deadlines import policy as deadlines
from tickets.opening import OpeningRules
from tickets.outbox import Topic
from tickets.repository import NewAttachment, NewTicket
from tickets.storage.schema import attachments, outbox, ticket_deadlines, ticket_routing, tickets
from tickets.storage.schema import warnings as warnings_table

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # a Tuesday, 10:00 in the city


def test_a_zoned_request_is_filed_timed_and_handed_over_once_with_its_zone(engine: Engine) -> None:
    rules = OpeningRules(TZ, deadlines=deadlines.load_policy(TZ))
    new = NewTicket("open311", None, "小区门口的路灯坏了好几天", address="花园路12号",
                    attachments=(NewAttachment("image", url="https://example.cn/a.jpg"),))
    with engine.begin() as conn:
        ticket = opening.open_ticket(conn, new, rules, NOW, zone="unpaid_wages", citizen_ref="key:1")
    with engine.connect() as conn:
        assert conn.execute(sa.select(tickets.c.zone).where(tickets.c.id == ticket.id)).scalar_one() == "unpaid_wages"
        [deadline] = conn.execute(sa.select(ticket_deadlines).where(ticket_deadlines.c.ticket_id == ticket.id)).all()
        routed = sa.select(ticket_routing.c.kind).where(ticket_routing.c.ticket_id == ticket.id)
        kind = conn.execute(routed).scalar_one()
        events = conn.execute(sa.select(outbox.c.payload).where(outbox.c.topic == Topic.DISPATCH)).scalars().all()
        photos = conn.execute(sa.select(attachments.c.url).where(attachments.c.ticket_id == ticket.id)).scalars().all()
    expected = rules.deadlines.rule_for("unpaid_wages", kind)
    assert deadline.rule == expected.name and deadline.due_at == rules.deadlines.due(expected, NOW)
    assert len(events) == 1 and events[0]["ticket_id"] == ticket.id and events[0]["zone"] == "unpaid_wages"
    assert events[0]["due_at"] == deadline.due_at.isoformat()
    assert photos == ["https://example.cn/a.jpg"]


def test_an_urgent_danger_gets_the_clock_deadline_priority_and_a_warning(engine: Engine) -> None:
    rules = OpeningRules(TZ, deadlines=deadlines.load_policy(TZ))
    new = NewTicket("wechat", None, "小区门口的井盖没了，一个大窟窿，晚上有人差点掉进去", address="文化路80号")
    with engine.begin() as conn:
        ticket = opening.open_ticket(conn, new, rules, NOW, citizen_ref="oAbc***yz")
    with engine.connect() as conn:
        stored = conn.execute(sa.select(tickets.c.urgency).where(tickets.c.id == ticket.id)).scalar_one()
        due = conn.execute(sa.select(ticket_deadlines.c.due_at).where(ticket_deadlines.c.ticket_id == ticket.id))
        [event] = conn.execute(sa.select(outbox.c.payload).where(outbox.c.topic == Topic.DISPATCH)).scalars().all()
        [warning] = conn.execute(sa.select(warnings_table)).all()
        triage = conn.execute(sa.select(ticket_routing.c.triage).where(ticket_routing.c.ticket_id == ticket.id))
        kept = triage.scalar_one()
    assert stored == "urgent" and ticket.urgency == "urgent"
    assert due.scalar_one() == NOW + timedelta(hours=rules.safety.urgent_deadline_hours(""))  # nights count too
    assert event["priority"] == "urgent" and event["triage"]["concepts"] == ["manhole"]
    assert warning.subject == f"ticket:{ticket.id}" and warning.kind == "urgent"
    assert warning.figures["number"] == ticket.number
    assert kept["kind"] == "urgent" and kept["reasons"][0]["concept"] == "manhole"


def test_a_normal_request_is_normal_and_raises_nothing(engine: Engine) -> None:
    rules = OpeningRules(TZ, deadlines=deadlines.load_policy(TZ))
    new = NewTicket("wechat", None, "去年这里井盖丢过一次，现在想加个警示牌", address="文化路80号")
    with engine.begin() as conn:
        ticket = opening.open_ticket(conn, new, rules, NOW)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(warnings_table)).scalar_one() == 0
        [event] = conn.execute(sa.select(outbox.c.payload).where(outbox.c.topic == Topic.DISPATCH)).scalars().all()
    assert ticket.urgency == "normal" and event["priority"] == "normal"


def test_a_confidential_report_reaches_dispatch_without_any_number_of_the_reporter(engine: Engine) -> None:
    rules = OpeningRules(TZ, deadlines=deadlines.load_policy(TZ))
    new = NewTicket("phone", None, "有人开群租房，一套房住二十多个人\n来电号码：138 1234 5678", address="8号楼",
                    confidential=True)
    with engine.begin() as conn:
        opening.open_ticket(conn, new, rules, NOW, citizen_ref="138****5678")
    with engine.connect() as conn:
        [event] = conn.execute(sa.select(outbox.c.payload).where(outbox.c.topic == Topic.DISPATCH)).scalars().all()
    assert event["citizen"] == {"channel": "phone", "ref": "", "confidential": True}
    assert "138" not in event["description"] and "5678" not in event["description"]
    assert event["description"].endswith("来电号码：【已保密】")
