"""The outbox relay: moves due rows to RQ (or straight to the in-process runner)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence

from sqlalchemy.engine import Engine

from tickets import outbox
from tickets.clock import utcnow
from tickets.outbox import OutboxRow

log = logging.getLogger(__name__)

Sink = Callable[[Sequence[OutboxRow]], None]


def relay_once(engine: Engine, sink: Sink, *, batch: int = 500, stale_after_s: float = 300) -> int:
    """Hand one batch of due rows to `sink`; rows stay pending if the sink fails (Redis down)."""
    with engine.begin() as conn:
        rows = outbox.due(conn, utcnow(), limit=batch, stale_after_s=stale_after_s)
        outbox.mark_queued(conn, [r.id for r in rows], utcnow())
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


def rq_sink(redis_url: str, queue_name: str = "gateway", *, per_job: int = 50) -> Sink:
    """A sink that enqueues `run_outbox_job(ids)` on RQ, `per_job` rows to a job.

    Many short pushes share one job's RQ overhead (about 57 Redis commands a job; see
    docs/performance.md); two workers take batches in parallel.
    """
    from redis import Redis
    from rq import Queue

    queue = Queue(queue_name, connection=Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=3))

    def enqueue(rows: Sequence[OutboxRow]) -> None:
        chunks = [rows[i:i + per_job] for i in range(0, len(rows), per_job)]
        jobs = [
            Queue.prepare_data("workers.jobs.run_outbox_job", args=([row.id for row in chunk],),
                               job_id=job_id(chunk), result_ttl=3600, failure_ttl=86400)
            for chunk in chunks
        ]
        queue.enqueue_many(jobs)

    return enqueue
