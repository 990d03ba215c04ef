"""The chat tells an emergency where to call first and a matter for elsewhere where to go; an urgent request is
routed and handed to dispatch in the same transaction as its ticket, any other after the commit, its event's place
in the outbox kept (tests/workers/test_routing_later.py routes it), on both backends."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.bots.test_intake import message, say
from tickets import repository
from tickets.routing import store as routing_store
from tickets.storage.schema import outbox, ticket_deadlines, ticket_routing


def test_an_emergency_is_referred_at_once_and_the_place_files_it_urgent(engine: Engine) -> None:
    reply = say(engine, message(text="楼下饭店着火了，冒浓烟，好多人被困", user="oFire01"))
    assert reply.startswith("请立即拨打119") and "？" not in reply  # the number first, and no question
    reply = say(engine, message(text="二七区大学路12号", user="oFire01"))
    assert "119" not in reply and "紧急件" in reply and "工单号" in reply  # told once; the place files it
    with engine.connect() as conn:
        [ticket] = repository.list_tickets(conn, repository.TicketFilter()).items
        routed = routing_store.routing_of(conn, ticket.id)
    assert routed is not None and routed["urgency"] == "urgent" and routed["triage"]["kind"] == "emergency"
    assert ticket.urgency == "urgent" and "着火" in ticket.description


def test_a_case_in_court_is_told_where_to_go(engine: Engine) -> None:
    reply = say(engine, message(text="工程款纠纷法院已经立案了，还没开庭，想让你们催一下", user="oCourt1"))
    assert "法院" in reply and "没有登记" in reply
    assert "110" not in say(engine, message(text="我家暖气不热", user="oPlain1"))
    with engine.connect() as conn:
        assert repository.list_tickets(conn, repository.TicketFilter()).items == []


def test_a_confirmed_request_is_handed_to_dispatch_and_left_to_a_worker_to_route(engine: Engine) -> None:
    say(engine, message(text="包工头拖欠我们十几个农民工三个月工资，电话13912345678", user="oWage01"))
    say(engine, message(text="惠济区北环路龙湖苑工地", user="oWage01"))
    assert "工单号" in say(engine, message(text="1", user="oWage01"))
    with engine.connect() as conn:
        [ticket] = repository.list_tickets(conn, repository.TicketFilter()).items
        assert conn.execute(sa.select(ticket_routing)).all() == []  # routed by a worker, after the commit
        assert conn.execute(sa.select(ticket_deadlines)).all() == []
        payloads = [r.payload for r in conn.execute(sa.select(outbox.c.payload).where(
            outbox.c.topic == "dispatch.event"))]
    [created] = payloads
    assert created == {"event": "ticket.created", "ticket_id": ticket.id, "number": ticket.number,
                       "routing": "pending", "citizen_ref": "oWag***01"}
    assert ticket.urgency == "normal"
