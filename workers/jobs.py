"""The job RQ (or the in-process runner) runs for every batch of outbox rows: `run_outbox_job(row_ids)`.

The outcome is written on each outbox row: done, retried later with backoff, or given up with the
platform's error. Handlers are chosen by the row's topic. A job with a row that did not finish fails
(`JobIncomplete`), so RQ records a failed job with the reasons instead of "Job OK".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from time import perf_counter
from typing import Any

from tickets import outbox
from tickets.clock import utcnow
from tickets.errors import JobIncomplete, PermanentFailure, RetryLater
from tickets.metrics import JOB_SECONDS
from tickets.outbox import Topic
from workers.context import WorkerContext, current
from workers.notify import deferred_reply, deliver_notification, draft_prompt, push_text
from workers.notify import prefetch as prefetch_notifications
from workers.petition_qr import send_card
from workers.webhooks import deliver_warning, post_deadline_event, post_dispatch_event

log = logging.getLogger(__name__)

# A handler gets the row's payload and whether this is its last attempt; it raises RetryLater or
# PermanentFailure, or returns when the work is done.
Handler = Callable[..., None]
HANDLERS: dict[str, Handler] = {
    Topic.PUSH_TEXT: push_text,
    Topic.DRAFT_PROMPT: draft_prompt,
    Topic.DEFERRED_MESSAGE: deferred_reply,
    Topic.NOTIFICATION: deliver_notification,
    Topic.DISPATCH: post_dispatch_event,
    Topic.PETITION_CARD: send_card,
    Topic.WARNING: deliver_warning,
    Topic.DEADLINE: post_deadline_event,
}
# Topics whose handler can take its batch's rows read at once: `prefetched=PREFETCH[topic](context, payloads)`.
PREFETCH: dict[str, Callable[[WorkerContext, list[dict[str, Any]]], Mapping[int, Any]]] = {
    Topic.NOTIFICATION: prefetch_notifications,
}
MAX_ATTEMPTS = 8
BACKOFF_S = (10, 30, 60, 300, 900, 1800, 3600)


def backoff(attempts: int) -> float:
    """Seconds to wait before attempt number `attempts + 1`."""
    return BACKOFF_S[min(attempts, len(BACKOFF_S) - 1)]


def run_outbox_row(row_id: int) -> str:
    """Do the work of one outbox row; returns what happened (also stored on the row)."""
    outcomes = run_outbox_rows([row_id])
    return outcomes.get(row_id, "skipped: done or running elsewhere")


def run_outbox_job(row_ids: list[int]) -> dict[int, str]:
    """The queued job (workers/relay.py names it by this path): `run_outbox_rows`, failing unless all are done.

    Raises JobIncomplete when a row failed or waits for a retry; the rows record why, and the relay hands
    a retried row out again in a new job.
    """
    outcomes = run_outbox_rows(row_ids)
    if any(outcome != "done" for outcome in outcomes.values()):
        raise JobIncomplete(outcomes)
    return outcomes


def run_outbox_rows(row_ids: list[int]) -> dict[int, str]:
    """Do the work of a batch of outbox rows (many short pushes share one job's overhead).

    Each row's outcome is written on it. A worker that dies mid-batch leaves its rows `running`;
    the relay hands them out again once stale, and handlers skip work already recorded as done
    (a notification marked sent is not sent again).
    """
    context = current()
    with context.engine.begin() as conn:
        rows = outbox.claim(conn, row_ids, utcnow(), stale_after_s=context.settings.outbox_stale_seconds)
    outcomes: dict[int, str] = {}
    done: list[int] = []
    prefetched = _prefetch(context, rows)
    for row in rows:
        outcome = _run(context, row, prefetched.get(row.topic))
        outcomes[row.id] = outcome
        if outcome == "done":
            done.append(row.id)
    with context.engine.begin() as conn:
        outbox.mark_done(conn, done, utcnow())
    return outcomes


def _prefetch(context: WorkerContext, rows: list[outbox.OutboxRow]) -> dict[str, Mapping[int, Any]]:
    """What the batch's handlers can read at once, by topic; on any error each handler reads its own."""
    found: dict[str, Mapping[int, Any]] = {}
    for topic, reader in PREFETCH.items():
        payloads = [row.payload for row in rows if row.topic == topic]
        if len(payloads) > 1:
            try:
                found[topic] = reader(context, payloads)
            except Exception:
                log.exception("prefetch for %s failed; rows are read one by one", topic)
    return found


def _run(context: WorkerContext, row: outbox.OutboxRow, prefetched: Mapping[int, Any] | None = None) -> str:
    started = perf_counter()
    outcome = _run_timed(context, row, prefetched)
    JOB_SECONDS.labels(row.topic, outcome.partition(":")[0]).observe(perf_counter() - started)
    return outcome


def _run_timed(context: WorkerContext, row: outbox.OutboxRow, prefetched: Mapping[int, Any] | None) -> str:
    handler = HANDLERS.get(row.topic)
    final = row.attempts + 1 >= MAX_ATTEMPTS
    try:
        if handler is None:
            raise PermanentFailure(f"no handler for topic {row.topic}")
        if prefetched is not None:
            handler(context, row.payload, final=final, prefetched=prefetched)
        else:
            handler(context, row.payload, final=final)
    except RetryLater as exc:
        with context.engine.begin() as conn:
            outbox.mark_retry(conn, row.id, str(exc), utcnow(), retry_in_s=backoff(row.attempts), give_up=final)
        log.warning("outbox %d (%s) failed, %s: %s", row.id, row.topic, "gave up" if final else "will retry", exc)
        return f"{'failed' if final else 'retry'}: {exc}"
    except PermanentFailure as exc:
        with context.engine.begin() as conn:
            outbox.mark_retry(conn, row.id, str(exc), utcnow(), retry_in_s=0, give_up=True)
        log.warning("outbox %d (%s) given up: %s", row.id, row.topic, exc)
        return f"failed: {exc}"
    except Exception as exc:  # a bug or an outage (Redis, database): this row waits, the batch goes on
        log.exception("outbox %d (%s) raised; will retry", row.id, row.topic)
        try:
            with context.engine.begin() as conn:
                outbox.mark_retry(conn, row.id, f"unexpected {type(exc).__name__}", utcnow(),
                                  retry_in_s=backoff(row.attempts), give_up=final)
        except Exception:
            log.exception("outbox %d: could not record the failure; the stale check hands it out again", row.id)
        return f"retry: unexpected {type(exc).__name__}"
    return "done"
