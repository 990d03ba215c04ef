"""The event loop under pressure: the webhooks' writes when another process holds the write lock, and how late
the loop runs (`LoopLag`, by which the WeChat webhook defers what it cannot answer in time).

The intake runs its short transaction on the event loop on purpose (bots/intake.py, docs/performance.md), so
a wait for a lock is a wait of the whole process: /healthz and every other request queue behind it. Its
engine therefore waits only briefly for a lock (`INTAKE_LOCK_WAIT_S`: SQLite's busy timeout, PostgreSQL's
lock_timeout), and once a wait has run out, writes in the next `PAUSE_S` are refused at once instead of each
waiting in turn. Either way the platform gets a 503 with Retry-After and retries; the dedupe gives the
retry the same answer. Ordinary contention is far shorter: one process runs one intake at a time, and the
relay's and workers' transactions take milliseconds.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError

from tickets.errors import DatabaseBusy
from tickets.storage.db import lock_wait_ran_out

log = logging.getLogger(__name__)

INTAKE_LOCK_WAIT_S = 0.25  # ordinary contention (the relay's and workers' commits) takes milliseconds
PAUSE_S = 1.0


class LockPause:
    """Refuses writes at once for a moment after one found the database locked for too long."""

    def __init__(self, pause_s: float = PAUSE_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._pause_s = pause_s
        self._clock = clock
        self._until = 0.0
        self._lock = threading.Lock()

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Run the writes inside; raise `DatabaseBusy` during a pause, or when their lock wait ran out."""
        if self._clock() < self._until:
            raise DatabaseBusy("paused: another process holds the write lock")
        try:
            yield
        except DBAPIError as exc:
            if not lock_wait_ran_out(exc):
                raise
            with self._lock:
                self._until = self._clock() + self._pause_s
            # The statement names the contended table; its values are bound apart and never logged.
            log.warning("database locked by another process (at %s); writes refused for %.1f s",
                        " ".join(str(exc.statement or "").split())[:120], self._pause_s)
            raise DatabaseBusy("another process holds the write lock") from exc


class LoopLag:
    """How late this process's event loop runs what is ready to run: the wait of a request that arrives now.

    A ticker asks to wake every `interval_s` and records how much later it woke (the measure toobusy-js sheds
    load by). Requests that arrive behind a long run of work (a burst over what the process serves, a stall)
    wait in the same queue as the ticker, so once it wakes they are known to have waited about as long. The
    WeChat webhook answers such a push at once with a short word and leaves the answer to a job (bots/intake.py
    `defer`), so that WeChat, which gives up after 5 s, gets an answer and does not show the citizen an error.
    """

    def __init__(self, interval_s: float = 0.1) -> None:
        self.interval_s = interval_s
        self.lag_s = 0.0  # at the ticker's last wake
        self._due: float | None = None  # when the ticker should wake next (the loop's clock)

    def current(self) -> float:
        """The lag now: the last one measured, or how long the ticker has been overdue if that is more (while
        the loop is busy the ticker cannot wake to measure, and what became ready with it waits as long)."""
        if self._due is None:
            return self.lag_s
        return max(self.lag_s, asyncio.get_running_loop().time() - self._due)

    async def run(self) -> None:
        """Measure until cancelled (the app's lifespan runs this)."""
        loop = asyncio.get_running_loop()
        while True:
            self._due = loop.time() + self.interval_s
            await asyncio.sleep(self.interval_s)
            self.lag_s = max(0.0, loop.time() - self._due)
