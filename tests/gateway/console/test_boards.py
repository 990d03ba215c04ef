"""The console's petitions board (signatures over time, review of flagged ones, warnings) and dashboard."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from gateway.console.stats import dashboard
from tests.gateway.console.support import csrf_of, make_user, open_ticket, sign_in
from tickets import petitions, progress, warnings
from tickets.access.officers import UserRole
from tickets.clock import utcnow
from tickets.lifecycle import Status
from tickets.petitions import Signer, SurgeRule
from tickets.progress import Satisfaction, StatusUpdate
from tickets.settings import Settings
from tickets.storage.schema import signatures, ticket_deadlines
from tickets.storage.schema import warnings as warnings_table


def _petition(engine: Engine, settings: Settings) -> tuple[int, int]:
    """A petition signed over five days, with one flagged signature and one warning; returns their ids."""
    ticket = open_ticket(engine, settings, "小区暖气不热")
    start = utcnow() - timedelta(days=5)
    with engine.begin() as conn:
        petition, _ = petitions.start(conn, ticket.id, now=start, days=30, title="暖气不热", zone="winter_heating")
        for i in range(5):
            petitions.sign(conn, petition.id, Signer(identity=f"wechat:{i}", channel="wechat", name=f"张三{i}"),
                           now=start + timedelta(days=i), surge=SurgeRule(), thresholds=[])
        petitions.sign(conn, petition.id, Signer(identity="sms:x", channel="sms", name="李四", device="d1"),
                       now=utcnow(), surge=SurgeRule(per_block=10, per_device=0), thresholds=[])
        flagged_id = conn.execute(sa.select(signatures.c.id).where(signatures.c.flagged.is_(True))).scalar_one()
        warnings.raise_warning(conn, subject=warnings.subject_of(petition.id), petition_id=petition.id,
                               kind="threshold", level=1, zone="winter_heating", figures={"signers": 5}, now=utcnow())
    return petition.id, int(flagged_id)


def test_petition_chart_review_and_masked_names(client: TestClient, engine: Engine, settings: Settings) -> None:
    make_user(engine, "op", UserRole.OPERATOR)
    make_user(engine, "boss", UserRole.ADMIN)
    petition_id, flagged_id = _petition(engine, settings)
    sign_in(client, "op")
    page = client.get(f"/console/petitions/{petition_id}")
    assert page.status_code == 200 and "<svg" in page.text and "<polyline" in page.text
    assert "每日累计联名人数" in page.text and "张*" in page.text and "张三0" not in page.text
    assert '<strong class="count">5</strong>' in page.text
    done = client.post(f"/console/petitions/{petition_id}/signatures/{flagged_id}/review",
                       data={"decision": "accept", "csrf": csrf_of(page.text)}, follow_redirects=False)
    assert done.headers["location"].endswith("done=accept")
    again = client.post(f"/console/petitions/{petition_id}/signatures/{flagged_id}/review",
                        data={"decision": "reject", "csrf": csrf_of(page.text)})
    assert "已审核过" in again.text and '<strong class="count">6</strong>' in again.text
    client.cookies.clear()
    sign_in(client, "boss")
    assert "张三0" in client.get(f"/console/petitions/{petition_id}").text


def test_warnings_are_acknowledged_by_operators_only(client: TestClient, engine: Engine, settings: Settings) -> None:
    make_user(engine, "ro", UserRole.VIEWER)
    make_user(engine, "op", UserRole.OPERATOR)
    _petition(engine, settings)
    with engine.connect() as conn:
        warning_id = conn.execute(sa.select(warnings_table.c.id)).scalar_one()
    sign_in(client, "ro")
    board = client.get("/console/petitions")
    assert "待确认的预警（1）" in board.text and "暖气不热" in board.text
    assert client.post(f"/console/warnings/{warning_id}/acknowledge",
                       data={"csrf": csrf_of(board.text), "note": "x"}).status_code == 403
    client.cookies.clear()
    sign_in(client, "op")
    board = client.get("/console/petitions")
    done = client.post(f"/console/warnings/{warning_id}/acknowledge",
                       data={"csrf": csrf_of(board.text), "note": "已联系供热公司"})
    assert done.status_code == 200 and "待确认的预警（0）" in done.text and "已联系供热公司" in done.text
    with engine.connect() as conn:
        assert conn.execute(sa.select(warnings_table.c.acknowledged_by)).scalar_one() == "console:op"


def test_dashboard_draws_the_figures(client: TestClient, engine: Engine, settings: Settings) -> None:
    make_user(engine, "ro", UserRole.VIEWER)
    late = open_ticket(engine, settings, "路灯不亮")
    done = open_ticket(engine, settings, "井盖松动", channel="alipay", openid="2088000000000002")
    now = utcnow()
    with engine.begin() as conn:
        progress.apply_update(conn, late.id, StatusUpdate(Status.DISPATCHED, "t", expected_at=now - timedelta(1)), now)
        progress.apply_update(conn, done.id, StatusUpdate(Status.DISPATCHED, "t", expected_at=now + timedelta(1)), now)
        progress.apply_update(conn, done.id, StatusUpdate(Status.RESOLVED, "t"), now)
        progress.evaluate(conn, done.id, channel="web", satisfaction=Satisfaction.SATISFIED, solved=True, reason="",
                          now=now)
    sign_in(client, "ro")
    page = client.get("/console/dashboard")
    assert page.status_code == 200 and page.text.count("<svg") == 4
    assert "每日诉求量（按渠道）" in page.text and "逾期" in page.text
    assert "100.0%" in page.text  # satisfied, and resolved before its expected date
    assert '<a href="/console/tickets?overdue=1">1</a>' in page.text
    assert '<rect' in page.text and "<title>" in page.text


def test_on_time_and_overdue_count_from_the_same_deadline(client: TestClient, engine: Engine,
                                                          settings: Settings) -> None:
    """The answer deadline (ticket_deadlines.due_at, else the expected date) decides both figures."""
    make_user(engine, "ro", UserRole.VIEWER)
    now = utcnow()
    in_time, too_late, open_late, no_deadline = (open_ticket(engine, settings, text, openid=f"oDeadline{i}")
                                                 for i, text in enumerate(("路灯不亮", "井盖松动", "垃圾没人清运",
                                                                           "树枝挡路")))
    with engine.begin() as conn:
        for ticket, hours in ((in_time, 5), (too_late, -5), (open_late, -1)):
            due = now + timedelta(hours=hours)
            conn.execute(sa.insert(ticket_deadlines).values(ticket_id=ticket.id, rule="test", due_at=due,
                                                            remind_at=due - timedelta(hours=1), created_at=now))
        # An expected date later than the deadline does not move the deadline.
        progress.apply_update(conn, open_late.id, StatusUpdate(Status.DISPATCHED, "t",
                                                               expected_at=now + timedelta(days=3)), now)
        for ticket in (in_time, too_late, no_deadline):
            progress.apply_update(conn, ticket.id, StatusUpdate(Status.ACCEPTED, "t"), now)
            progress.apply_update(conn, ticket.id, StatusUpdate(Status.RESOLVED, "t"), now)
    with engine.connect() as conn:
        figures = dashboard(conn, now, settings.tz, 14)
    assert figures.on_time == (1, 2)  # the ticket without any deadline is not counted
    assert figures.overdue_count == 1  # open_late: past its deadline, whatever the expected date says
    sign_in(client, "ro")
    page = client.get("/console/dashboard").text
    assert "50.0%" in page and "按时办结 1 件 / 有办理时限的已办结 2 件" in page


def test_the_board_says_a_petition_ended_with_its_ticket_and_an_operator_closes_one(
        client: TestClient, engine: Engine, settings: Settings) -> None:
    make_user(engine, "op", UserRole.OPERATOR)
    make_user(engine, "ro", UserRole.VIEWER)
    done_ticket = open_ticket(engine, settings, "井盖松动", openid="oBoard1")
    live_ticket = open_ticket(engine, settings, "路灯不亮", openid="oBoard2")
    with engine.begin() as conn:
        ended, _ = petitions.start(conn, done_ticket.id, now=utcnow(), days=30, title="井盖松动")
        live, _ = petitions.start(conn, live_ticket.id, now=utcnow(), days=30, title="路灯不亮")
        progress.apply_update(conn, done_ticket.id, StatusUpdate(Status.REJECTED, "t", note="不属于受理范围"),
                              utcnow())
    sign_in(client, "ro")
    board = client.get("/console/petitions").text
    assert "已结束（工单未予受理）" in board
    viewer_page = client.get(f"/console/petitions/{live.id}").text
    assert f"/console/petitions/{live.id}/close" not in viewer_page
    refused = client.post(f"/console/petitions/{live.id}/close", data={"csrf": csrf_of(viewer_page)})
    assert refused.status_code == 403
    client.cookies.clear()
    sign_in(client, "op")
    page = client.get(f"/console/petitions/{live.id}").text
    assert f'action="/console/petitions/{live.id}/close"' in page
    assert client.post(f"/console/petitions/{live.id}/close", data={"csrf": "0" * 64}).status_code == 403
    closed = client.post(f"/console/petitions/{live.id}/close", data={"csrf": csrf_of(page)},
                         follow_redirects=False)
    assert closed.status_code == 303
    assert closed.headers["location"].endswith(f"/console/petitions/{live.id}?done=closed")
    shown = client.get(closed.headers["location"]).text
    assert "已结束（工作人员结束）" in shown and "联名已结束" in shown and f"{live.id}/close" not in shown
    with engine.connect() as conn:
        after = petitions.get(conn, live.id)
    assert (after.status, after.closed_reason) == ("closed", "officer")
    assert f'action="/console/petitions/{ended.id}/close"' not in client.get(f"/console/petitions/{ended.id}").text
