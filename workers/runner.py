"""The loops of the `relay` process and of the in-process runner (no Redis: one process does it all)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from tickets import clusters
from tickets.clock import utcnow
from tickets.deadlines import policy as deadlines
from tickets.outbox import OutboxRow
from workers import jobs, relay, sweeps
from workers.context import WorkerContext, install

log = logging.getLogger(__name__)
# A failing round (Redis or the database away) is logged with its traceback the first time, then once a minute.
FAILURE_LOG_EVERY = 60
# An idle relay looks for new rows this often: a row written meanwhile waits for the next look before its job is
# queued (a citizen's notice, a ticket's routing, a dispatch event). At 1 s one notification took 0.74-0.83 s from
# its commit to WeChat, at 0.1 s 0.03-0.11 s (docs/performance.md). An idle round is one indexed read in a short
# transaction (on SQLite it holds the write lock for it) and, with Redis, one GET.
POLL_S = 0.1


class _RunHere:
    """The embedded setup's sink: the rows' jobs run in this thread; nothing can be lost on the way."""

    def __call__(self, rows: Sequence[OutboxRow]) -> None:
        jobs.run_outbox_rows([row.id for row in rows])

    def lost_jobs(self) -> bool:
        return False


class Loop:
    """Relay due outbox rows and run the periodic sweeps until stopped.

    With `sink=None` the rows' jobs run right here (the embedded default); otherwise they go to RQ.
    """

    def __init__(self, context: WorkerContext, sink: relay.Sink | None = None, *, interval_s: float = POLL_S,
                 sweep_every_s: float = 60.0) -> None:
        self.context = context
        self.sink: relay.Sink = sink or _RunHere()
        self.where = "the queue" if sink is not None else "in-process jobs"
        self.interval_s = interval_s
        self.sweep_every_s = sweep_every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_sweep = 0.0

    def tick(self) -> int:
        """One round: sweeps when due, then one relay batch. Returns the rows handed on."""
        if time.monotonic() - self._last_sweep >= self.sweep_every_s:
            self._last_sweep = time.monotonic()
            settings = self.context.settings
            with self.context.engine.begin() as conn:
                sweeps.remind_idle_drafts(conn, utcnow(), idle_minutes=settings.draft_idle_minutes)
            with self.context.engine.begin() as conn:
                sweeps.forget_unanswered(conn, utcnow())
            with self.context.engine.begin() as conn:
                sweeps.follow_up_evaluations(conn, utcnow(), remind_days=settings.evaluation_remind_days)
            with self.context.engine.begin() as conn:
                sweeps.watch_petitions(conn, utcnow(), velocity=settings.warning_velocity,
                                       factor=settings.warning_velocity_factor)
            with self.context.engine.begin() as conn:
                sweeps.watch_deadlines(conn, utcnow(), deadlines.policy_for(settings))
            with self.context.engine.begin() as conn:
                sweeps.gather_clusters(conn, utcnow(), clusters.rule_for(settings))
            sweeps.retrain_routing(self.context.engine, utcnow(), after=settings.routing_retrain_after)
        settings = self.context.settings
        return relay.relay_once(self.context.engine, self.sink, stale_after_s=settings.outbox_stale_seconds,
                                hold_deferred_s=settings.deferred_hold_seconds)

    def run_forever(self) -> None:
        """Tick until `stop()`; errors are logged and the loop goes on (rows wait in the outbox)."""
        install(self.context)
        log.info("outbox relay started: due rows to %s every %g s, sweeps every %.0f s", self.where,
                 self.interval_s, self.sweep_every_s)
        failing = 0
        while not self._stop.is_set():
            try:
                moved = self.tick()
            except Exception:
                failing += 1
                if failing == 1:
                    log.exception("relay round failed; rows stay in the outbox")
                elif failing % FAILURE_LOG_EVERY == 0:
                    log.error("relay rounds still failing (%d in a row); rows stay in the outbox", failing)
                moved = 0
            else:
                if failing:
                    log.info("relay recovered after %d failed rounds", failing)
                    failing = 0
                if moved:
                    log.info("relay moved %d outbox rows to %s", moved, self.where)
            if not moved:
                self._stop.wait(self.interval_s)
        log.info("outbox relay stopped")

    def start(self) -> None:
        """Run in a daemon thread (the in-process runner of the embedded setup)."""
        self._thread = threading.Thread(target=self.run_forever, name="outbox-runner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the loop to end and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
