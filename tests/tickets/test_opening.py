"""One path opens every ticket: stored, filed under the chosen zone, classified, timed, handed over once."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tickets import opening
from tickets.deadlines import policy as deadlines
from tickets.opening import OpeningRules
from tickets.outbox import Topic
from tickets.repository import NewAttachment, NewTicket
from tickets.storage.schema import attachments, outbox, ticket_deadlines, ticket_routing, tickets

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
