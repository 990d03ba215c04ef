"""The console in Chinese: message types, actors, notice methods and recipients, the CSV export."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.gateway.console.support import make_user, open_ticket, sign_in
from tickets import notifications as notes
from tickets import petitions, progress
from tickets.access.officers import UserRole
from tickets.clock import utcnow
from tickets.inbox.citizens import CitizenKey, lock_citizen
from tickets.lifecycle import Status
from tickets.petitions import Signer, SurgeRule
from tickets.progress import StatusUpdate
from tickets.settings import Settings
from tickets.storage.schema import inbound_messages, notifications, tickets

FILER = "oConsoleCitizen01"
PHONE = "13912345678"


def test_ticket_page_names_kinds_actors_methods_and_one_masked_recipient_a_row(
        client: TestClient, engine: Engine, settings: Settings) -> None:
    make_user(engine, "ro", UserRole.VIEWER)
    ticket = open_ticket(engine, settings, "路灯不亮", openid=FILER)
    now = utcnow()
    with engine.begin() as conn:
        for n, (kind, payload) in enumerate((("text", {"kind": "text", "text": "路灯不亮"}),
                                             ("location", {"kind": "location", "location": {
                                                 "latitude": 34.7, "longitude": 113.6, "label": "文化路"}}))):
            conn.execute(sa.insert(inbound_messages).values(
                channel="wechat", account="gh_console", dedupe_key=f"m{n}", citizen_id=ticket.citizen_id, kind=kind,
                payload=payload, replies=[], ticket_id=ticket.id, received_at=ticket.created_at))
        cosigner = lock_citizen(conn, CitizenKey("sms", "", PHONE), now)
        petition, _ = petitions.start(conn, ticket.id, now=now, days=30)
        petitions.sign(conn, petition.id, Signer("sms:1", "sms", cosigner.id, consent=True), now=now,
                       surge=SurgeRule(), thresholds=[])
        progress.apply_update(conn, ticket.id, StatusUpdate(Status.ACCEPTED, actor="dispatch:city", note="已受理"), now)
        progress.apply_update(conn, ticket.id, StatusUpdate(Status.DISPATCHED, actor="console:zhang",
                                                            unit="城管局"), now)
        ids = conn.execute(sa.select(notifications.c.id).order_by(notifications.c.id)).scalars().all()
        notes.mark_sent(conn, ids[0], "customer_service", None, now)
        notes.mark_sent(conn, ids[1], "sms", None, now)
    assert len(ids) == 4  # two events, each told to the filer and the co-signer
    sign_in(client, "ro")
    page = client.get(f"/console/tickets/{ticket.id}").text
    for english in ("citizen:wechat", "dispatch:city", "console:zhang", "customer_service", ">text<", ">location<"):
        assert english not in page, english
    for chinese in ("市民（微信）", "派单系统（city）", "工作人员 zhang", "客服消息", "短信", ">文字<", ">位置<"):
        assert chinese in page, chinese
    rows = page.split('<table class="notifications">')[1].split("</table>")[0].split("<tr>")[2:]
    assert len(rows) == 4
    assert "反映人" in rows[0] and "oCon***01" in rows[0] and "已受理" in rows[0] and "客服消息" in rows[0]
    assert "联名人" in rows[1] and "139****5678" in rows[1] and "短信" in rows[1]
    assert "已转交承办单位" in rows[2] and "待发送" in rows[3]
    assert FILER not in page and PHONE not in page


def test_csv_speaks_chinese(client: TestClient, engine: Engine, settings: Settings) -> None:
    make_user(engine, "ro", UserRole.VIEWER)
    late = open_ticket(engine, settings, "工地夜间施工噪音", channel="alipay", openid="2088000000000001")
    with engine.begin() as conn:
        conn.execute(sa.update(tickets).where(tickets.c.id == late.id).values(
            zone="housing_delivery", unit="住建局", status="dispatched", expected_at=utcnow().replace(year=2020)))
    sign_in(client, "ro")
    header, row = client.get("/console/tickets.csv").content.decode("utf-8-sig").splitlines()
    assert header == "工单号,状态,渠道,专区,承办单位,提交时间,办理时限,预计办结,是否逾期,问题描述"
    cells = row.split(",")
    assert cells[:5] == [late.number, "已转交承办单位", "支付宝", "住房交付", "住建局"]
    assert cells[6] == cells[7] and cells[7].startswith("2020-") and cells[8] == "是"


def test_boards_name_zones_reasons_figures_and_officers(client: TestClient, engine: Engine,
                                                        settings: Settings) -> None:
    from tickets import warnings

    make_user(engine, "op", UserRole.OPERATOR)
    ticket = open_ticket(engine, settings, "小区暖气不热")
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(sa.update(tickets).where(tickets.c.id == ticket.id).values(zone="winter_heating"))
        petition, _ = petitions.start(conn, ticket.id, now=now, days=30, zone="winter_heating")
        petitions.sign(conn, petition.id, Signer("sms:x", "sms", name="李四", device="d1"), now=now,
                       surge=SurgeRule(per_block=10, per_device=0), thresholds=[])
        for level, subject in ((1, warnings.subject_of(petition.id)), (2, warnings.subject_of(petition.id))):
            warnings.raise_warning(conn, subject=subject, petition_id=petition.id, kind="threshold", level=level,
                                   zone="winter_heating", figures={"signers": 5, "threshold": 5}, now=now)
        first = conn.execute(sa.text("SELECT min(id) FROM warnings")).scalar_one()
        warnings.acknowledge(conn, first, by="console:op", note="已联系", now=now)
    sign_in(client, "op")
    board = client.get("/console/petitions").text
    one = client.get(f"/console/petitions/{petition.id}").text
    dashboard = client.get("/console/dashboard").text
    for page in (board, one, dashboard):
        assert "winter_heating" not in page and "console:op" not in page
    assert "冬季供暖" in board and "联名人数：5；阈值：5" in board and "工作人员 op" in board
    assert "同一设备短时间内联名过多" in one and "工作人员 op" in one
    assert "冬季供暖" in dashboard and "微信" in dashboard
