"""Joint petitions (联名) in the WeChat chat through `receive`, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bots.conversations.desk import DeskConfig
from bots.intake import receive
from bots.wechat import parse as wechat_parse
from qr.links import signer_for
from tests.bots.test_intake import T0, message
from tickets import petitions, warnings
from tickets.inbox.citizens import CitizenKey, find_citizen_id
from tickets.inbox.message import InboundMessage, Kind
from tickets.outbox import Topic
from tickets.petitions import Petition, Signer, SurgeRule
from tickets.storage.schema import citizens, outbox, signatures, tickets
from tickets.storage.schema import petitions as petition_rows

SECRET = "s" * 40
BASE = "https://gw.example.cn"
CONFIG = DeskConfig(tz=ZoneInfo("Asia/Shanghai"), public_base_url=BASE, draft_ttl_hours=72, secret_key=SECRET,
                    link_key_ids=("k1",), petition_days=30, warning_thresholds={"default": [2, 20, 50]},
                    surge=SurgeRule(10, 3))
REP, NEIGHBOUR = "oRep0001", "oNeighbour02"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "wechat"


def say(engine: Engine, msg: InboundMessage, now: datetime = T0) -> str:
    with engine.begin() as conn:
        replies = receive(conn, msg, CONFIG, now)
    return "\n".join(r.text for r in replies)


def text(engine: Engine, words: str, user: str = NEIGHBOUR, now: datetime = T0) -> str:
    return say(engine, message(text=words, user=user), now)


def scan(engine: Engine, petition: Petition, user: str = NEIGHBOUR, now: datetime = T0) -> str:
    return say(engine, message(Kind.SCAN, user=user, event_key=str(petition.wechat_scene)), now)


def file_ticket(engine: Engine, user: str = REP, description: str = "小区门口垃圾站夏天臭味严重") -> str:
    text(engine, description, user)
    text(engine, "幸福路1号", user)
    return text(engine, "1", user)


def the_petition(engine: Engine) -> Petition:
    with engine.connect() as conn:
        [petition], _ = petitions.list_petitions(conn)
    return petition


def started(engine: Engine) -> Petition:
    file_ticket(engine)
    assert "已为您发起联名" in text(engine, "联名", REP)
    return the_petition(engine)


def citizen_id(engine: Engine, user: str) -> int:
    with engine.connect() as conn:
        found = find_citizen_id(conn, CitizenKey("wechat", "gh_test", user))
    assert found is not None
    return found


def dialog_data(engine: Engine, user: str) -> dict[str, object]:
    with engine.connect() as conn:
        data = conn.execute(sa.select(citizens.c.dialog_data).where(citizens.c.external_id == user))
        return dict(data.scalar_one())


def card_jobs(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        cards = sa.select(outbox.c.payload).where(outbox.c.topic == Topic.PETITION_CARD)
        rows = conn.execute(cards.order_by(outbox.c.id))
        return [dict(r.payload) for r in rows]


def signature_rows(engine: Engine) -> list[sa.Row[tuple[object, ...]]]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(signatures).order_by(signatures.c.id)).all())


def count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_start_turns_the_latest_ticket_into_a_petition_and_queues_the_card(engine: Engine) -> None:
    opened = file_ticket(engine)
    assert "回复“联名”可请邻居一起签名" in opened
    reply = text(engine, "联名", REP)
    petition = the_petition(engine)
    link = signer_for(SECRET, ["k1"]).url(BASE, petition.id, petition.expires_at)
    assert f"事项：{petition.title}" in reply and "工单号：20261123-0001" in reply and "已有 1 人签名" in reply
    assert f"{link}\n" in reply and f"{link}/card.png" in reply and "二维码图片稍后会发到这里" in reply
    assert petition.representative_id == citizen_id(engine, REP) and petition.expires_at == T0 + timedelta(days=30)
    assert card_jobs(engine) == [{"petition_id": petition.id, "citizen_id": citizen_id(engine, REP)}]
    [signature] = signature_rows(engine)
    assert signature.consent is True and signature.citizen_id == citizen_id(engine, REP)
    assert signature.identity == petitions.identity_of(petitions.identity_key(SECRET), "wechat", REP)


def test_asking_again_resends_the_card_and_makes_no_second_petition(engine: Engine) -> None:
    petition = started(engine)
    again = text(engine, "联名", REP)
    assert "联名正在进行中" in again and "已为您发起" not in again
    assert "正在进行中" in text(engine, "发起联名 202611230001", REP)
    card = text(engine, "二维码", REP)
    assert "二维码图片稍后会发到这里" in card and "/card.png" in card
    assert "/card.png" in text(engine, "联名二维码", REP)
    assert count(engine, petition_rows) == 1
    assert [j["petition_id"] for j in card_jobs(engine)] == [petition.id] * 5
    assert the_petition(engine).signature_count == 1


def test_without_a_ticket_of_their_own_the_citizen_is_told_how_to_file_one(engine: Engine) -> None:
    reply = text(engine, "联名", REP)
    assert "请先把遇到的问题发给我们" in reply and "联名" in reply
    file_ticket(engine, user="oSomeoneElse")
    # Another citizen's ticket cannot be taken by its number.
    assert "没有找到您名下可以发起联名的工单 20261123-0001" in text(engine, "联名 20261123-0001", REP)
    assert "没有正在进行的联名" in text(engine, "二维码", REP)
    with engine.connect() as conn:
        assert petitions.list_petitions(conn)[1] == 0
    assert card_jobs(engine) == []
    # A closed ticket is not offered either.
    file_ticket(engine)
    with engine.begin() as conn:
        conn.execute(sa.update(tickets).where(tickets.c.number == "20261123-0002").values(status="closed"))
    assert "请先把遇到的问题发给我们" in text(engine, "联名", REP)


def test_scan_then_1_signs_with_progress_notices_and_raises_the_threshold(engine: Engine) -> None:
    petition = started(engine)
    asked = scan(engine, petition)
    assert f"“{petition.title}”" in asked and "已有1人签名" in asked and "回复“同意”签名" in asked
    assert dialog_data(engine, NEIGHBOUR)["cosign"] == {"petition_id": petition.id, "asked_at": T0.isoformat()}
    signed = text(engine, "1")
    assert "签名成功" in signed and "现在共有 2 人签名" in signed and "办理有进展时，我们会通知您" in signed
    assert "cosign" not in dialog_data(engine, NEIGHBOUR)
    neighbour = signature_rows(engine)[1]
    assert (neighbour.consent, neighbour.citizen_id, neighbour.channel) == (True, citizen_id(engine, NEIGHBOUR),
                                                                           "wechat")
    neighbour_id = citizen_id(engine, NEIGHBOUR)
    with engine.connect() as conn:
        assert neighbour_id in petitions.consenting_signers(conn, petition.ticket_id)
        found, total = warnings.list_warnings(conn)
    assert total == 1 and found[0].figures["threshold"] == 2  # the configured thresholds were applied


def test_scan_then_2_signs_without_notices(engine: Engine) -> None:
    petition = started(engine)
    scan(engine, petition)
    signed = text(engine, "２")  # full-width, as some keyboards type it
    assert "签名成功" in signed and "不会给您发进度通知" in signed
    neighbour = signature_rows(engine)[1]
    assert (neighbour.consent, neighbour.citizen_id) == (False, None)
    rep = citizen_id(engine, REP)
    with engine.connect() as conn:
        assert petitions.consenting_signers(conn, petition.ticket_id) == [rep]


def test_scan_then_0_or_cancel_signs_nothing(engine: Engine) -> None:
    petition = started(engine)
    scan(engine, petition)
    assert "您没有签名" in text(engine, "0")
    assert "cosign" not in dialog_data(engine, NEIGHBOUR)
    scan(engine, petition)
    assert "您没有签名" in text(engine, "取消")
    assert len(signature_rows(engine)) == 1 and the_petition(engine).signature_count == 1
    # Nothing pending any more: "1" is the intake's again.
    assert "回复“进度”查看办理情况" in text(engine, "1")


def test_signing_twice_in_chat_counts_once(engine: Engine) -> None:
    petition = started(engine)
    scan(engine, petition)
    answer = message(text="1", user=NEIGHBOUR)
    first = say(engine, answer)
    assert "签名成功" in first and say(engine, answer, T0 + timedelta(seconds=5)) == first  # WeChat's retry
    again = scan(engine, petition)
    assert "您已经签过名了" in again and "现在共有 2 人签名" in again
    assert "cosign" not in dialog_data(engine, NEIGHBOUR)
    # Two questions open at once (two phones, or signed on the web page meanwhile): the second answer is told.
    scan(engine, petition, user="oThird03")
    with engine.begin() as conn:
        identity = petitions.identity_of(petitions.identity_key(SECRET), "wechat", "oThird03")
        petitions.sign(conn, petition.id, Signer(identity, "wechat"), now=T0, surge=SurgeRule(), thresholds=[])
    assert "您已经签过名了" in text(engine, "1", "oThird03")
    assert the_petition(engine).signature_count == 3 and len(signature_rows(engine)) == 3
    assert "您已经签过名了" in scan(engine, petition, user=REP)  # the representative signed first


def test_closed_or_expired_petition_takes_no_signature(engine: Engine) -> None:
    petition = started(engine)
    scan(engine, petition)  # asked, but the representative ends it before the answer
    closed = text(engine, "结束联名", REP)
    assert "联名已结束" in closed and "最终共有 1 人签名" in closed
    over = text(engine, "1")
    assert "这件联名已经结束" in over and "不能再签名了" in over
    assert "已经结束" in scan(engine, petition, user="oThird03")
    assert "cosign" not in dialog_data(engine, "oThird03")
    assert len(signature_rows(engine)) == 1
    assert "已经结束" in text(engine, "联名", REP) and "不能再请邻居签名了" in text(engine, "联名", REP)
    assert "没有正在进行的联名" in text(engine, "二维码", REP)
    assert len(card_jobs(engine)) == 1  # only the first start sent a card


def test_expired_petition_takes_no_signature_even_before_the_sweep(engine: Engine) -> None:
    petition = started(engine)
    scan(engine, petition, now=T0 + timedelta(days=29, hours=12))  # asked, answered after the expiry
    later = T0 + timedelta(days=30, seconds=1)
    over = text(engine, "1", now=later)
    assert "这件联名已经到期" in over and "不能再签名了" in over
    assert "已经到期" in scan(engine, petition, user="oThird03", now=later)
    assert "没有正在进行的联名" in text(engine, "二维码", REP, later)
    assert len(signature_rows(engine)) == 1


def test_withdraw_the_signature_given_last_in_chat(engine: Engine) -> None:
    petition = started(engine)
    scan(engine, petition)
    text(engine, "1")
    withdrawn = text(engine, "撤销联名")
    assert "已为您撤销签名" in withdrawn and "现在共有 1 人签名" in withdrawn
    assert "没有找到您最近在这里签的联名" in text(engine, "撤销联名")
    scan(engine, petition)
    assert "现在共有 2 人签名" in text(engine, "2")  # signs again
    assert "现在共有 1 人签名" in text(engine, "撤销联名 20261123-0001")
    assert "没有找到您在工单 20261123-0001 联名中的签名" in text(engine, "撤销联名 20261123-0001")
    assert "发起人" in text(engine, "撤销联名 20261123-0001", REP)
    scan(engine, petition)
    text(engine, "1")
    text(engine, "结束联名", REP)
    assert "签名不能再撤销了" in text(engine, "撤销联名")
    assert [r.status for r in signature_rows(engine)] == ["signed", "signed"]
    assert the_petition(engine).signature_count == 2


def test_representative_closes_and_is_told_the_final_count(engine: Engine) -> None:
    petition = started(engine)
    for user in ("oA", "oB"):
        scan(engine, petition, user=user)
        text(engine, "1", user)
    closed = text(engine, "结束联名", REP)
    assert f"事项：{petition.title}" in closed and "最终共有 3 人签名" in closed
    assert the_petition(engine).status == "closed"
    assert "没有正在进行的联名" in text(engine, "结束联名", REP)
    assert "没有正在进行的联名" in text(engine, "结束联名", "oA")  # only the representative ends it


def test_following_through_the_petition_code_greets_and_asks(engine: Engine) -> None:
    petition = started(engine)
    xml = (FIXTURES / "event_subscribe_qrscene.xml").read_text(encoding="utf-8")
    xml = xml.replace("petition:P2024-0042", str(petition.wechat_scene)).replace("gh_0123456789ab", "gh_test")
    fields = wechat_parse.parse_xml(xml)
    follow = wechat_parse.normalise(fields)
    assert follow.kind is Kind.FOLLOW
    reply = say(engine, follow)
    assert reply.startswith("您好！邻居发起了联名反映") and "您愿意一起签名吗" in reply
    assert "签名成功" in text(engine, "1", follow.user_id)
    with engine.connect() as conn:
        assert conn.execute(sa.select(citizens.c.following).where(
            citizens.c.external_id == follow.user_id)).scalar_one() is True
    # A scene that is not a petition's, or one that is gone.
    assert "这里是12345市民服务" in say(engine, message(Kind.FOLLOW, user="oNew", event_key="poster:7"))
    assert "回复“进度”查看办理情况" in say(engine, message(Kind.SCAN, user="oNew", event_key="poster:7"))
    gone = say(engine, message(Kind.FOLLOW, user="oNew2", event_key="petition:999"))
    assert "没有找到这件联名" in gone


def test_a_pending_answer_comes_before_the_drafts_1_only_for_its_own_answers(engine: Engine) -> None:
    petition = started(engine)
    text(engine, "楼道灯坏了")
    assert "请核对" in text(engine, "光明路3号")
    scan(engine, petition)
    assert "签名成功" in text(engine, "1")  # the co-sign question was asked last: "1" answers it
    assert count(engine, tickets) == 1
    assert "工单号：20261123-0002" in text(engine, "1")  # the draft was kept and now goes in
    # Any other content drops the question and is handled as usual.
    scan(engine, petition, user="oThird03")
    assert "问题在哪里" in text(engine, "楼下施工太吵了", "oThird03")
    assert "cosign" not in dialog_data(engine, "oThird03")
    assert "请核对" in text(engine, "管城区紫荆山路5号", "oThird03")
    assert "工单号" in text(engine, "1", "oThird03")
    assert len(signature_rows(engine)) == 2
    # A question left unanswered for a day lapses.
    scan(engine, petition, user="oFourth04")
    assert "回复“进度”查看办理情况" in text(engine, "1", "oFourth04", T0 + timedelta(hours=25))
    assert len(signature_rows(engine)) == 2
