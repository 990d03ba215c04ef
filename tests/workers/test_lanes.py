"""A job's rows in lanes (workers/jobs.py): a citizen's notices in order, lanes side by side when the platform
answers slowly, one after another when it answers at once; against the local fake of WeChat's API."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bots.fakes.wechat import FakeWeChat
from tests.workers.test_notify import citizen_with_ticket, update
from tickets.inbox import deferred
from tickets.inbox.message import Channel, InboundMessage, Kind
from tickets.lifecycle import Status
from tickets.settings import Settings
from tickets.storage.schema import deferred_messages, notifications
from tickets.storage.schema import outbox as outbox_table
from workers.context import WorkerContext
from workers.jobs import run_outbox_rows

CITIZENS = ("oLaneB", "oLaneA", "oLaneC", "oLaneD", "oLaneE", "oLaneF")


def news_for_everyone(engine: Engine) -> list[int]:
    """One progress notice for each citizen, and a second for oLaneA; the outbox rows' ids, oldest first."""
    tickets = {openid: citizen_with_ticket(engine, openid)[1] for openid in CITIZENS}
    for openid in CITIZENS:
        update(engine, tickets[openid], Status.ACCEPTED, f"{openid} 已受理")
    update(engine, tickets["oLaneA"], Status.RESOLVED, "oLaneA 已办结")
    with engine.connect() as conn:
        return list(conn.execute(sa.select(outbox_table.c.id).order_by(outbox_table.c.id)).scalars())


def test_slow_platform_runs_lanes_side_by_side_and_keeps_a_citizens_order(
        context: WorkerContext, engine: Engine, fake: FakeWeChat) -> None:
    context.settings.outbox_job_threads = 4
    ids = news_for_everyone(engine)
    assert len(ids) == len(CITIZENS) + 1
    fake.latency = 0.2
    started = time.perf_counter()
    outcomes = run_outbox_rows(ids)
    elapsed = time.perf_counter() - started
    assert set(outcomes.values()) == {"done"} and len(outcomes) == len(ids)
    # One after another: 7 sends of 0.2 s. The first lane alone (it shows the platform is slow), then five lanes on
    # four threads, oLaneA's two sends in turn: about 0.6 s.
    assert elapsed < 1.0, elapsed
    first, second = fake.texts_to("oLaneA")
    assert "已受理" in first["text"] and "已办结" in second["text"]
    assert (second["at"] - first["at"]).total_seconds() >= 0.15  # the second waited for the first to be answered
    for openid in CITIZENS:
        assert len(fake.texts_to(openid)) == (2 if openid == "oLaneA" else 1)
    with engine.connect() as conn:
        assert set(conn.execute(sa.select(notifications.c.status)).scalars()) == {"sent"}
        assert set(conn.execute(sa.select(outbox_table.c.status)).scalars()) == {"done"}


def test_one_thread_works_the_rows_in_the_outbox_order(context: WorkerContext, engine: Engine,
                                                       fake: FakeWeChat) -> None:
    context.settings.outbox_job_threads = 1
    ids = news_for_everyone(engine)
    fake.latency = 0.02
    assert set(run_outbox_rows(ids).values()) == {"done"}
    with fake._lock:  # noqa: SLF001 - the fake's own record, read whole
        order = [m["body"]["touser"] for m in fake.sent]
    assert order == [*CITIZENS, "oLaneA"]


def test_deferred_messages_are_answered_side_by_side_each_citizen_in_order(
        context: WorkerContext, settings: Settings, engine: Engine, fake: FakeWeChat) -> None:
    """After an overload: the deferred messages of many citizens, each answered by its own step and message; side by
    side on PostgreSQL."""
    context.settings.outbox_job_threads = 4
    written = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    kept = [(openid, "小区门口的路灯坏了好几天") for openid in ("oLaneWarm", *CITIZENS)] + [("oLaneA", "文化路80号")]
    with engine.begin() as conn:
        for n, (openid, text) in enumerate(kept):
            message = InboundMessage(Channel.WECHAT, settings.wechat_app_id, openid, Kind.TEXT, str(n + 1),
                                     written + timedelta(seconds=20 * n), text=text)
            assert deferred.keep(conn, message, written, late=True)
        warm, *ids = conn.execute(sa.select(outbox_table.c.id).order_by(outbox_table.c.id)).scalars()
    assert run_outbox_rows([warm]) == {warm: "done"}  # the process's first step loads the language models
    fake.latency = 0.2
    started = time.perf_counter()
    outcomes = run_outbox_rows(ids)
    elapsed = time.perf_counter() - started
    assert set(outcomes.values()) == {"done"} and len(outcomes) == len(ids)
    if engine.dialect.name == "postgresql":
        assert elapsed < 1.2, elapsed  # one after another: 7 sends of 0.2 s and 7 steps
    else:  # each step holds SQLite's one write lock: they stay in the outbox's order, one after another
        with fake._lock:  # noqa: SLF001 - the fake's own record, read whole
            assert [m["body"]["touser"] for m in fake.sent] == ["oLaneWarm", *CITIZENS, "oLaneA"]
    first, second = [m["text"] for m in fake.texts_to("oLaneA")]
    assert "问题在哪里" in first and "文化路80号" in second  # the problem, then the place: in the order written
    for openid in CITIZENS:
        assert len(fake.texts_to(openid)) == (2 if openid == "oLaneA" else 1)
    with engine.connect() as conn:
        assert set(conn.execute(sa.select(deferred_messages.c.user_id)).scalars()) == {None}
