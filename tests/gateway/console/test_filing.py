"""电话登记: an officer files a call through the one opening path (triage, routing, deadline, dispatch, warning),
sees what to tell the caller, and a wrong form comes back with the officer's words kept."""

from __future__ import annotations

from html import unescape

import httpx
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.gateway.console.support import csrf_of, make_user, sign_in
from tickets.access.officers import UserRole
from tickets.outbox import Topic
from tickets.routing import store as routing_store
from tickets.safety import book
from tickets.storage.schema import outbox, ticket_deadlines, tickets
from tickets.storage.schema import warnings as warnings_table

MANHOLE = "小区门口的井盖没了，一个大窟窿，晚上有人差点掉进去"  # urgent: a danger the city must fix
SPARKS = "楼道里电线冒火花，噼里啪啦的"  # emergency: 119 first
COURT = "我那个案子法院已经立案了，下个月开庭"  # not ours: a court's
HEATING = "暖气不热，家里只有十五度"


def _form(client: TestClient) -> str:
    page = client.get("/console/tickets/new")
    assert page.status_code == 200
    return page.text


def _file(client: TestClient, **fields: str) -> httpx.Response:
    data = {"csrf": csrf_of(_form(client)), "address": "文化路80号", **fields}
    return client.post("/console/tickets/new", data=data, follow_redirects=False)


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(tickets)).scalar_one())


def _filed_id(response: httpx.Response) -> int:
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/console/tickets/") and location.endswith("?done=filed")
    return int(location.split("/")[-1].split("?")[0])


def test_an_urgent_call_is_filed_through_the_opening_path_and_the_caller_is_told(
        client: TestClient, engine: Engine) -> None:
    make_user(engine, "op", UserRole.OPERATOR)
    sign_in(client, "op")
    assert '<a href="/console/tickets/new">电话登记</a>' in client.get("/console/tickets").text
    form = _form(client)
    for field in ("description", "address", "phone", "zone", "confidential"):
        assert f'<label for="{field}"' in form, field
    ticket_id = _filed_id(_file(client, description=MANHOLE, phone="138 1234 5678", confidential="1"))
    with engine.connect() as conn:
        row = conn.execute(sa.select(tickets).where(tickets.c.id == ticket_id)).one()
        routed = routing_store.routing_of(conn, ticket_id)
        [event] = conn.execute(sa.select(outbox.c.payload).where(outbox.c.topic == Topic.DISPATCH)).scalars().all()
        [warning] = conn.execute(sa.select(warnings_table)).all()
        due = conn.execute(sa.select(ticket_deadlines.c.due_at).where(ticket_deadlines.c.ticket_id == ticket_id))
        assert due.scalar_one() is not None
    assert row.channel == "phone" and row.citizen_id is None and row.status == "received"
    assert row.urgency == "urgent" and row.confidential is True and row.address == "文化路80号"
    assert row.description == f"{MANHOLE}\n来电号码：13812345678"
    assert routed is not None and routed["triage"]["kind"] == "urgent" and routed["urgency"] == "urgent"
    assert event["ticket_id"] == ticket_id and event["channel"] == "phone" and event["priority"] == "urgent"
    assert event["citizen"] == {"channel": "phone", "ref": "", "confidential": True}  # 保密: no reference
    assert "13812345678" not in str(event) and "来电号码：【已保密】" in event["description"]  # not even masked
    assert warning.kind == "urgent" and warning.subject == f"ticket:{ticket_id}"

    page = client.get(f"/console/tickets/{ticket_id}?done=filed").text
    notice = page.split('id="filed"')[1].split("</section>")[0]
    assert "紧急" in notice and row.number in notice and row.tracking_code in notice
    assert f"https://gw.example.cn/t/{row.tracking_code}" in notice
    assert "请在井口周围放置醒目物品提醒行人车辆，不要靠近井口。" in notice  # what the chat would say
    assert "138****5678" in page and "13812345678" not in page  # an operator sees the number masked
    assert "市民（电话）" in page and "<td>电话</td>" in page and "电话登记的工单" in page
    assert 'id="filed"' not in client.get(f"/console/tickets/{ticket_id}").text  # said once, after filing


def test_an_emergency_call_gives_the_numbers_and_a_matter_for_a_court_its_referral(
        client: TestClient, engine: Engine) -> None:
    make_user(engine, "op", UserRole.OPERATOR)
    sign_in(client, "op")
    sparks = _filed_id(_file(client, description=SPARKS))
    notice = client.get(f"/console/tickets/{sparks}?done=filed").text.split('id="filed"')[1].split("</section>")[0]
    assert "请立即拨打 <strong>119</strong>（消防救援）" in notice
    assert book().services["119"].advice in notice
    court = _filed_id(_file(client, description=COURT))
    notice = client.get(f"/console/tickets/{court}?done=filed").text.split('id="filed"')[1].split("</section>")[0]
    assert book().referrals["court"] in notice and "请立即拨打" not in notice
    with engine.connect() as conn:
        urgency = dict(conn.execute(sa.select(tickets.c.id, tickets.c.urgency)).all())  # type: ignore[arg-type]
    assert urgency == {sparks: "urgent", court: "normal"}


def test_an_ordinary_call_keeps_its_zone_and_gives_dispatch_the_masked_number(
        client: TestClient, engine: Engine) -> None:
    make_user(engine, "boss", UserRole.ADMIN)
    sign_in(client, "boss")
    ticket_id = _filed_id(_file(client, description=HEATING, phone="0371-6123 4567", zone="winter_heating"))
    with engine.connect() as conn:
        row = conn.execute(sa.select(tickets).where(tickets.c.id == ticket_id)).one()
        [event] = conn.execute(sa.select(outbox.c.payload).where(outbox.c.topic == Topic.DISPATCH)).scalars().all()
        warned = conn.execute(sa.select(sa.func.count()).select_from(warnings_table)).scalar_one()
    assert row.zone == "winter_heating" and row.urgency == "normal" and row.confidential is False and warned == 0
    assert event["zone"] == "winter_heating" and event["citizen"]["ref"] == "0371****4567"
    page = client.get(f"/console/tickets/{ticket_id}?done=filed").text
    notice = page.split('id="filed"')[1].split("</section>")[0]
    assert row.tracking_code in notice and "还要告诉来电人" not in notice and "紧急" not in notice
    assert "来电号码：037161234567" in page  # an admin sees it whole


def test_a_viewer_cannot_file(client: TestClient, engine: Engine) -> None:
    make_user(engine, "ro", UserRole.VIEWER)
    sign_in(client, "ro")
    listing = client.get("/console/tickets").text
    assert "/console/tickets/new" not in listing
    assert client.get("/console/tickets/new").status_code == 403
    refused = client.post("/console/tickets/new", data={"csrf": csrf_of(listing), "description": MANHOLE,
                                                        "address": "文化路80号"})
    assert refused.status_code == 403 and "只读" in refused.text and _count(engine) == 0


def test_filing_needs_the_session_csrf_token(client: TestClient, engine: Engine) -> None:
    make_user(engine, "op", UserRole.OPERATOR)
    sign_in(client, "op")
    for data in ({}, {"csrf": "0" * 64}):
        response = client.post("/console/tickets/new", data={**data, "description": MANHOLE, "address": "文化路80号"})
        assert response.status_code == 403 and "安全校验" in response.text
    assert _count(engine) == 0


def test_a_wrong_form_comes_back_with_the_officers_words_and_files_nothing(
        client: TestClient, engine: Engine) -> None:
    make_user(engine, "op", UserRole.OPERATOR)
    sign_in(client, "op")
    empty = _file(client, description="  ", address="金水路1号<b>", phone="13812345678", zone="winter_heating",
                  confidential="1")
    assert empty.status_code == 400 and "请填写来电人反映的问题" in empty.text
    assert 'value="金水路1号&lt;b&gt;"' in empty.text and 'value="13812345678"' in empty.text  # kept, escaped
    assert 'value="winter_heating" selected' in empty.text and 'value="1" checked' in empty.text
    assert csrf_of(empty.text)  # the form again, ready to send
    for fields, message in (({"description": "长" * 2001}, "2000 字以内"),
                            ({"description": HEATING, "address": "路" * 201}, "200 字以内"),
                            ({"description": HEATING, "address": ""}, "请填写地点"),
                            ({"description": HEATING, "phone": "12345"}, "来电号码格式不对"),
                            ({"description": HEATING, "phone": "410105199001011234"}, "来电号码格式不对"),
                            ({"description": HEATING, "zone": "nowhere"}, "热点专区不存在")):
        response = _file(client, **fields)
        assert response.status_code == 400 and message in unescape(response.text), fields
    assert _count(engine) == 0
