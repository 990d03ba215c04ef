"""The job RQ (or the in-process runner) runs for every batch of outbox rows: `run_outbox_job(row_ids)`.

The outcome is written on each outbox row: done, retried later with backoff, or given up with the
platform's error. Handlers are chosen by the row's topic. A job with a row that did not finish fails
(`JobIncomplete`), so RQ records a failed job with the reasons instead of "Job OK".
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from time import perf_counter
from typing import Any

from tickets import outbox
from tickets.clock import utcnow
from tickets.errors import JobIncomplete, PermanentFailure, RetryLater
from tickets.metrics import JOB_SECONDS
from tickets.outbox import Topic
from workers.context import WorkerContext, current
from workers.notify import Receipts, deferred_reply, deliver_notification, draft_prompt, prefetch_senders, push_text
from workers.notify import prefetch as prefetch_notifications
from workers.petition_qr import send_card
from workers.routing import complete_event
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
    Topic.DEFERRED_MESSAGE: prefetch_senders,
}
# Topics whose rows may need completing before their handler runs: `payload = COMPLETE[topic](context, row)`.
COMPLETE: dict[str, Callable[[WorkerContext, outbox.OutboxRow], dict[str, Any]]] = {
    Topic.DISPATCH: complete_event,  # a ticket routed after the commit that opened it (workers/routing.py)
}
# Topics whose handler sends to a citizen and keeps no receipt of its own (a notification is marked sent, a burst's
# or a deferred message's answer recorded): the row is marked done as soon as its handler returns, not with the
# job's other rows, so a worker killed later in the job does not send it again when the row is handed out anew.
DONE_AT_ONCE = frozenset({Topic.PUSH_TEXT, Topic.PETITION_CARD})
MAX_ATTEMPTS = 8
# A lane whose rows took this long each waits on the platform more than it computes: the job's other lanes then
# run side by side (`_run_lanes`). Pushes to the fake WeChat with no delay take 1-3 ms under load.
SLOW_ROW_S = 0.010
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
    prefetched = _prefetch(context, rows)
    lanes = _lanes(rows, prefetched) if context.settings.outbox_job_threads > 1 else [rows]
    outcomes = _run_lanes(context, lanes, prefetched)
    done = [row.id for row in rows if outcomes.get(row.id) == "done"]
    with context.engine.begin() as conn:
        outbox.mark_done(conn, done, utcnow())
    return outcomes


def _lanes(rows: list[outbox.OutboxRow], prefetched: Mapping[str, Mapping[int, Any]]) -> list[list[outbox.OutboxRow]]:
    """The batch's rows in lanes that may run side by side, each lane in the outbox's order.

    A notification read ahead (`prefetch`) goes to its citizen's lane, so one citizen's notices arrive in the
    order they were written; a deferred message to its sender's lane, so a citizen's messages are answered in
    the order written; every other row, and one not read ahead, goes to the first lane.
    """
    deliveries = prefetched.get(Topic.NOTIFICATION, {})
    senders = prefetched.get(Topic.DEFERRED_MESSAGE, {})
    lanes: dict[object, list[outbox.OutboxRow]] = {None: []}
    for row in rows:
        key: object = None
        if row.topic == Topic.NOTIFICATION:
            found = deliveries.get(int(row.payload.get("notification_id", 0)))
            key = ("citizen", found.note.citizen_id) if found is not None else None
        elif row.topic == Topic.DEFERRED_MESSAGE:
            sender = senders.get(int(row.payload.get("deferred_id", 0)))
            key = ("sender", sender) if sender is not None else None
        lanes.setdefault(key, []).append(row)
    return [lane for lane in lanes.values() if lane]


def _run_lanes(context: WorkerContext, lanes: list[list[outbox.OutboxRow]],
               prefetched: Mapping[str, Mapping[int, Any]]) -> dict[int, str]:
    """Work the lanes; each row's outcome by its id.

    Lanes run one after another while rows are quick. Once a lane's rows took `SLOW_ROW_S` each or more (the
    platform answers slowly, as the real one does from a city's servers), the lanes left run side by side on
    up to `outbox_job_threads` threads, which overlap those waits; each row is marked sent right after its own
    send there, and `outbox_job_threads` receipts at a time while the rows run one after another (`Receipts`).
    Quick rows stay on one thread: threads would only add switching (docs/performance.md). When the job is
    interrupted (RQ's timeout, a signal), rows not yet started are left for the stale check.
    """
    outcomes: dict[int, str] = {}
    stop = threading.Event()

    def work(lane: list[outbox.OutboxRow]) -> None:
        for row in lane:
            if stop.is_set():
                return
            outcomes[row.id] = _run(context, row, prefetched.get(row.topic))

    threads = context.settings.outbox_job_threads
    waiting = list(reversed(lanes))
    receipts = Receipts(context, size=threads)
    with receipts.on_this_thread():
        while waiting:
            if threads > 1 and len(waiting) > 1:
                lane = waiting.pop()
                started = perf_counter()
                work(lane)
                if (perf_counter() - started) / len(lane) >= SLOW_ROW_S:
                    break
            else:
                work(waiting.pop())
    _unwritten(context, lanes, receipts.unwritten, outcomes)
    if not waiting:
        return outcomes
    executor = ThreadPoolExecutor(max_workers=min(threads, len(waiting)), thread_name_prefix="outbox")
    try:
        for future in [executor.submit(work, lane) for lane in reversed(waiting)]:
            future.result()
    finally:
        stop.set()
        executor.shutdown(wait=True, cancel_futures=True)
    return outcomes


def _unwritten(context: WorkerContext, lanes: list[list[outbox.OutboxRow]], unwritten: set[int],
               outcomes: dict[int, str]) -> None:
    """Rows whose notification was sent but whose receipt could not be written: not done; tried again later
    (the notification is still pending, so it is sent again, as when a worker dies before writing it)."""
    if not unwritten:
        return
    for row in (row for lane in lanes for row in lane):
        if row.topic == Topic.NOTIFICATION and int(row.payload.get("notification_id", 0)) in unwritten:
            outcomes[row.id] = "retry: receipt not written"
            try:
                with context.engine.begin() as conn:
                    outbox.mark_retry(conn, row.id, "receipt not written", utcnow(), retry_in_s=backoff(row.attempts),
                                      give_up=False)
            except Exception:
                log.exception("outbox %d: could not record the failure; the stale check hands it out again", row.id)


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
        payload = COMPLETE[row.topic](context, row) if row.topic in COMPLETE else row.payload
        if prefetched is not None:
            handler(context, payload, final=final, prefetched=prefetched)
        else:
            handler(context, payload, final=final)
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
    if row.topic in DONE_AT_ONCE:
        try:
            with context.engine.begin() as conn:
                outbox.mark_done(conn, [row.id], utcnow())
        except Exception:  # sent: the job's end marks it done with the others
            log.exception("outbox %d (%s): sent, but not marked done at once", row.id, row.topic)
    return "done"
