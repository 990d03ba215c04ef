"""The outbox relay: moves due rows to RQ (or straight to the in-process runner)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sqlalchemy.engine import Engine

from tickets import outbox
from tickets.clock import utcnow
from tickets.outbox import OutboxRow

log = logging.getLogger(__name__)

Sink = Callable[[Sequence[OutboxRow]], None]


def relay_once(engine: Engine, sink: Sink, *, batch: int = 100) -> int:
    """Hand one batch of due rows to `sink`; rows stay pending if the sink fails (Redis down)."""
    with engine.begin() as conn:
        rows = outbox.due(conn, utcnow(), limit=batch)
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


def rq_sink(redis_url: str, queue_name: str = "gateway") -> Sink:
    """A sink that enqueues `run_outbox_row(id)` on RQ, one job id per row and attempt."""
    from redis import Redis
    from rq import Queue

    queue = Queue(queue_name, connection=Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=3))

    def enqueue(rows: Sequence[OutboxRow]) -> None:
        jobs = [
            Queue.prepare_data("workers.jobs.run_outbox_row", args=(row.id,),
                               job_id=f"outbox-{row.id}-{row.attempts}", result_ttl=3600, failure_ttl=86400)
            for row in rows
        ]
        queue.enqueue_many(jobs)

    return enqueue
