"""gateway/busy.py: after a lock wait ran out, the event loop's writes are refused at once for a moment."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import OperationalError

from gateway.busy import LockPause
from tickets.errors import DatabaseBusy


def locked() -> OperationalError:
    return OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))


def test_a_lock_wait_that_ran_out_pauses_writes() -> None:
    now = [100.0]
    pause = LockPause(pause_s=1.0, clock=lambda: now[0])
    ran: list[int] = []
    with pytest.raises(DatabaseBusy), pause.guard():
        raise locked()
    now[0] += 0.5
    with pytest.raises(DatabaseBusy, match="paused"), pause.guard():
        ran.append(1)  # not reached: refused before any write
    now[0] += 0.6
    with pause.guard():
        ran.append(2)
    assert ran == [2]


def test_other_errors_pass_through_and_pause_nothing() -> None:
    pause = LockPause()
    other = OperationalError("SELECT", {}, sqlite3.OperationalError("disk I/O error"))
    with pytest.raises(OperationalError), pause.guard():
        raise other
    with pause.guard():
        pass
