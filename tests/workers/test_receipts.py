"""Receipts written a few at a time (workers/notify.py `Receipts`): while a job's rows run one after another, a
worker sends at most `outbox_job_threads` notifications whose "sent" is not yet written, and a receipt that cannot
be written leaves its row to be tried again, not done; against the local fake of WeChat's API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bots.fakes.wechat import FakeWeChat
from tests.workers.test_lanes import CITIZENS, news_for_everyone
from tickets.storage.schema import citizens, notifications
from tickets.storage.schema import outbox as outbox_table
from workers import jobs
from workers.context import WorkerContext
from workers.jobs import run_outbox_rows


@pytest.fixture(autouse=True)
def rows_stay_quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """A busy machine can take 10 ms over a push to the fake: that would move the rows onto threads, where each
    receipt is written at once. These tests are about rows run one after another."""
    monkeypatch.setattr(jobs, "SLOW_ROW_S", 60.0)


def unreceipted_at_each_send(engine: Engine, fake: FakeWeChat) -> list[int]:
    """From now on, at each customer-service message the fake receives: how many messages it had accepted before
    that one, minus the notifications the database records as sent (the sends a crash would repeat)."""
    seen: list[int] = []
    route = ("POST", "/cgi-bin/message/custom/send")
    original = fake._routes[route]  # noqa: SLF001 - observed at the network's edge, then answered as before

    def observed(path: str, query: dict[str, str], ctype: str, body: bytes) -> Any:
        with engine.connect() as conn:
            sent = conn.execute(sa.select(sa.func.count()).select_from(notifications)
                                .where(notifications.c.status == "sent")).scalar_one()
        seen.append(len(fake.sent) - sent)
        return original(path, query, ctype, body)

    fake._routes[route] = observed  # noqa: SLF001
    return seen


@pytest.mark.parametrize("threads", [1, 3])
def test_a_worker_has_at_most_its_threads_in_sends_without_receipt(
        context: WorkerContext, engine: Engine, fake: FakeWeChat, threads: int) -> None:
    context.settings.outbox_job_threads = threads
    ids = news_for_everyone(engine)
    seen = unreceipted_at_each_send(engine, fake)
    assert set(run_outbox_rows(ids).values()) == {"done"}
    assert len(seen) == len(ids) == 7
    if threads == 1:
        assert seen == [0] * 7  # each receipt written before the next send
    else:  # written three at a time (lane by lane: B, A's two, C, D, E, F): before each send, those since the last
        assert seen == [0, 1, 2, 0, 1, 2, 0]
    with engine.connect() as conn:
        assert set(conn.execute(sa.select(notifications.c.status)).scalars()) == {"sent"}
        assert conn.execute(sa.select(sa.func.count()).select_from(notifications)
                            .where(notifications.c.sent_at.is_(None))).scalar_one() == 0
        assert set(conn.execute(sa.select(outbox_table.c.status)).scalars()) == {"done"}


@pytest.fixture
def receipts_refused_for(engine: Engine) -> Iterator[Any]:
    """`refuse(openid)`: the database refuses to mark that citizen's notifications sent (a trigger), until the
    test ends."""
    pg = engine.dialect.name == "postgresql"

    def refuse(openid: str) -> None:
        with engine.begin() as conn:
            citizen_id = conn.execute(sa.select(citizens.c.id).where(citizens.c.external_id == openid)).scalar_one()
            if pg:
                conn.exec_driver_sql(
                    "CREATE FUNCTION refuse_receipt() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    f"IF NEW.status = 'sent' AND OLD.citizen_id = {int(citizen_id)} THEN "
                    "RAISE EXCEPTION 'receipt refused'; END IF; RETURN NEW; END $$")
                conn.exec_driver_sql("CREATE TRIGGER refuse_receipt BEFORE UPDATE ON notifications "
                                     "FOR EACH ROW EXECUTE FUNCTION refuse_receipt()")
            else:
                conn.exec_driver_sql(
                    "CREATE TRIGGER refuse_receipt BEFORE UPDATE ON notifications "
                    f"WHEN NEW.status = 'sent' AND OLD.citizen_id = {int(citizen_id)} "
                    "BEGIN SELECT RAISE(ABORT, 'receipt refused'); END")

    yield refuse
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS refuse_receipt" + (" ON notifications" if pg else ""))
        if pg:
            conn.exec_driver_sql("DROP FUNCTION IF EXISTS refuse_receipt()")


def test_a_receipt_not_written_leaves_its_rows_to_be_tried_again(
        context: WorkerContext, engine: Engine, fake: FakeWeChat, receipts_refused_for: Any) -> None:
    context.settings.outbox_job_threads = 3
    ids = news_for_everyone(engine)
    # Sent lane by lane (B, A's two, C, D, E, F), receipts three at a time: D's group is C, D and E.
    receipts_refused_for("oLaneD")
    outcomes = run_outbox_rows(ids)  # ids in the outbox's order: B, A, C, D, E, F, A's second
    assert [outcomes[i] for i in ids] == ["done"] * 2 + ["retry: receipt not written"] * 3 + ["done"] * 2
    assert len(fake.sent) == 7  # every message went; the database could not record three of them
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.select(outbox_table.c.id, outbox_table.c.status)).all())
        assert [rows[i] for i in ids] == ["done"] * 2 + ["pending"] * 3 + ["done"] * 2
        pending = set(conn.execute(sa.select(citizens.c.external_id).join(
            notifications, notifications.c.citizen_id == citizens.c.id).where(notifications.c.status == "pending"))
            .scalars())
    assert pending == set(CITIZENS[2:5]) == {"oLaneC", "oLaneD", "oLaneE"}
