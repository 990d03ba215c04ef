"""The intake conversation through `receive`, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bots.conversations.desk import DeskConfig
from bots.intake import receive
from tickets import repository
from tickets.inbox.message import Channel, InboundMessage, Kind, Location, Media
from tickets.lifecycle import Status
from tickets.storage.schema import attachments, citizens, inbound_messages, tickets

CONFIG = DeskConfig(tz=ZoneInfo("Asia/Shanghai"), public_base_url="https://gw.example.cn", draft_ttl_hours=72)
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
_ids = itertools.count(1)
_sent = [T0]


def message(kind: Kind = Kind.TEXT, user: str = "oUser123", *, gap_s: float = 30, **fields: object) -> InboundMessage:
    """A message sent `gap_s` after the one before (closer than 8 s they are one burst: one reply after)."""
    n = next(_ids)
    _sent[0] += timedelta(seconds=gap_s)
    return InboundMessage(channel=Channel.WECHAT, account="gh_test", user_id=user, kind=kind,
                          dedupe_key=f"m:{n}", created_at=_sent[0], **fields)  # type: ignore[arg-type]


def say(engine: Engine, msg: InboundMessage, now: datetime = T0) -> str:
    with engine.begin() as conn:
        replies = receive(conn, msg, CONFIG, now)
    return "\n".join(r.text for r in replies)


def count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_text_then_address_then_confirm_opens_one_ticket(engine: Engine) -> None:
    assert "问题在哪里" in say(engine, message(text="小区门口路灯坏了一个星期，晚上很黑"))
    summary = say(engine, message(text="金水区农业路12号幸福小区东门"))
    assert "路灯坏了" in summary and "农业路12号" in summary and "回复“提交”或“1”" in summary
    opened = say(engine, message(text="1"))
    assert "工单号：20261123-0001" in opened
    with engine.connect() as conn:
        [ticket] = repository.list_tickets(conn, repository.TicketFilter()).items
        assert f"https://gw.example.cn/t/{ticket.tracking_code}" in opened
        assert ticket.status is Status.RECEIVED
        assert ticket.address == "金水区农业路12号幸福小区东门"
        assert ticket.description == "小区门口路灯坏了一个星期，晚上很黑"
        assert [e.status_to for e in repository.timeline(conn, ticket.id)] == [Status.RECEIVED]


def test_photo_location_voice_are_gathered(engine: Engine) -> None:
    reply = say(engine, message(Kind.IMAGE, media=Media("MEDIA1", url="http://mmbiz/1.jpg")))
    assert "照片收到了" in reply and "什么问题" in reply
    assert say(engine, message(Kind.IMAGE, media=Media("MEDIA2", url="http://mmbiz/2.jpg"), gap_s=0)) == ""
    reply = say(engine, message(Kind.LOCATION, location=Location(34.75, 113.62, "郑州市金水区花园路")))
    assert "位置收到了" in reply
    reply = say(engine, message(Kind.VOICE, media=Media("VOICE1", format="amr"), text="井盖丢了，很危险。"))
    assert "紧急件" in reply and "工单号" in reply  # a missing manhole cover with its place: filed at once
    with engine.connect() as conn:
        [ticket] = repository.list_tickets(conn, repository.TicketFilter()).items
        kinds = sorted(a.kind for a in repository.ticket_attachments(conn, ticket.id))
    assert ticket.latitude == pytest.approx(34.75) and ticket.location_label == "郑州市金水区花园路"
    assert ticket.description == "井盖丢了，很危险。"
    assert kinds == ["image", "image", "voice"]


def test_long_text_is_cut_and_the_citizen_told(engine: Engine) -> None:
    first = say(engine, message(text="楼上漏水"))
    assert "内容有点长" not in first
    assert "内容有点长" not in say(engine, message(text="二七区大学路2号"))
    reply = say(engine, message(text="很" * 2100))
    assert reply.startswith("内容有点长") and "请核对" in reply
    say(engine, message(text="1"))
    with engine.connect() as conn:
        [ticket] = repository.list_tickets(conn, repository.TicketFilter()).items
    assert len(ticket.description) == 2000 and ticket.description.startswith("楼上漏水\n很")


def test_a_long_text_while_asked_for_the_place_is_more_description(engine: Engine) -> None:
    say(engine, message(text="物业不作为"))
    detail = "小区物业长期不打扫卫生，垃圾堆在楼道里发臭，业主多次反映都没有人管，希望有关部门督促物业整改，谢谢！"
    assert "具体地点" in say(engine, message(text=detail))  # asked again, pointing at the pin
    assert "请核对" in say(engine, message(text="金水区东风路28号院"))
    say(engine, message(text="1"))
    with engine.connect() as conn:
        [ticket] = repository.list_tickets(conn, repository.TicketFilter()).items
    assert ticket.address == "金水区东风路28号院" and ticket.description == f"物业不作为\n{detail}"


def test_voice_without_recognition_asks_for_text(engine: Engine) -> None:
    reply = say(engine, message(Kind.VOICE, media=Media("VOICE2", format="amr")))
    assert "没能听清" in reply and "文字" in reply


def test_retry_of_same_message_gets_same_answer_and_one_ticket(engine: Engine) -> None:
    say(engine, message(text="楼道灯坏了"))
    say(engine, message(text="中原区建设路3号院"))
    confirm = message(text="1")
    first = say(engine, confirm)
    again = say(engine, confirm, T0 + timedelta(seconds=5))
    assert first == again and "工单号" in first
    assert count(engine, tickets) == 1
    assert count(engine, inbound_messages) == 3


def test_cancel_tells_what_was_dropped(engine: Engine) -> None:
    say(engine, message(text="噪音扰民，每天晚上施工"))
    reply = say(engine, message(text="取消"))
    assert "已取消" in reply and "没有提交" in reply
    assert "没有正在填写" in say(engine, message(text="取消"))
    assert count(engine, tickets) == 0


def test_my_tickets_and_query_by_number(engine: Engine) -> None:
    say(engine, message(text="垃圾没人清运"))
    say(engine, message(text="管城区紫荆山路5号"))
    say(engine, message(text="1"))
    listing = say(engine, message(text="进度"))
    assert "20261123-0001" in listing and "已登记" in listing and "垃圾没人清运" in listing
    detail = say(engine, message(text="查询202611230001"))
    assert "当前状态：已登记" in detail and "垃圾没人清运" in detail
    # Another citizen cannot read it by number.
    assert "没有找到" in say(engine, message(text="20261123-0001", user="oOther"))


def test_commands_keep_the_draft(engine: Engine) -> None:
    say(engine, message(text="自来水发黄"))
    listing = say(engine, message(text="进度"))
    assert "还没有反映过" in listing and "自来水发黄”还没有提交" in listing and "还差地点" in listing
    assert "地点" in say(engine, message(text="您好"))
    assert "请核对" in say(engine, message(text="中原区建设路8号"))
    assert "请核对" in say(engine, message(text="您好"))


def test_stale_draft_is_kept_and_recalled(engine: Engine) -> None:
    say(engine, message(text="暖气不热，家里只有十五度"))
    later = T0 + timedelta(hours=80)
    reply = say(engine, message(text="二七区民主路1号"), later)
    assert "还没有提交" in reply and "暖气不热" in reply
    assert "工单号" in say(engine, message(text="1"), later)


def test_stale_draft_without_description_is_dropped_quietly(engine: Engine) -> None:
    say(engine, message(Kind.LOCATION, location=Location(34.7, 113.6, "某地")))
    reply = say(engine, message(text="路面塌陷"), T0 + timedelta(hours=80))
    assert "问题在哪里" in reply and "还没有提交" not in reply


def test_events(engine: Engine) -> None:
    assert "这里是12345市民服务" in say(engine, message(Kind.FOLLOW))
    assert "回复“进度”查看办理情况" in say(engine, message(Kind.MENU_CLICK, event_key="HELP"))
    assert say(engine, message(Kind.UNKNOWN, raw_type="miniprogrampage")) == ""
    assert say(engine, message(Kind.UNFOLLOW)) == ""
    with engine.connect() as conn:
        assert conn.execute(sa.select(citizens.c.following)).scalar_one() is False


def test_submit_without_place_asks_for_it(engine: Engine) -> None:
    say(engine, message(text="路边的垃圾桶满了好几天没人清"))
    assert "具体地点" in say(engine, message(text="1"))
    assert count(engine, tickets) == 0 and count(engine, attachments) == 0


def test_ticket_numbers_are_sequential_per_local_day(engine: Engine) -> None:
    for user in ("a", "b"):
        say(engine, message(text="小区门口的路灯不亮", user=user))
        say(engine, message(text="金水区农业路1号", user=user))
        say(engine, message(text="1", user=user))
    # 2026-11-23 16:30 UTC is already 11-24 in Shanghai.
    late = T0 + timedelta(hours=14, minutes=30)
    say(engine, message(text="小区门口的路灯不亮", user="c"), late)
    say(engine, message(text="金水区农业路1号", user="c"), late)
    assert "20261124-0001" in say(engine, message(text="1", user="c"), late)
    with engine.connect() as conn:
        numbers = sorted(conn.execute(sa.select(tickets.c.number)).scalars())
    assert numbers == ["20261123-0001", "20261123-0002", "20261124-0001"]
