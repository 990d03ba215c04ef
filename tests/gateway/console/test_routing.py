"""The console's ticket page shows the ticket's classification and recommended units with their reasons, and the
officer picks a unit of the routing catalogue (read through routing_of and the catalogue's units only)."""

from __future__ import annotations

import re
from html import unescape

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from bots.conversations.desk import Desk, DeskConfig
from bots.conversations.draft import Draft
from gateway.console.names import name_of
from tests.gateway.conftest import run_jobs
from tests.gateway.console.support import csrf_of, make_user, open_ticket, sign_in
from tickets import opening
from tickets.access.officers import UserRole
from tickets.clock import utcnow
from tickets.inbox.citizens import CitizenKey, lock_citizen
from tickets.opening import OpeningRules
from tickets.repository import NewTicket, Ticket
from tickets.routing import catalogue
from tickets.routing import store as routing_store
from tickets.routing.store import RoutingConfig
from tickets.settings import Settings
from tickets.storage.schema import tickets

LIGHT = "小区门口的路灯坏了一个星期，晚上很黑，麻烦尽快修一下"


def classified(engine: Engine, settings: Settings, text: str, address: str) -> tuple[Ticket, dict[str, object]]:
    with engine.begin() as conn:
        # No auto-dispatch: the officer decides.
        rules = OpeningRules(settings.tz, routing=RoutingConfig(auto_dispatch_confidence=1.0))
        ticket = opening.open_ticket(conn, NewTicket("wechat", None, text, address=address), rules, utcnow())
        routed = routing_store.routing_of(conn, ticket.id)
    assert routed is not None
    return ticket, routed


def section(html: str, heading_id: str) -> str:
    return html.split(f'id="{heading_id}"')[1].split("</section>")[0]


def options(html: str, select_id: str) -> list[str]:
    select = html.split(f'<select id="{select_id}"')[1].split("</select>")[0]
    return [unescape(v) for v in re.findall(r'<option value="([^"]*)"', select)]


def test_the_page_shows_type_zone_urgency_and_recommendations_with_reasons(
        client: TestClient, engine: Engine, settings: Settings) -> None:
    make_user(engine, "ro", UserRole.VIEWER)
    ticket, routed = classified(engine, settings, LIGHT, "幸福路12号")
    sign_in(client, "ro")
    page = client.get(f"/console/tickets/{ticket.id}").text
    facts = section(page, "facts")
    tz = settings.timezone
    for kind, value in (("ticket_type", routed["type"]), ("urgency", routed["urgency"]), ("zone", routed["zone"])):
        shown = name_of(tz, kind, str(value)) or "—"  # a request of no hot-topic zone
        assert f"<td>{shown}</td>" in facts, kind
    recommended = section(page, "routing")
    first = routed["recommendations"][0]  # type: ignore[index]
    assert first["name"] in recommended and "把握度" in recommended
    for reason in first["reasons"]:  # the words that matched, and the place word that put it in a district
        for word in [*reason.get("words", []), *([reason["word"]] if "word" in reason else [])]:
            assert f"“{word}”" in recommended, (reason, word)
    assert "—" not in facts.split("类型")[1].split("</tr>")[0]


def test_a_reason_of_a_kind_the_console_does_not_know_is_shown_with_its_fields(
        client: TestClient, engine: Engine, settings: Settings) -> None:
    from tickets.storage.schema import ticket_routing

    make_user(engine, "ro", UserRole.VIEWER)
    ticket, _ = classified(engine, settings, LIGHT, "幸福路12号")
    with engine.begin() as conn:
        conn.execute(sa.update(ticket_routing).where(ticket_routing.c.ticket_id == ticket.id).values(
            recommendations=[{"unit": "u1", "name": "新的单位", "score": 0.5,
                              "reasons": [{"kind": "map_area", "area": "第三网格", "distance_m": 120}]}]))
    sign_in(client, "ro")
    recommended = section(client.get(f"/console/tickets/{ticket.id}").text, "routing")
    assert "新的单位" in recommended and "map_area" in recommended and "第三网格" in recommended
    assert "120" in recommended


def test_the_officer_picks_a_catalogue_unit_recommended_ones_first(
        client: TestClient, engine: Engine, settings: Settings) -> None:
    make_user(engine, "op", UserRole.OPERATOR)
    ticket, routed = classified(engine, settings, LIGHT, "幸福路12号")
    with engine.connect() as conn:
        units = catalogue.current(conn).units
    sign_in(client, "op")
    page = client.get(f"/console/tickets/{ticket.id}").text
    recommended = [r["name"] for r in routed["recommendations"]]  # type: ignore[attr-defined]
    for select_id in ("reassign-unit", "status-unit"):
        names = [n for n in options(page, select_id) if n]
        assert names[:len(recommended)] == recommended and set(names) == {u.name for u in units.values()}
    assert '<input id="reassign-unit"' not in page and '<input id="status-unit"' not in page
    chosen = next(u for u in units.values() if u.name not in recommended)
    moved = client.post(f"/console/tickets/{ticket.id}/reassign", data={
        "unit": chosen.name, "csrf": csrf_of(page)}, follow_redirects=False)
    assert moved.headers["location"].endswith("done=reassign")
    refused = client.post(f"/console/tickets/{ticket.id}/reassign", data={
        "unit": "随手写的单位", "csrf": csrf_of(page)}, follow_redirects=False)
    assert refused.headers["location"].endswith("error=unit_unknown")
    with engine.connect() as conn:
        assert conn.execute(sa.select(tickets.c.unit).where(tickets.c.id == ticket.id)).scalar_one() == chosen.name
        assert routing_store.final_unit(conn, ticket.id) == chosen.id  # a lesson for the recommender
    again = client.get(f"/console/tickets/{ticket.id}").text
    assert f'<option value="{chosen.name}" selected>' in again.split('id="status-unit"')[1].split("</select>")[0]


def test_a_ticket_without_classification_says_so(client: TestClient, engine: Engine, settings: Settings) -> None:
    make_user(engine, "op", UserRole.OPERATOR)
    ticket = open_ticket(engine, settings, "公园长椅坏了")
    sign_in(client, "op")
    page = client.get(f"/console/tickets/{ticket.id}").text
    assert "没有自动分类" in section(page, "routing") and len(options(page, "reassign-unit")) > 10


def test_a_chat_ticket_waiting_for_its_routing_says_it_is_being_classified(client: TestClient, engine: Engine,
                                                                          settings: Settings) -> None:
    make_user(engine, "op", UserRole.OPERATOR)
    with engine.begin() as conn:
        citizen = lock_citizen(conn, CitizenKey("wechat", "gh_console", "oRouteLater1"), utcnow())
        draft = Draft(description="小区门口路灯坏了，晚上很黑",
                      location={"latitude": 34.75, "longitude": 113.62, "label": ""})
        ticket = Desk(conn, DeskConfig.from_settings(settings), utcnow()).open_ticket(citizen, draft, route_later=True)
    sign_in(client, "op")
    assert "正在自动分类" in section(client.get(f"/console/tickets/{ticket.id}").text, "routing")
    run_jobs(settings, engine).close()
    routed = section(client.get(f"/console/tickets/{ticket.id}").text, "routing")
    assert "正在自动分类" not in routed and "把握度" in routed
