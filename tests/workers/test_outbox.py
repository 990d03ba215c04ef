"""The outbox, the relay (in-process and through RQ on the real Redis) and the draft reminder,
delivered to the local fake of WeChat's API over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus
from sqlalchemy.engine import Engine

from bots.conversations.desk import DeskConfig
from bots.fakes.wechat import FakeWeChat
from bots.intake import receive
from tests.conftest import redis_url
from tickets import outbox
from tickets.clock import utcnow
from tickets.inbox.message import Channel, InboundMessage, Kind
from tickets.settings import Settings
from tickets.storage.schema import citizens
from tickets.storage.schema import outbox as outbox_table
from workers import jobs, sweeps
from workers.context import WorkerContext, install
from workers.relay import relay_once, rq_sink
from workers.runner import Loop

REDIS_URL = redis_url(14)


def write(engine: Engine, settings: Settings, text: str, n: int, openid: str = "oDraft01") -> None:
    msg = InboundMessage(Channel.WECHAT, "gh_x", openid, Kind.TEXT, f"m:{n}", utcnow(), text=text)
    with engine.begin() as conn:
        receive(conn, msg, DeskConfig(settings.tz, settings.public_base_url), utcnow())


def age_drafts(engine: Engine, minutes: int) -> None:
    """Let time pass for every draft: its last change moves `minutes` into the past."""
    with engine.begin() as conn:
        conn.execute(sa.update(citizens).values(dialog_updated_at=utcnow() - timedelta(minutes=minutes)))


def statuses(engine: Engine) -> list[tuple[str, str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(outbox_table.c.topic, outbox_table.c.status, outbox_table.c.attempts)
                            .order_by(outbox_table.c.id)).all()
    return [(r.topic, r.status, r.attempts) for r in rows]


def test_idle_draft_is_reminded_once_in_process(context: WorkerContext, engine: Engine, settings: Settings,
                                                fake: FakeWeChat) -> None:
    write(engine, settings, "小区电梯坏了三天了", 1)
    with engine.begin() as conn:
        assert sweeps.remind_idle_drafts(conn, utcnow(), idle_minutes=30) == 0  # not idle yet
    age_drafts(engine, 31)
    with engine.begin() as conn:
        assert sweeps.remind_idle_drafts(conn, utcnow(), idle_minutes=30) == 1
        assert sweeps.remind_idle_drafts(conn, utcnow(), idle_minutes=30) == 0  # once
    loop = Loop(context, sweep_every_s=3600)
    loop._last_sweep = float("inf")  # this test drives the sweep itself
    assert loop.tick() == 1
    [text] = [m["text"] for m in fake.texts_to("oDraft01")]
    assert "还没有提交" in text and "电梯坏了" in text
    assert statuses(engine) == [("citizen.push_text", "done", 0)]
    assert loop.tick() == 0


def test_platform_errors_are_retried_or_given_up(context: WorkerContext, engine: Engine, settings: Settings,
                                                 fake: FakeWeChat) -> None:
    write(engine, settings, "噪音扰民", 1, "oBusy")
    write(engine, settings, "占道经营", 2, "oGone")
    age_drafts(engine, 31)
    with engine.begin() as conn:
        assert sweeps.remind_idle_drafts(conn, utcnow(), idle_minutes=30) == 2
    fake.fail_next("custom/send", -1, "system error")
    fake.outside_window.add("oGone")
    assert Loop(context, sweep_every_s=3600).tick() == 2
    result = dict((r[0] + str(i), r[1:]) for i, r in enumerate(statuses(engine)))
    assert sorted(result.values()) == [("failed", 1), ("pending", 1)]
    with engine.connect() as conn:
        errors = sorted(conn.execute(sa.select(outbox_table.c.last_error)).scalars())
    assert errors[0].startswith("wechat -1") and errors[1].startswith("wechat 45015: response out of time limit")


@pytest.mark.redis
def test_rows_wait_while_redis_is_down_then_go_through_rq(context: WorkerContext, engine: Engine) -> None:
    with engine.begin() as conn:
        row = outbox.put(conn, "unknown.topic", {"x": 1}, utcnow())
        outbox.put(conn, "unknown.topic", {"x": 2}, utcnow())
    with pytest.raises(Exception, match="Error"):
        relay_once(engine, rq_sink("redis://127.0.0.1:1/0"))
    assert statuses(engine) == [("unknown.topic", "pending", 0)] * 2

    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    assert relay_once(engine, rq_sink(REDIS_URL)) == 2
    queue = Queue("gateway", connection=redis)
    [job] = queue.job_ids
    assert job.startswith(f"outbox-{row}-")
    assert relay_once(engine, rq_sink(REDIS_URL)) == 0  # queued rows are not queued twice
    SimpleWorker([queue], connection=redis).work(burst=True)
    # A topic with no handler is given up, with the reason on the row.
    assert statuses(engine) == [("unknown.topic", "failed", 1)] * 2
    redis.flushdb()
    redis.close()


@pytest.mark.redis
def test_a_round_of_rows_is_queued_as_jobs_of_equal_size(context: WorkerContext, engine: Engine) -> None:
    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    with engine.begin() as conn:
        ids = [outbox.put(conn, "unknown.topic", {"n": n}, utcnow()) for n in range(120)]
    assert relay_once(engine, rq_sink(REDIS_URL, per_job=100), batch=500) == 120
    jobs = [Job.fetch(job_id, connection=redis) for job_id in Queue("gateway", connection=redis).job_ids]
    # Two jobs of 60 for the workers to share, not 100 and 20; every row once, in the outbox's order.
    assert [len(job.args[0]) for job in jobs] == [60, 60]
    assert [row_id for job in jobs for row_id in job.args[0]] == ids
    redis.flushdb()
    redis.close()


@pytest.mark.redis
def test_jobs_lost_with_redis_are_handed_out_again_at_once(context: WorkerContext, engine: Engine) -> None:
    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    with engine.begin() as conn:
        for n in range(3):
            outbox.put(conn, "unknown.topic", {"n": n}, utcnow())
    sink = rq_sink(REDIS_URL)
    assert relay_once(engine, sink, stale_after_s=300) == 3
    assert relay_once(engine, sink, stale_after_s=300) == 0  # queued, and the queue holds them
    redis.flushdb()  # Redis restarted without persistence: the jobs are gone, the rows still say `queued`
    # Handed out again on the next round, not after the 300 s that make a row stale.
    assert relay_once(engine, sink, stale_after_s=300) == 3
    assert len(Queue("gateway", connection=redis).job_ids) == 1
    assert relay_once(engine, sink, stale_after_s=300) == 0
    # Another relay process starting up finds the marker and adopts it: nothing is handed out twice.
    assert relay_once(engine, rq_sink(REDIS_URL), stale_after_s=300) == 0
    SimpleWorker([Queue("gateway", connection=redis)], connection=redis).work(burst=True)
    assert statuses(engine) == [("unknown.topic", "failed", 1)] * 3
    redis.flushdb()
    redis.close()


def test_an_unexpected_error_in_one_row_does_not_stop_the_batch(context: WorkerContext, engine: Engine,
                                                                 settings: Settings, fake: FakeWeChat) -> None:
    from workers.jobs import run_outbox_rows
    write(engine, settings, "井盖松动", 1, "oOk")
    age_drafts(engine, 31)
    with engine.begin() as conn:
        sweeps.remind_idle_drafts(conn, utcnow(), idle_minutes=30)
        broken = outbox.put(conn, "citizen.push_text", {"text": "no citizen id"}, utcnow())  # KeyError
    with engine.connect() as conn:
        ids = list(conn.execute(sa.select(outbox_table.c.id).order_by(outbox_table.c.id)).scalars())
    outcomes = run_outbox_rows(ids)
    assert outcomes[broken] == "retry: unexpected KeyError"
    assert sorted(outcomes.values()) == ["done", "retry: unexpected KeyError"]
    assert len(fake.texts_to("oOk")) == 1


@pytest.mark.redis
def test_a_job_that_cannot_deliver_fails_in_rq_and_the_rows_say_why(settings: Settings, engine: Engine) -> None:
    from tests.workers.test_notify import citizen_with_ticket, update
    from tickets.lifecycle import Status
    from tickets.storage.schema import notifications

    # A worker without WeChat's AppSecret, as every dev worker was: the fake's secret lived only in `serve`.
    context = WorkerContext.build(settings, engine)
    assert context.wechat is None
    install(context)
    _, ticket_id = citizen_with_ticket(engine, "oNoSender")
    update(engine, ticket_id, Status.ACCEPTED, "已受理")
    redis = Redis.from_url(REDIS_URL)
    redis.flushdb()
    assert relay_once(engine, rq_sink(REDIS_URL)) == 1
    queue = Queue("gateway", connection=redis)
    [job_id] = queue.job_ids
    # One job as a worker runs it (`work()` would also subscribe to RQ's pub/sub, whose thread may take 60 s to end).
    SimpleWorker([queue], connection=redis).execute_job(Job.fetch(job_id, connection=redis), queue)
    job = Job.fetch(job_id, connection=redis)
    assert job.get_status() == JobStatus.FAILED  # RQ saw the failure: no "Job OK"
    assert "wechat sender not configured" in (job.latest_result().exc_string or "")  # type: ignore[union-attr]
    with engine.connect() as conn:
        row = conn.execute(sa.select(outbox_table.c.status, outbox_table.c.last_error)).one()
        note = conn.execute(sa.select(notifications.c.status, notifications.c.last_error)).one()
    assert row.status == "failed" and "wechat sender not configured" in row.last_error
    assert note.status == "failed" and "wechat sender not configured" in note.last_error
    context.close()
    redis.flushdb()
    redis.close()


def test_a_text_push_is_done_as_soon_as_it_is_sent(context: WorkerContext, engine: Engine, settings: Settings,
                                                   fake: FakeWeChat) -> None:
    """A customer-service text keeps no receipt of its own (WeChat does not drop a repeat of it): its row is done right
    after its send, not with the rest of its job, so a worker killed later in that job does not send it again."""
    write(engine, settings, "小区电梯坏了三天了", 1)
    age_drafts(engine, 31)
    with engine.begin() as conn:
        sweeps.remind_idle_drafts(conn, utcnow(), idle_minutes=30)
        row_id = conn.execute(sa.select(outbox_table.c.id)).scalar_one()
        [row] = outbox.claim(conn, [row_id], utcnow())
    assert jobs._run(context, row) == "done"  # noqa: SLF001 - one row of a job, as its lane runs it
    # The worker dies here, before the job marks its rows done; the stale check finds nothing to hand out.
    assert statuses(engine) == [("citizen.push_text", "done", 0)]
    with engine.begin() as conn:
        assert outbox.claim(conn, [row_id], utcnow() + timedelta(hours=1), stale_after_s=0) == []
    assert len(fake.texts_to("oDraft01")) == 1
