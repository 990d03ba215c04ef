"""The job RQ (or the in-process runner) runs for every outbox row: `run_outbox_row(row_id)`.

The outcome is written on the outbox row: done, retried later with backoff, or given up with the
platform's error. Handlers are chosen by the row's topic.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from tickets import outbox
from tickets.clock import utcnow
from workers.context import current
from workers.notify import deliver_notification
from workers.push import PermanentFailure, RetryLater, push_text
from workers.webhooks import post_dispatch_event

log = logging.getLogger(__name__)

# A handler gets the row's payload and whether this is its last attempt; it raises RetryLater or
# PermanentFailure, or returns when the work is done.
Handler = Callable[..., None]
HANDLERS: dict[str, Handler] = {
    "citizen.push_text": push_text,
    "notification.deliver": deliver_notification,
    "dispatch.event": post_dispatch_event,
}
MAX_ATTEMPTS = 8
BACKOFF_S = (10, 30, 60, 300, 900, 1800, 3600)


def backoff(attempts: int) -> float:
    """Seconds to wait before attempt number `attempts + 1`."""
    return BACKOFF_S[min(attempts, len(BACKOFF_S) - 1)]


def run_outbox_row(row_id: int) -> str:
    """Do the work of one outbox row; returns what happened (also stored on the row)."""
    context = current()
    with context.engine.begin() as conn:
        row = outbox.claim(conn, row_id, utcnow())
    if row is None:
        return "skipped: done or running elsewhere"
    handler = HANDLERS.get(row.topic)
    try:
        if handler is None:
            raise PermanentFailure(f"no handler for topic {row.topic}")
        handler(context, row.payload, final=row.attempts + 1 >= MAX_ATTEMPTS)
    except RetryLater as exc:
        give_up = row.attempts + 1 >= MAX_ATTEMPTS
        with context.engine.begin() as conn:
            outbox.mark_retry(conn, row.id, str(exc), utcnow(), retry_in_s=backoff(row.attempts), give_up=give_up)
        log.warning("outbox %d (%s) failed, %s: %s", row.id, row.topic, "gave up" if give_up else "will retry",
                    exc)
        return f"{'failed' if give_up else 'retry'}: {exc}"
    except PermanentFailure as exc:
        with context.engine.begin() as conn:
            outbox.mark_retry(conn, row.id, str(exc), utcnow(), retry_in_s=0, give_up=True)
        log.warning("outbox %d (%s) given up: %s", row.id, row.topic, exc)
        return f"failed: {exc}"
    with context.engine.begin() as conn:
        outbox.mark_done(conn, row.id, utcnow())
    return "done"
