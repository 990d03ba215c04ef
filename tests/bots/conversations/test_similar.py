"""Before confirming, the chat offers to follow a similar ticket nearby instead of filing it again."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bots.conversations.desk import DeskConfig
from bots.intake import receive
from tickets import progress, repository
from tickets.inbox.message import Channel, InboundMessage, Kind, Location
from tickets.lifecycle import Status
from tickets.progress import StatusUpdate
from tickets.storage.schema import notifications, ticket_followers, tickets

CONFIG = DeskConfig(tz=ZoneInfo("Asia/Shanghai"), public_base_url="https://gw.example.cn")
T0 = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)
_ids = itertools.count(1)


def send(engine: Engine, user: str, text: str = "", location: Location | None = None,
         now: datetime = T0) -> str:
    kind = Kind.LOCATION if location else Kind.TEXT
    msg = InboundMessage(channel=Channel.WECHAT, account="gh_test", user_id=user, kind=kind,
                         dedupe_key=f"s:{next(_ids)}", created_at=now, text=text, location=location)
    with engine.begin() as conn:
        return "\n".join(r.text for r in receive(conn, msg, CONFIG, now))


def file_first(engine: Engine) -> None:
    send(engine, "oFirst", "幸福小区3号楼门口的路灯坏了，晚上很黑，电话13812345678")
    send(engine, "oFirst", location=Location(34.75, 113.62, "幸福小区"))
    assert "工单号" in send(engine, "oFirst", "1")


def count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_follow_instead_of_filing(engine: Engine) -> None:
    file_first(engine)
    later = T0 + timedelta(hours=2)
    send(engine, "oSecond", "3号楼门口路灯不亮了，晚上很黑", now=later)
    summary = send(engine, "oSecond", location=Location(34.751, 113.621, "幸福小区东门"), now=later)
    assert "回复“提交”或“1”" in summary and "附近已有同一问题正在办理" in summary and "同一问题：路灯" in summary
    assert "20260309-0001" in summary and "已登记" in summary and "距您约" in summary
    assert "13812345678" not in summary and "138****5678" in summary  # the other citizen's number masked
    assert "附近已有同一问题" not in send(engine, "oSecond", "是昨晚开始的", now=later)  # not repeated
    followed = send(engine, "oSecond", "2", now=later)
    assert "您已关注工单 20260309-0001" in followed and "https://gw.example.cn/t/" in followed
    assert count(engine, tickets) == 1 and count(engine, ticket_followers) == 1
    # The draft was set aside: nothing to submit.
    assert "回复“进度”查看办理情况" in send(engine, "oSecond", "1", now=later)
    with engine.begin() as conn:
        progress.apply_update(conn, 1, StatusUpdate(Status.ACCEPTED, actor="unit", note="已派人维修"), later)
        told = conn.execute(sa.select(notifications.c.citizen_id)).scalars().all()
        second = repository.list_tickets(conn, repository.TicketFilter()).items[0].citizen_id
    assert len(told) == 2 and second in told


def test_going_on_files_as_usual(engine: Engine) -> None:
    file_first(engine)
    send(engine, "oSecond", "3号楼门口路灯不亮了，晚上很黑")
    assert "附近已有同一问题" in send(engine, "oSecond", location=Location(34.751, 113.621, "幸福小区东门"))
    assert "工单号：20260309-0002" in send(engine, "oSecond", "1")
    assert count(engine, ticket_followers) == 0
    assert "附近已有同一问题" not in send(engine, "oThird", "小区门口垃圾没人清理，很臭") + send(
        engine, "oThird", location=Location(34.751, 113.621, "幸福小区东门"))


def test_own_tickets_are_not_offered(engine: Engine) -> None:
    file_first(engine)
    send(engine, "oFirst", "3号楼门口路灯还是不亮，晚上很黑")
    assert "附近已有同一问题" not in send(engine, "oFirst", location=Location(34.75, 113.62, "幸福小区"))


def test_a_request_filed_moments_ago_and_not_routed_yet_is_offered_by_its_typed_place(engine: Engine) -> None:
    def at(minutes: int) -> datetime:
        return T0 + timedelta(minutes=minutes)

    send(engine, "oTyped1", "小区门口下水道堵了，污水漫到路上", now=at(0))
    send(engine, "oTyped1", "金水区农业路12号幸福小区东门", now=at(1))
    assert "工单号" in send(engine, "oTyped1", "1", now=at(2))  # routed by a worker after the commit: none here
    send(engine, "oTyped2", "下水道堵塞，脏水流得到处都是", now=at(3))
    summary = send(engine, "oTyped2", "农业路12号幸福小区", now=at(4))
    assert "附近已有同一问题正在办理" in summary and "20260309-0001" in summary
