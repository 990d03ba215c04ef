"""A request the chat files is routed by a worker after the commit, before its `ticket.created` event is posted:
once, with its deadline counted from when it was filed, the event still ahead of every later one about it."""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.bots.test_intake import T0, message, say
from tests.workers.conftest import Receiver
from tickets import opening, repository
from tickets.deadlines import policy as deadlines
from tickets.outbox import OutboxRow, Topic
from tickets.routing import store as routing_store
from tickets.settings import Settings
from tickets.storage.schema import outbox, ticket_deadlines, ticket_routing
from workers import jobs
from workers.context import WorkerContext
from workers.routing import complete_event


def file_wages(engine: Engine, user: str) -> int:
    say(engine, message(text="包工头拖欠我们十几个农民工三个月工资，电话13912345678", user=user), T0)
    say(engine, message(text="惠济区北环路龙湖苑工地", user=user), T0)
    assert "工单号" in say(engine, message(text="1", user=user), T0)
    with engine.connect() as conn:
        [ticket] = repository.list_tickets(conn, repository.TicketFilter()).items
    return ticket.id


def dispatch_rows(engine: Engine) -> list[tuple[int, dict[str, object]]]:
    with engine.connect() as conn:
        return [(r.id, dict(r.payload)) for r in conn.execute(
            sa.select(outbox.c.id, outbox.c.payload).where(outbox.c.topic == Topic.DISPATCH).order_by(outbox.c.id))]


def test_the_worker_routes_the_ticket_then_posts_its_event_ahead_of_a_later_one(
        settings: Settings, engine: Engine, receiver: Receiver, context: WorkerContext) -> None:
    settings.dispatch_webhook_url = receiver.url + "/events"
    ticket_id = file_wages(engine, "oWage02")
    reply = say(engine, message(text="工地门口现在还有人在堵着要钱", user="oWage02"), T0)  # a detail right after
    assert "补充" in reply
    [(created_id, stub), (later_id, later)] = dispatch_rows(engine)
    assert stub["routing"] == "pending" and later["event"] == "ticket.supplemented"
    assert jobs.run_outbox_rows([created_id, later_id]) == {created_id: "done", later_id: "done"}
    events = [json.loads(body) for _, _, body in receiver.received]
    assert [e["event"] for e in events] == ["ticket.created", "ticket.supplemented"]
    created = events[0]
    assert created["ticket_id"] == ticket_id and created["zone"] == "unpaid_wages"
    assert created["classification"]["type"] == "complaint" and created["unit"] in ("", "huiji_labor_inspection")
    assert [r["unit"] for r in created["recommendations"]][:1] == ["huiji_labor_inspection"]
    assert created["citizen"] == {"channel": "wechat", "ref": "oWag***02", "confidential": False}
    assert "13912345678" not in json.dumps(created, ensure_ascii=False)
    with engine.connect() as conn:
        [route] = conn.execute(sa.select(ticket_routing)).all()
        [due] = conn.execute(sa.select(ticket_deadlines)).all()
        ticket = repository.get_ticket(conn, ticket_id)
    assert (route.ticket_id, route.zone, route.kind, route.top_unit) == (ticket_id, "unpaid_wages", "complaint",
                                                                         "huiji_labor_inspection")
    # The deadline counts from when the citizen filed it (T0), not from when the worker routed it.
    policy = deadlines.policy_for(settings)
    assert due.due_at == policy.due(policy.rule_for("unpaid_wages", "complaint"), ticket.created_at)
    assert datetime.fromisoformat(created["due_at"]) == due.due_at
    [(_, kept), _] = dispatch_rows(engine)
    assert kept == created  # the row keeps the event it posted


def test_a_retried_event_is_routed_once_and_posted_the_same(settings: Settings, engine: Engine, receiver: Receiver,
                                                             context: WorkerContext) -> None:
    settings.dispatch_webhook_url = receiver.url + "/events"
    file_wages(engine, "oWage03")
    [(row_id, _)] = dispatch_rows(engine)
    receiver.status = 503  # dispatch is down: routed and kept, posted later
    assert jobs.run_outbox_rows([row_id])[row_id].startswith("retry")
    receiver.status = 200
    assert jobs.run_outbox_rows([row_id]) == {row_id: "done"}
    first, second = (json.loads(body) for _, _, body in receiver.received)
    assert first == second and first["classification"]["type"] == "complaint"
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(ticket_routing)).scalar_one() == 1


def test_without_a_dispatch_system_the_ticket_is_still_routed(settings: Settings, engine: Engine,
                                                                context: WorkerContext) -> None:
    settings.dispatch_webhook_url = ""
    ticket_id = file_wages(engine, "oWage04")
    [(row_id, _)] = dispatch_rows(engine)
    assert jobs.run_outbox_rows([row_id]) == {row_id: "done"}
    [(_, kept)] = dispatch_rows(engine)
    assert kept["ticket_id"] == ticket_id and kept["classification"]["type"] == "complaint"
    with engine.connect() as conn:
        assert conn.execute(sa.select(ticket_deadlines.c.ticket_id)).scalars().all() == [ticket_id]


def test_an_urgent_request_is_routed_at_once(engine: Engine) -> None:
    say(engine, message(text="楼下饭店着火了，冒浓烟，好多人被困", user="oFire02"), T0)
    assert "紧急件" in say(engine, message(text="二七区大学路12号", user="oFire02"), T0)
    [(_, created)] = dispatch_rows(engine)
    assert created["priority"] == "urgent" and "routing" not in created and created["classification"]


def test_a_unit_an_officer_gives_before_the_routing_is_kept_by_it(settings: Settings, engine: Engine,
                                                                   context: WorkerContext) -> None:
    settings.dispatch_webhook_url = ""
    ticket_id = file_wages(engine, "oWage05")
    with engine.begin() as conn:  # an officer is quicker than the worker
        assert routing_store.record_unit(conn, ticket_id, "jinshui_labor_inspection", actor="officer:op", now=T0)
    [(row_id, _)] = dispatch_rows(engine)
    assert jobs.run_outbox_rows([row_id]) == {row_id: "done"}
    with engine.connect() as conn:
        routed = routing_store.routing_of(conn, ticket_id)
    assert routed is not None and routed["final_unit"] == "jinshui_labor_inspection"
    assert routed["recommendations"][0]["unit"] == "huiji_labor_inspection"  # what the classifier said, kept


def test_a_review_before_the_routing_routes_the_ticket_at_once_and_is_kept(
        settings: Settings, engine: Engine, receiver: Receiver, context: WorkerContext) -> None:
    settings.dispatch_webhook_url = receiver.url + "/events"
    ticket_id = file_wages(engine, "oWage06")
    with engine.begin() as conn:  # an officer reviews the ticket before a worker routes it (the API's assignment)
        opening.route_now(conn, ticket_id, context.desk.opening, T0)
        routing_store.record_review(conn, ticket_id, type_="help", zone="", district="金水区")
    [(row_id, completed)] = dispatch_rows(engine)
    assert completed["event"] == "ticket.created" and completed["classification"]["type"] == "complaint"
    with engine.connect() as conn:
        [route] = conn.execute(sa.select(ticket_routing)).all()
    reviewed = (route.kind, route.final_type, route.final_zone, route.final_district)
    assert reviewed == ("complaint", "help", "-", "金水区")
    assert jobs.run_outbox_rows([row_id]) == {row_id: "done"}  # the worker only posts what the review completed
    [(_, _, body)] = receiver.received
    assert json.loads(body) == completed
    with engine.begin() as conn:  # routed once: a second review finds nothing to route
        opening.route_now(conn, ticket_id, context.desk.opening, T0)
        assert conn.execute(sa.select(sa.func.count()).select_from(ticket_routing)).scalar_one() == 1


def test_a_worker_holding_the_stub_posts_the_routing_a_review_made_meanwhile(
        settings: Settings, engine: Engine, context: WorkerContext) -> None:
    settings.dispatch_webhook_url = ""
    ticket_id = file_wages(engine, "oWage07")
    [(row_id, stub)] = dispatch_rows(engine)  # what a worker claimed, before the officer's review committed
    with engine.begin() as conn:
        opening.route_now(conn, ticket_id, context.desk.opening, T0)
    [(_, completed)] = dispatch_rows(engine)
    assert complete_event(context, OutboxRow(row_id, Topic.DISPATCH, stub, 0)) == completed
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(ticket_routing)).scalar_one() == 1
