"""Classification and routing: clear cases with their reasons, vague requests, learning from officers'
corrections, the stored figures and the dispatch handoff row, on both backends."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tickets import opening, places, progress
from tickets.lifecycle import Status
from tickets.opening import OpeningRules
from tickets.repository import NewTicket, Ticket
from tickets.routing import catalogue, learned
from tickets.routing import store as routing_store
from tickets.routing.classify import Classification, classify
from tickets.storage.schema import outbox, tickets
from workers import sweeps

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
TZ = ZoneInfo("Asia/Shanghai")
BOOK = catalogue.load_file()
MODEL = learned.base(BOOK)


def routed(text: str, address: str = "") -> Classification:
    place = places.place_of(f"{address} {text}")
    return classify(BOOK, MODEL.model, text, place, model_version=MODEL.version)


def test_clear_cases_with_their_reasons() -> None:
    light = routed("小区门口的路灯坏了一个星期，晚上很黑，麻烦尽快修一下", "金水区经三路12号")
    assert (light.kind, light.zone, light.category, light.district) == ("help", "", "urban_management", "金水区")
    assert light.top_unit == "jinshui_urban_management" and light.district_source == "named"
    reasons = light.recommendations[0].reasons
    assert {"kind": "keywords", "words": ["路灯"]} in reasons
    assert {"kind": "district", "district": "金水区", "source": "named"} in reasons
    assert len({r.kind for r in light.recommendations}) == 3  # three different kinds of body
    for recommendation in light.recommendations:  # what the model weighed is shown in words an officer reads
        for reason in recommendation.reasons:
            if reason["kind"] == "learned":
                assert all(len(w) >= 2 and w.isalpha() for w in reason["words"]), reason

    heat = routed("暖气一点都不热，家里只有十四度", "中原区建设路3号院")
    assert (heat.zone, heat.top_unit) == ("winter_heating", "heating")  # one heating company for the city

    wages = routed("包工头拖欠我们农民工三个月工资", "二七区大学路工地")
    assert (wages.kind, wages.zone, wages.top_unit) == ("complaint", "unpaid_wages", "erqi_labor_inspection")

    ask = routed("请问法律援助怎么申请，家里经济困难请不起律师")
    assert (ask.kind, ask.zone, ask.top_unit, ask.district) == ("consultation", "legal_services", "justice", "")
    assert routed("举报有人私搭乱建", "管城区紫荆山路").kind == "report"
    assert routed("建议在小区门口增设一个公交站").kind == "suggestion"


def test_an_unplaced_request_goes_to_the_city_body_and_a_vague_one_to_nobody() -> None:
    unplaced = routed("路灯不亮")
    assert unplaced.district == "" and unplaced.top_unit == "urban_management"
    for text in ("你好", "有个情况想反映一下", "我要投诉"):
        vague = routed(text)
        assert vague.vague and vague.recommendations == () and vague.confidence == 0.0, text


def test_the_place_decides_the_office_not_the_words() -> None:
    for address, unit in (("二七区大学路", "erqi_urban_management"), ("郑东新区商都路", "zhengdong_urban_management"),
                          ("新郑市中华路", "xinzheng_urban_management")):
        assert routed("路边井盖丢了好几天，晚上特别危险", address).top_unit == unit, address


def opened(engine: Engine, text: str, address: str, at: datetime = NOW) -> tuple[Ticket, dict[str, object]]:
    with engine.begin() as conn:
        new = NewTicket("wechat", None, text, address=address)
        ticket = opening.open_ticket(conn, new, OpeningRules(TZ), at, citizen_ref="oAbc***yz")
        found = routing_store.routing_of(conn, ticket.id)
    assert found is not None
    return ticket, found


def test_a_correction_changes_the_next_recommendation(engine: Engine) -> None:
    first, before = opened(engine, "小区电梯三天两头坏，物业一直拖着不修，昨天又把人困在里面半个小时",
                           "金水区农业路阳光小区")
    kinds = [r["kind"] for r in before["recommendations"]]  # type: ignore[attr-defined]
    assert kinds[0] != "housing_management"
    with engine.begin() as conn:  # the dispatch system reports the unit that took it, by name
        progress.apply_update(conn, first.id, progress.StatusUpdate(
            Status.DISPATCHED, actor="dispatch:city", unit="郑州市住房保障和房地产管理局"), NOW)
        assert routing_store.final_unit(conn, first.id) == "housing_management"
    _, after = opened(engine, "小区电梯三天两头坏，物业一直拖着不修，今天又困人了", "二七区大学路幸福小区",
                      NOW + timedelta(hours=1))
    top = after["recommendations"][0]  # type: ignore[index]
    assert top["kind"] == "housing_management"
    similar = [r for r in top["reasons"] if r["kind"] == "similar"]
    assert similar and similar[0]["tickets"] == [first.id] and similar[0]["similarity"] > 0.45


def test_figures_count_kinds_types_zones_and_auto_dispatch(engine: Engine) -> None:
    light, _ = opened(engine, "路灯坏了好几天，晚上很黑", "金水区经三路12号")
    heat, _ = opened(engine, "暖气不热，家里很冷", "中原区建设路3号院")
    hole, _ = opened(engine, "路面塌陷一个大坑", "二七区大学路")  # no final unit yet: not counted in accuracy
    with engine.begin() as conn:
        assert routing_store.record_unit(conn, light.id, "jinshui_urban_management", actor="officer", now=NOW)
        assert not routing_store.record_unit(conn, light.id, "金水区城市管理局", actor="officer", now=NOW)
        assert routing_store.record_unit(conn, heat.id, "郑州市住房保障和房地产管理局", actor="officer", now=NOW)
        routing_store.record_review(conn, light.id, type_="help", zone="", district="金水区")
        routing_store.record_review(conn, heat.id, type_="complaint", zone="winter_heating")
        routing_store.record_review(conn, hole.id, district="中原区")
        figures = routing_store.figures(conn, BOOK)
    assert figures["classified"] == 3 and figures["with_final_unit"] == 2
    assert (figures["top1"], figures["top1_accuracy"]) == (1, 0.5)
    assert figures["type_accuracy"] == 0.5 and figures["zone_accuracy"] == 1.0 and figures["district_accuracy"] == 0.5
    assert figures["auto_dispatched"] >= 2 and figures["auto_dispatch_precision"] == 0.5


def test_a_new_ticket_is_handed_to_dispatch_in_its_transaction(engine: Engine) -> None:
    ticket, found = opened(engine, "冬天暖气不热，联系电话13812345678", "中原区建设路3号院")
    with engine.connect() as conn:
        [row] = conn.execute(sa.select(outbox.c.topic, outbox.c.payload)).all()
        zone = conn.execute(sa.select(tickets.c.zone).where(tickets.c.id == ticket.id)).scalar_one()
    payload = row.payload
    assert row.topic == "dispatch.event" and payload["event"] == "ticket.created"
    assert payload["ticket_id"] == ticket.id and payload["number"] == ticket.number
    assert "13812345678" not in json.dumps(payload, ensure_ascii=False) and "138****5678" in payload["description"]
    assert payload["citizen"] == {"channel": "wechat", "ref": "oAbc***yz", "confidential": False}
    assert payload["recommendations"][0]["unit"] == "heating" and payload["auto_dispatch"] is True
    assert payload["unit"] == "heating" and payload["classification"]["zone"] == "winter_heating"
    assert payload["classification"]["catalogue_version"] == BOOK.version == found["catalogue_version"]
    assert found["district"] == "中原区" and found["district_source"] == "named"
    assert zone == "winter_heating"  # a hot-topic zone files the ticket there


def test_officers_corrections_retrain_the_model(engine: Engine) -> None:
    with engine.begin() as conn:
        before = learned.current(conn, BOOK)
        assert before.version == MODEL.version and not learned.retrain(conn, BOOK, NOW, after=1)  # nothing new
    ticket, _ = opened(engine, "小区门口的快递柜收费太贵了，取个快递还要交钱", "金水区农业路")
    with engine.begin() as conn:
        routing_store.record_unit(conn, ticket.id, "郑州市邮政管理局", actor="officer", now=NOW)
    assert not sweeps.retrain_routing(engine, NOW, after=2)  # one correction is not enough for two
    assert sweeps.retrain_routing(engine, NOW, after=1)  # trained outside the transaction that keeps it
    with engine.begin() as conn:
        after = learned.current(conn, BOOK)
    assert after.version != before.version
    with engine.begin() as conn:
        assert not learned.retrain(conn, BOOK, NOW, after=1)  # the same lesson is not learned twice
