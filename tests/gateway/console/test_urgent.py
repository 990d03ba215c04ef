"""Urgent tickets in the console: open ones head the list with a 紧急 badge, a filter finds them, and the dashboard
counts the open ones."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.gateway.console.support import make_user, open_ticket, sign_in
from tickets.access.officers import UserRole
from tickets.clock import utcnow
from tickets.repository import Ticket
from tickets.settings import Settings
from tickets.storage.schema import tickets

BADGE = '<span class="badge-urgent">紧急</span>'


def _ticket(engine: Engine, settings: Settings, text: str, hours_ago: int, *, urgency: str = "normal",
            status: str = "received") -> Ticket:
    ticket = open_ticket(engine, settings, text, created_at=utcnow() - timedelta(hours=hours_ago))
    with engine.begin() as conn:
        conn.execute(sa.update(tickets).where(tickets.c.id == ticket.id).values(urgency=urgency, status=status))
    return ticket


def _rows(html: str) -> list[str]:
    """The list's body rows, top to bottom."""
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    return [row for row in re.split(r"<tr[ >]", body)[1:]]


def test_open_urgent_tickets_head_the_list_with_a_badge(client: TestClient, engine: Engine,
                                                        settings: Settings) -> None:
    make_user(engine, "reader", UserRole.VIEWER)
    old_urgent = _ticket(engine, settings, "井盖没了", 30, urgency="urgent")
    done_urgent = _ticket(engine, settings, "电线冒火花，已修好", 20, urgency="urgent", status="closed")
    older = _ticket(engine, settings, "垃圾没人收", 10)
    newest = _ticket(engine, settings, "路灯坏了", 1)
    sign_in(client, "reader")
    rows = _rows(client.get("/console/tickets").text)
    order = [next(t.number for t in (old_urgent, done_urgent, older, newest) if t.number in row) for row in rows]
    # The open urgent one first, however old; then the rest newest first, a finished urgent one among them.
    assert order == [old_urgent.number, newest.number, older.number, done_urgent.number]
    assert BADGE in rows[0] and BADGE in rows[3]  # an urgent ticket says so, open or finished
    assert BADGE not in rows[1] and BADGE not in rows[2]
    assert BADGE in client.get(f"/console/tickets/{old_urgent.id}").text.split("</h1>")[0]
    assert BADGE not in client.get(f"/console/tickets/{newest.id}").text


def test_the_urgency_filter_and_the_dashboard_count_of_open_urgent_tickets(
        client: TestClient, engine: Engine, settings: Settings) -> None:
    make_user(engine, "reader", UserRole.VIEWER)
    urgent = _ticket(engine, settings, "电梯困人", 3, urgency="urgent")
    also_urgent = _ticket(engine, settings, "井盖没了", 2, urgency="urgent", status="dispatched")
    _ticket(engine, settings, "燃气味，已处理", 2, urgency="urgent", status="resolved")
    normal = _ticket(engine, settings, "噪音", 1)
    sign_in(client, "reader")
    only_urgent = client.get("/console/tickets?urgency=urgent").text
    assert urgent.number in only_urgent and also_urgent.number in only_urgent and normal.number not in only_urgent
    assert 'value="urgent" selected' in only_urgent
    only_normal = client.get("/console/tickets?urgency=normal").text
    assert normal.number in only_normal and urgent.number not in only_normal
    unknown = client.get("/console/tickets?urgency=soon").text
    assert "已忽略：紧急程度" in unknown and urgent.number in unknown and normal.number in unknown
    board = client.get("/console/dashboard").text
    card = board.split("在办紧急工单")[1].split("</div>")[0]
    assert '<a href="/console/tickets?urgency=urgent&amp;open=1">2</a>' in card  # the resolved one is not open
    only_open = client.get("/console/tickets?urgency=urgent&open=1").text
    assert "共 2 条" in only_open and urgent.number in only_open and also_urgent.number in only_open
