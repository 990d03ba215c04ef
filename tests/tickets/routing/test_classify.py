"""Classification and routing: clear cases, out-of-scope matters, learning from officers' corrections,
the stored figures and the dispatch handoff row, on both backends."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tickets import opening, progress
from tickets.lifecycle import Status
from tickets.opening import OpeningRules
from tickets.repository import NewTicket, Ticket
from tickets.routing import catalogue
from tickets.routing import store as routing_store
from tickets.routing.classify import classify, out_of_scope
from tickets.storage.schema import outbox, tickets

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
TZ = ZoneInfo("Asia/Shanghai")
BOOK = catalogue.load_file()
SAMPLE = Path(__file__).resolve().parents[2] / "data" / "routing_sample.jsonl"


def test_clear_cases() -> None:
    light = classify(BOOK, "小区门口的路灯坏了一个星期，晚上很黑，麻烦尽快修一下", "幸福路12号")
    assert (light.kind, light.zone, light.category, light.district) == ("help", "roads", "streetlight", "dongcheng")
    assert light.top_unit == "dongcheng_urban" and light.urgency == "high" and light.confidence >= 0.6
    reasons = light.recommendations[0].reasons
    assert {"kind": "rule", "category": "streetlight", "words": ["路灯", "灯坏"]} in reasons
    assert {"kind": "district", "district": "dongcheng", "word": "幸福路"} in reasons

    heat = classify(BOOK, "暖气一点都不热，家里只有十四度", "花园路3号院")
    assert (heat.zone, heat.top_unit) == ("winter_heating", "city_heat_co")
    assert [r.unit for r in heat.recommendations] == ["city_heat_co", "city_heating"]

    wages = classify(BOOK, "包工头拖欠我们农民工三个月工资", "北环路工地")
    assert (wages.kind, wages.zone, wages.top_unit) == ("complaint", "unpaid_wages", "beishan_hrss")
    assert "city_hrss" in [r.unit for r in wages.recommendations]

    ask = classify(BOOK, "请问法律援助怎么申请，家里经济困难请不起律师")
    assert (ask.kind, ask.zone, ask.top_unit, ask.district) == ("consultation", "legal_services", "city_legal_aid", "")
    assert classify(BOOK, "举报有人私搭乱建", "建设路").kind == "report"
    assert classify(BOOK, "建议增设一个公交站", "").kind == "suggestion"

    unplaced = classify(BOOK, "路灯不亮")  # every district's office fits: nobody is sure enough
    assert len(unplaced.recommendations) == 3 and unplaced.confidence < 0.6
    assert classify(BOOK, "你好").recommendations == ()


def test_out_of_scope_matters() -> None:
    assert out_of_scope(BOOK, "楼下饭店着火了，冒浓烟") == ("fire",)
    assert out_of_scope(BOOK, "楼道里堆满杂物，有火灾隐患，着火了怎么办") == ()  # a hazard: a report for us
    assert out_of_scope(BOOK, "工资的事我已经申请仲裁了，仲裁委已受理") == ("arbitration",)
    assert out_of_scope(BOOK, "这个纠纷法院已经立案了") == ("litigation",)
    assert out_of_scope(BOOK, "家里闻到煤气味，很大") == ("gas_leak",)
    assert classify(BOOK, "有人晕倒了没有呼吸").urgency == "urgent"


def test_labelled_sample_is_large_varied_and_mostly_right() -> None:
    cases = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(cases) >= 200 and len({c["text"] for c in cases}) == len(cases)
    assert {c["type"] for c in cases} == set(BOOK.types) and len({c["unit"] for c in cases}) >= 30
    results = [classify(BOOK, c["text"], c["address"]) for c in cases]
    top1 = sum(r.top_unit == c["unit"] for r, c in zip(results, cases, strict=True)) / len(cases)
    top3 = sum(c["unit"] in [u.unit for u in r.recommendations] for r, c in zip(results, cases, strict=True))
    assert top1 >= 0.75 and top3 / len(cases) >= 0.85


def opened(engine: Engine, text: str, address: str, at: datetime = NOW) -> tuple[Ticket, dict[str, object]]:
    with engine.begin() as conn:
        new = NewTicket("wechat", None, text, address=address)
        ticket = opening.open_ticket(conn, new, OpeningRules(TZ), at, citizen_ref="oAbc***yz")
        routed = routing_store.routing_of(conn, ticket.id)
    assert routed is not None
    return ticket, routed


def test_a_correction_changes_the_next_recommendation(engine: Engine) -> None:
    text = "小区电梯三天两头坏，昨天又把人困在里面半个小时"
    first, before = opened(engine, text, "幸福路阳光小区")
    assert "dongcheng_market" not in [r["unit"] for r in before["recommendations"]]  # type: ignore[attr-defined]
    with engine.begin() as conn:  # the dispatch system reports the unit that took it, by name
        progress.apply_update(conn, first.id, progress.StatusUpdate(
            Status.DISPATCHED, actor="dispatch:city", unit="东城区市场监督管理局"), NOW)
        assert routing_store.final_unit(conn, first.id) == "dongcheng_market"
    _, after = opened(engine, "电梯又坏了，把人困在里面一个多小时", "建设路新城家园", NOW + timedelta(hours=1))
    top = after["recommendations"][0]  # type: ignore[index]
    assert top["unit"] == "xicheng_market"  # the same kind of office, in the new ticket's district
    similar = [r for r in top["reasons"] if r["kind"] == "similar"]
    assert similar and similar[0]["tickets"] == [first.id] and similar[0]["similarity"] > 0.3


def test_figures_count_top1_top3_and_auto_dispatch(engine: Engine) -> None:
    light, _ = opened(engine, "路灯坏了好几天，晚上很黑", "幸福路12号")
    heat, _ = opened(engine, "暖气不热，家里很冷", "花园路3号院")
    opened(engine, "路面塌陷一个大坑", "建设路")  # no final unit yet: not counted in accuracy
    with engine.begin() as conn:
        assert routing_store.record_unit(conn, light.id, "dongcheng_urban", actor="officer", now=NOW)
        assert not routing_store.record_unit(conn, light.id, "东城区城市管理局", actor="officer", now=NOW)
        assert routing_store.record_unit(conn, heat.id, "city_heating", actor="officer", now=NOW)
        figures = routing_store.figures(conn)
    assert figures["classified"] == 3 and figures["with_final_unit"] == 2
    assert (figures["top1"], figures["top3"], figures["top1_accuracy"], figures["top3_accuracy"]) == (1, 2, 0.5, 1.0)
    assert figures["auto_dispatched_and_kept"] == 1 and figures["auto_dispatch_rate"] == 0.5


def test_a_new_ticket_is_handed_to_dispatch_in_its_transaction(engine: Engine) -> None:
    ticket, routed = opened(engine, "冬天暖气不热，联系电话13812345678", "花园路3号院")
    with engine.connect() as conn:
        [row] = conn.execute(sa.select(outbox.c.topic, outbox.c.payload)).all()
        zone = conn.execute(sa.select(tickets.c.zone).where(tickets.c.id == ticket.id)).scalar_one()
    payload = row.payload
    assert row.topic == "dispatch.event" and payload["event"] == "ticket.created"
    assert payload["ticket_id"] == ticket.id and payload["number"] == ticket.number
    assert "13812345678" not in json.dumps(payload, ensure_ascii=False) and "138****5678" in payload["description"]
    assert payload["citizen"] == {"channel": "wechat", "ref": "oAbc***yz"}
    assert payload["recommendations"][0]["unit"] == "city_heat_co" and payload["auto_dispatch"] is True
    assert payload["unit"] == "city_heat_co" and payload["classification"]["zone"] == "winter_heating"
    assert payload["classification"]["catalogue_version"] == BOOK.version == routed["catalogue_version"]
    assert zone == "winter_heating"  # a hot-topic zone files the ticket there
