"""SQLite's WAL checkpoints on a thread of their own, off the web's event loop.

A commit that finds the write-ahead log past `wal_autocheckpoint` pages (SQLite's default, 1,000) copies the log
back into the database and syncs both files before it returns. In the web process that commit runs on the event
loop: in the intake, every ~45 chat messages, up to 12 ms each on these machines (docs/performance.md). So the
web's engines raise that threshold to a safety net (`WEB_AUTOCHECKPOINT_PAGES`), and a `Checkpointer` copies the
log every `every_s` instead: PASSIVE, so it waits for no reader or writer, and sqlite3 lets go of the GIL while it
works, so it runs beside the loop on the machine's other core. If it stops, the safety net checkpoints as before.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

WEB_AUTOCHECKPOINT_PAGES = 8000  # 32 MB of log before a commit checkpoints by itself (the checkpointer is behind)
EVERY_S = 0.1


class Checkpointer:
    """A daemon thread running `PRAGMA wal_checkpoint(PASSIVE)` on an engine's database every `every_s`."""

    def __init__(self, engine: Engine, every_s: float = EVERY_S) -> None:
        self._engine = engine
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self.rounds = 0  # checkpoints run (the tests read it)

    def start(self) -> None:
        """Begin checkpointing."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the checkpoint in progress, if any."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        failing = False
        while not self._stop.wait(self._every_s):
            try:
                self.checkpoint()
            except Exception:  # a sick database: the safety net checkpoints, and the next round tries again
                if not failing:  # once per run of failures, not ten times a second
                    log.exception("WAL checkpoints failing; commits checkpoint past the safety net meanwhile")
                failing = True
            else:
                if failing:
                    log.info("WAL checkpoints working again")
                failing = False

    def checkpoint(self) -> tuple[int, int, int]:
        """One passive checkpoint: (1 if it was blocked, log frames, frames copied back)."""
        raw = self._engine.raw_connection()  # the driver's own: no transaction (the pool's BEGIN hook is Core's)
        try:
            driver: Any = raw.driver_connection
            busy, frames, copied = driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            raw.close()
        self.rounds += 1
        return int(busy), int(frames), int(copied)
