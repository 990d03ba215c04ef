"""The outbox relay: moves due rows to RQ (or straight to the in-process runner).

Rows handed to RQ are `queued` until a job claims them. If Redis loses its jobs (restarted without
persistence, flushed), the relay notices at once, by a marker it keeps in Redis, and hands those rows out
again, well before they would count as stale (OUTBOX_STALE_SECONDS). Claiming is atomic
(tickets/outbox.py), so a row handed out twice is still worked once.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.engine import Engine

from tickets import outbox
from tickets.clock import utcnow
from tickets.inbox import deferred
from tickets.outbox import OutboxRow

log = logging.getLogger(__name__)

EPOCH_KEY = "gateway:outbox:epoch"
# Rows to a job at most. Each job costs its worker RQ's bookkeeping (about 57 Redis commands), the claim, the
# read-ahead and the "done": at 50 a job, a 10,000-push fan-out on PostgreSQL spent 0.93-0.95 ms of worker CPU per
# push, at 100 0.81-0.87 (docs/performance.md). A round of 500 due rows is still five jobs for the workers to share;
# a job's slow sends run side by side on its threads (workers/jobs.py): at the default 8 threads, 100 sends that each
# wait out the 10-second HTTP timeout end in about 130 s, inside RQ's 180-second job timeout (rows a timed-out job
# did not start wait for the stale check).
PER_JOB = 100
# The web is shedding load while it has deferred a late message this recently (the relay looks every round).
SHEDDING_WITHIN_S = 2.0


class Sink(Protocol):
    """Where due rows go: RQ, or jobs run right here."""

    def __call__(self, rows: Sequence[OutboxRow]) -> None:
        """Take the rows' work; raise if it could not be taken (the rows stay pending)."""

    def lost_jobs(self) -> bool:
        """Whether jobs handed over before may be gone (their rows are then handed out again)."""


def relay_once(engine: Engine, sink: Sink, *, batch: int = 500, stale_after_s: float = 300,
               hold_deferred_s: float = 0) -> int:
    """Hand one batch of due rows to `sink`; rows stay pending if the sink fails (Redis down).

    While the web sheds load (`shedding`), the answers to the messages it deferred wait, up to `hold_deferred_s`
    after each was kept: each is a whole intake step and a send, and run now they would take the CPU and the
    database's write lock from the web, whose answers then miss WeChat's deadline (docs/performance.md).
    """
    if sink.lost_jobs():
        with engine.begin() as conn:
            requeued = outbox.release_all_queued(conn)
        if requeued:
            log.warning("the queue lost its jobs (Redis restarted empty?): %d row(s) handed out again", requeued)
    with engine.begin() as conn:
        now = utcnow()
        hold: dict[str, datetime] = {}
        if hold_deferred_s and deferred.shedding(conn, now, SHEDDING_WITHIN_S):
            hold[outbox.Topic.DEFERRED_MESSAGE] = now - timedelta(seconds=hold_deferred_s)
        rows = outbox.due(conn, now, limit=batch, stale_after_s=stale_after_s, hold=hold)
        outbox.mark_queued(conn, [r.id for r in rows], now)
    if not rows:
        return 0
    try:
        sink(rows)
    except Exception:
        with engine.begin() as conn:
            outbox.release(conn, [r.id for r in rows])
        raise
    return len(rows)


def job_id(rows: Sequence[OutboxRow]) -> str:
    """The same rows at the same attempts always make the same job id, so a batch is not queued twice."""
    key = ",".join(f"{row.id}.{row.attempts}" for row in rows)
    return f"outbox-{rows[0].id}-{hashlib.sha1(key.encode()).hexdigest()[:12]}"  # noqa: S324 - an id, not security


class RqSink:
    """Enqueues `run_outbox_job(ids)` on RQ, at most `per_job` rows to a job, the jobs of a round of equal size.

    Many short pushes share one job's RQ overhead (about 57 Redis commands a job; see
    docs/performance.md); the workers take the round's jobs in parallel.
    """

    def __init__(self, redis_url: str, queue_name: str = "gateway", *, per_job: int = PER_JOB) -> None:
        from redis import Redis
        from rq import Queue

        self._redis = Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=3)
        self._queue = Queue(queue_name, connection=self._redis)
        self._per_job = per_job
        self._epoch: bytes | str | None = None

    def __call__(self, rows: Sequence[OutboxRow]) -> None:
        """Enqueue the rows' jobs (raises on a Redis error; the relay releases the rows)."""
        from rq import Queue

        size = math.ceil(len(rows) / math.ceil(len(rows) / self._per_job)) if rows else 1  # 120: 60 and 60
        chunks = [rows[i:i + size] for i in range(0, len(rows), size)]
        jobs = [
            Queue.prepare_data("workers.jobs.run_outbox_job", args=([row.id for row in chunk],),
                               job_id=job_id(chunk), result_ttl=3600, failure_ttl=86400)
            for chunk in chunks
        ]
        self._queue.enqueue_many(jobs)

    def lost_jobs(self) -> bool:
        """Whether Redis may have lost jobs handed to it: the marker kept beside them is gone or replaced.

        The marker (a random value, no expiry) goes with the jobs when Redis restarts empty or is flushed; the
        first relay to see it gone sets a new one. A relay starting up adopts a marker it finds; finding none,
        it cannot know what the queue held, and says so.
        """
        current = self._redis.get(EPOCH_KEY)
        if current is not None and current == self._epoch:
            return False
        if current is None:
            self._redis.set(EPOCH_KEY, secrets.token_hex(8), nx=True)
            current = self._redis.get(EPOCH_KEY)
            lost = True
        else:
            lost = self._epoch is not None  # replaced by another relay that found it gone
        self._epoch = current
        return lost


def rq_sink(redis_url: str, queue_name: str = "gateway", *, per_job: int = PER_JOB) -> RqSink:
    """The sink of the `relay` process: RQ on REDIS_URL."""
    return RqSink(redis_url, queue_name, per_job=per_job)
