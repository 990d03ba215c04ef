"""Shedding load before WeChat's deadline: a push that waited too long is answered at once with a short word
and completed by a job that replies by customer-service message, never lost or doubled (gateway/busy.py
LoopLag, bots/intake.py defer, workers/notify.py deferred_reply)."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from bots.fakes.wechat import FakeWeChat
from gateway.app import create_app
from gateway.busy import LoopLag
from tests.gateway.conftest import WeChatSide, run_jobs
from tickets import outbox as outbox_rows
from tickets.clock import utcnow
from tickets.errors import RetryLater
from tickets.inbox import deferred
from tickets.inbox.message import Channel, Consent, InboundMessage, Kind, Location, Media
from tickets.outbox import Topic
from tickets.settings import Settings
from tickets.storage.schema import deferred_messages, inbound_messages, outbox, push_nonces, tickets
from workers import sweeps
from workers.context import WorkerContext
from workers.notify import deferred_reply
from workers.relay import SHEDDING_WITHIN_S

OPENID = "oDeferred0001xyzABCDEF"
SHORT = "收到，稍后回复您。"


@pytest.fixture(autouse=True)
def shedding(settings: Settings) -> None:
    """The gateway's default (tests/conftest.py turns it off elsewhere); each test says how late the loop runs."""
    settings.wechat_answer_within_seconds = 2.0


@pytest.fixture
def fake(wechat_api: FakeWeChat) -> FakeWeChat:
    """WeChat's API on loopback, where the job sends its customer-service messages (tests/conftest.py)."""
    return wechat_api


def rows(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def shedding_ended(engine: Engine) -> None:
    """Time passes with no push deferred for lateness: those kept were kept longer ago than the relay looks back."""
    with engine.begin() as conn:
        for row in conn.execute(sa.select(deferred_messages.c.id, deferred_messages.c.created_at)).all():
            conn.execute(sa.update(deferred_messages).where(deferred_messages.c.id == row.id)
                         .values(created_at=row.created_at - timedelta(seconds=SHEDDING_WITHIN_S + 1)))


def test_a_late_push_gets_a_short_word_then_its_answer_once(settings: Settings, engine: Engine, wechat: WeChatSide,
                                                            fake: FakeWeChat) -> None:
    app = create_app(settings, run_jobs=False)
    lag = app.state.gateway.loop_lag
    lag.interval_s = 3600.0  # the ticker measures once an hour: the test says how late the loop runs
    with TestClient(app) as client:
        def post(query: dict[str, str], body: bytes) -> str:
            response = client.post("/webhooks/wechat", params=query, content=body)
            assert response.status_code == 200
            return wechat.open(response.content).get("Content", "")

        wechat.clock += 20
        assert "问题在哪里" in post(*wechat.seal(wechat.text(OPENID, "小区门口的路灯坏了"), OPENID))
        wechat.clock += 20
        place = wechat.seal(wechat.text(OPENID, "文化路80号"), OPENID)
        lag.lag_s = 2.5  # requests now wait 2.5 s for the event loop: over the 2 s the settings allow
        assert post(*place) == SHORT
        assert post(*place) == SHORT  # WeChat sending it again: kept once, one job
        assert (rows(engine, deferred_messages), rows(engine, inbound_messages)) == (1, 1)
        with engine.connect() as conn:
            kept = conn.execute(sa.select(deferred_messages)).one()
            [job] = conn.execute(sa.select(outbox.c.payload).where(outbox.c.topic == "citizen.deferred_message")).all()
        assert job.payload == {"deferred_id": kept.id}  # the job names the row: no openid or words in the outbox

        run_jobs(settings, engine).close()
        assert fake.texts_to(OPENID) == []  # the web is shedding load: the answer waits (workers/relay.py)
        shedding_ended(engine)
        context = run_jobs(settings, engine)
        [answer] = [m["text"] for m in fake.texts_to(OPENID)]
        assert "请核对" in answer and "文化路80号" in answer  # the step ran: the summary to confirm
        deferred_reply(context, {"deferred_id": kept.id})  # the job handed out again: nothing more is sent
        assert len(fake.texts_to(OPENID)) == 1
        with engine.connect() as conn:
            done = conn.execute(sa.select(deferred_messages)).one()
        assert done.answered_at is not None and done.message == {}  # the citizen's words are not kept twice
        context.close()

        lag.lag_s = 0.0
        assert post(*place) == answer  # a copy arriving later gets the same answer from the intake's dedupe
        wechat.clock += 20
        assert "工单号" in post(*wechat.seal(wechat.text(OPENID, "1"), OPENID))
    assert rows(engine, tickets) == 1 and rows(engine, inbound_messages) == 3


def test_a_retry_of_a_push_answered_too_slowly_gets_that_answer_by_message(settings: Settings, engine: Engine,
                                                                          wechat: WeChatSide,
                                                                          fake: FakeWeChat) -> None:
    app = create_app(settings, run_jobs=False)
    lag = app.state.gateway.loop_lag
    lag.interval_s = 3600.0
    with TestClient(app) as client:
        push = wechat.seal(wechat.text(OPENID, "楼下垃圾三天没人清运了"), OPENID)
        first = wechat.open(client.post("/webhooks/wechat", params=push[0], content=push[1]).content)["Content"]
        lag.lag_s = 4.0  # the answer came too late for WeChat, which retries into a stalled process
        retry = client.post("/webhooks/wechat", params=push[0], content=push[1])
        assert wechat.open(retry.content)["Content"] == SHORT
        shedding_ended(engine)
        run_jobs(settings, engine).close()
    assert [m["text"] for m in fake.texts_to(OPENID)] == [first]  # the answer WeChat never passed on
    assert rows(engine, inbound_messages) == 1


def test_a_citizen_writing_again_waits_behind_the_deferred_message(settings: Settings, engine: Engine,
                                                                  wechat: WeChatSide, fake: FakeWeChat) -> None:
    app = create_app(settings, run_jobs=False)
    lag = app.state.gateway.loop_lag
    lag.interval_s = 3600.0
    with TestClient(app) as client:
        def post(text: str) -> str:
            wechat.clock += 20
            query, body = wechat.seal(wechat.text(OPENID, text), OPENID)
            response = client.post("/webhooks/wechat", params=query, content=body)
            assert response.status_code == 200
            return wechat.open(response.content).get("Content", "")

        lag.lag_s = 2.5
        assert post("小区门口的路灯坏了") == SHORT
        lag.lag_s = 0.0  # the loop keeps up again, but the problem has not been read yet: the place waits behind it
        assert post("文化路80号") == SHORT
        assert (rows(engine, deferred_messages), rows(engine, inbound_messages)) == (2, 0)
        shedding_ended(engine)
        run_jobs(settings, engine).close()
        first, second = [m["text"] for m in fake.texts_to(OPENID)]
        assert "问题在哪里" in first and "请核对" in second and "文化路80号" in second  # read in the order written
        assert "工单号" in post("1")  # nothing waits any more: answered at once
        with engine.connect() as conn:
            assert conn.execute(sa.select(deferred_messages.c.user_id)).scalars().all() == [None, None]


def test_a_deferred_message_is_answered_after_the_citizens_earlier_one(settings: Settings, engine: Engine,
                                                                       wechat: WeChatSide, fake: FakeWeChat) -> None:
    app = create_app(settings, run_jobs=False)
    app.state.gateway.loop_lag.interval_s = 3600.0
    app.state.gateway.loop_lag.lag_s = 2.5
    with TestClient(app) as client:
        for text in ("小区门口的路灯坏了", "文化路80号"):
            wechat.clock += 20
            query, body = wechat.seal(wechat.text(OPENID, text), OPENID)
            assert wechat.open(client.post("/webhooks/wechat", params=query, content=body).content)["Content"] == SHORT
    with engine.connect() as conn:
        problem, place = conn.execute(sa.select(deferred_messages.c.id).order_by(deferred_messages.c.id)).scalars()
    context = WorkerContext.build(settings, engine)
    try:
        with pytest.raises(RetryLater):  # two workers took the two jobs: the place's waits for the problem's
            deferred_reply(context, {"deferred_id": place})
        assert fake.texts_to(OPENID) == []
        deferred_reply(context, {"deferred_id": problem})
        deferred_reply(context, {"deferred_id": place})
    finally:
        context.close()
    first, second = [m["text"] for m in fake.texts_to(OPENID)]
    assert "问题在哪里" in first and "文化路80号" in second


def test_the_last_attempt_answers_out_of_order_rather_than_never(settings: Settings, engine: Engine,
                                                                 fake: FakeWeChat) -> None:
    sent = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    messages = [InboundMessage(Channel.WECHAT, settings.wechat_app_id, OPENID, Kind.TEXT, str(n), sent, text=text)
                for n, text in enumerate(("小区门口的路灯坏了", "文化路80号"), start=1)]
    with engine.begin() as conn:
        for message in messages:
            assert deferred.keep(conn, message, sent, late=True)
        _, place = conn.execute(sa.select(deferred_messages.c.id).order_by(deferred_messages.c.id)).scalars()
    context = WorkerContext.build(settings, engine)
    try:
        deferred_reply(context, {"deferred_id": place}, final=True)  # the problem's job failed for hours
    finally:
        context.close()
    assert len(fake.texts_to(OPENID)) == 1


def test_events_that_get_no_reply_are_deferred_silently(settings: Settings, engine: Engine, wechat: WeChatSide,
                                                        fake: FakeWeChat) -> None:
    app = create_app(settings, run_jobs=False)
    app.state.gateway.loop_lag.interval_s = 3600.0
    app.state.gateway.loop_lag.lag_s = 3.0
    with TestClient(app) as client:
        query, body = wechat.seal(wechat.event(OPENID, "VIEW", "https://example.cn/menu"), OPENID)
        response = client.post("/webhooks/wechat", params=query, content=body)
        assert response.status_code == 200 and response.content == b"success"
        shedding_ended(engine)
        run_jobs(settings, engine).close()
    assert fake.texts_to(OPENID) == [] and rows(engine, inbound_messages) == 1


def test_answers_wait_while_the_web_sheds_load_and_no_longer_than_the_hold(settings: Settings, engine: Engine,
                                                                           wechat: WeChatSide,
                                                                           fake: FakeWeChat) -> None:
    """Each deferred answer is a whole intake step and a send: run while the web still defers, they take its CPU
    and write lock and its answers miss WeChat's deadline (benchmarks/overload.py). Other work goes on."""
    app = create_app(settings, run_jobs=False)
    app.state.gateway.loop_lag.interval_s = 3600.0
    app.state.gateway.loop_lag.lag_s = 2.5
    with TestClient(app) as client:
        for openid in (OPENID, "oDeferred0002xyzABCDEF"):
            wechat.clock += 20
            query, body = wechat.seal(wechat.text(openid, "小区门口的路灯坏了"), openid)
            assert wechat.open(client.post("/webhooks/wechat", params=query, content=body).content)["Content"] == SHORT
    with engine.begin() as conn:
        other = outbox_rows.put(conn, "unknown.topic", {"n": 1}, utcnow())  # any other work
        first = conn.execute(sa.select(sa.func.min(outbox.c.id)).where(outbox.c.topic == Topic.DEFERRED_MESSAGE)
                             ).scalar_one()
    run_jobs(settings, engine).close()
    assert fake.texts_to(OPENID) == []
    with engine.connect() as conn:  # only the deferred answers wait
        assert dict(conn.execute(sa.select(outbox.c.topic, outbox.c.status)).all()) == {
            "unknown.topic": "failed", Topic.DEFERRED_MESSAGE: "pending"}

    with engine.begin() as conn:  # the first was kept longer ago than the hold: it goes, though the web still sheds
        conn.execute(sa.update(outbox).where(outbox.c.id == first)
                     .values(created_at=utcnow() - timedelta(seconds=settings.deferred_hold_seconds + 1)))
    run_jobs(settings, engine).close()
    assert len(fake.texts_to(OPENID)) == 1 and fake.texts_to("oDeferred0002xyzABCDEF") == []

    shedding_ended(engine)
    run_jobs(settings, engine).close()
    assert len(fake.texts_to(OPENID)) == 1 and len(fake.texts_to("oDeferred0002xyzABCDEF")) == 1
    with engine.connect() as conn:
        assert conn.execute(sa.select(outbox.c.status).where(outbox.c.id != other)).scalars().all() == ["done"] * 2


def test_a_deferred_push_claims_its_nonce_once_and_a_copied_one_is_refused(settings: Settings, engine: Engine,
                                                                          wechat: WeChatSide) -> None:
    """On PostgreSQL a deferral is one statement with the nonce's row; a nonce seen before takes the transaction's
    way, where WeChat's retry is told from a copied signature (another message under the same nonce)."""
    app = create_app(settings, run_jobs=False)
    app.state.gateway.loop_lag.interval_s = 3600.0
    app.state.gateway.loop_lag.lag_s = 2.5
    with TestClient(app) as client:
        wechat.clock += 20
        push = wechat.seal(wechat.text(OPENID, "小区门口的路灯坏了"), OPENID, nonce="424242")
        copied = wechat.seal(wechat.text(OPENID, "楼下垃圾没人清运"), OPENID, nonce="424242")
        for query, body in (push, push):  # WeChat retrying: the same answer, kept once
            answer = client.post("/webhooks/wechat", params=query, content=body)
            assert answer.status_code == 200 and wechat.open(answer.content)["Content"] == SHORT
        refused = client.post("/webhooks/wechat", params=copied[0], content=copied[1])
        assert 400 <= refused.status_code < 500
    with engine.connect() as conn:
        [kept] = conn.execute(sa.select(deferred_messages)).all()
        [job] = conn.execute(sa.select(outbox.c.payload)).scalars().all()
        nonces = conn.execute(sa.select(sa.func.count()).select_from(push_nonces)).scalar_one()
    assert kept.late and kept.message["text"] == "小区门口的路灯坏了" and job == {"deferred_id": kept.id}
    assert nonces == 1


def test_only_messages_kept_for_lateness_say_the_web_sheds_load(engine: Engine) -> None:
    now = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    behind, late = (InboundMessage(Channel.WECHAT, "gh_x", OPENID, Kind.TEXT, str(n), now, text="路灯坏了")
                    for n in (1, 2))
    with engine.begin() as conn:
        assert deferred.keep(conn, behind, now, late=False)  # waiting behind an earlier one: no overload
        assert not deferred.shedding(conn, now, SHEDDING_WITHIN_S)
        assert deferred.keep(conn, late, now, late=True)
        assert deferred.shedding(conn, now + timedelta(seconds=1), SHEDDING_WITHIN_S)
        assert not deferred.shedding(conn, now + timedelta(seconds=SHEDDING_WITHIN_S + 1), SHEDDING_WITHIN_S)


def test_shedding_can_be_turned_off(settings: Settings, engine: Engine, wechat: WeChatSide) -> None:
    settings.wechat_answer_within_seconds = 0
    app = create_app(settings, run_jobs=False)
    app.state.gateway.loop_lag.lag_s = 30.0
    with TestClient(app) as client:
        query, body = wechat.seal(wechat.text(OPENID, "小区门口的路灯坏了"), OPENID)
        answer = client.post("/webhooks/wechat", params=query, content=body)
        assert "问题在哪里" in wechat.open(answer.content)["Content"]
    assert rows(engine, deferred_messages) == 0


def test_the_lag_is_how_late_the_loop_runs_what_is_ready() -> None:
    async def scenario() -> tuple[float, float, float, float]:
        lag = LoopLag(interval_s=0.05)
        ticker = asyncio.create_task(lag.run())
        await asyncio.sleep(0.12)
        calm = lag.current()
        time.sleep(0.4)  # a stall: everything that arrives meanwhile waits behind it
        during = lag.current()  # the ticker is overdue: known before it can wake
        await asyncio.sleep(0.01)
        measured = lag.lag_s
        await asyncio.sleep(0.2)
        ticker.cancel()
        return calm, during, measured, lag.current()

    # A loop of its own in a thread of its own: other tests' clients may keep one running in this thread.
    with ThreadPoolExecutor(1) as pool:
        calm, during, measured, after = pool.submit(asyncio.run, scenario()).result()
    assert calm < 0.1 and during >= 0.3 and measured >= 0.3 and after < 0.1


def test_a_message_survives_being_kept_for_later() -> None:
    message = InboundMessage(Channel.WECHAT, "gh_x", OPENID, Kind.LOCATION, "123456789",
                             datetime(2026, 12, 7, 8, 0, tzinfo=UTC), text="就在这儿",
                             media=Media("m1", "https://x.cn/1.jpg", "jpg"),
                             location=Location(34.75, 113.62, "文化路", 15),
                             event_key="k", consents=(Consent("T1", "accept"),), raw_type="location",
                             extra={"a": 1}, dropped=("video",))
    assert InboundMessage.from_data(message.to_data()) == message


def test_a_message_no_job_could_answer_is_dropped_after_the_service_window(engine: Engine) -> None:
    message = InboundMessage(Channel.WECHAT, "gh_x", OPENID, Kind.TEXT, "987654321",
                             datetime(2026, 12, 7, 8, 0, tzinfo=UTC), text="我的电话13912345678，路灯坏了")
    kept_at = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    with engine.begin() as conn:
        assert deferred.keep(conn, message, kept_at, late=True)
        [deferred_id] = conn.execute(sa.select(deferred_messages.c.id)).scalars().all()
        assert sweeps.forget_unanswered(conn, kept_at + timedelta(hours=47)) == 0  # a job may still answer
        assert sweeps.forget_unanswered(conn, kept_at + timedelta(hours=49)) == 1
        assert deferred.waiting(conn, deferred_id) is None  # a job handed out now sends nothing
        assert conn.execute(sa.select(deferred_messages.c.message)).scalar_one() == {}
        assert sweeps.forget_unanswered(conn, kept_at + timedelta(hours=50)) == 0
