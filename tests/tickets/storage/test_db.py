"""tickets/storage/db.py: bounded lock waits, and telling a lock wait that ran out from other errors."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from tickets.storage.db import after_commit, create_db_engine, is_postgres, lock_wait_ran_out


def test_a_bounded_lock_wait_runs_out_and_says_so(engine: Engine, db_url: str) -> None:
    quick = create_db_engine(db_url, lock_wait_s=0.2)
    try:
        with engine.connect() as holder:
            if is_postgres(holder):
                holder.exec_driver_sql("LOCK TABLE counters IN ACCESS EXCLUSIVE MODE")
            else:
                holder.exec_driver_sql("SELECT 1")  # autobegin: BEGIN IMMEDIATE, SQLite's write lock
            started = time.monotonic()
            with pytest.raises(DBAPIError) as caught, quick.begin() as conn:
                conn.exec_driver_sql("INSERT INTO counters (name, value) VALUES ('probe', 1)")
            waited = time.monotonic() - started
            holder.rollback()
        assert lock_wait_ran_out(caught.value)
        assert 0.15 < waited < 1.5
    finally:
        quick.dispose()


def test_other_database_errors_are_not_lock_waits(engine: Engine) -> None:
    with pytest.raises(DBAPIError) as caught, engine.begin() as conn:
        conn.execute(sa.text("SELECT * FROM no_such_table"))
    assert not lock_wait_ran_out(caught.value)


def test_after_commit_calls_once_on_commit_and_never_after_a_rollback(engine: Engine, db_url: str) -> None:
    calls: list[str] = []
    with engine.begin() as conn:
        after_commit(conn, lambda: calls.append("first"))
        assert calls == []  # not before the commit
    with engine.connect() as conn, conn.begin() as transaction:
        after_commit(conn, lambda: calls.append("rolled back"))
        transaction.rollback()
    with engine.connect() as conn:  # one connection, two transactions: the second commit calls only its own
        with conn.begin():
            after_commit(conn, lambda: calls.append("second"))
        with conn.begin():
            after_commit(conn, lambda: calls.append("third"))
    plain = sa.create_engine(engine.url)  # an engine made elsewhere: listeners of the connection's own
    try:
        with plain.begin() as conn:
            after_commit(conn, lambda: calls.append("plain"))
        with plain.begin():
            pass
    finally:
        plain.dispose()
    assert calls == ["first", "second", "third", "plain"]
