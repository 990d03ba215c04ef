"""Engines for the embedded SQLite default and for PostgreSQL, and schema migration."""

from __future__ import annotations

import fcntl
import sqlite3
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

from tickets.storage.fastsql import is_postgres as is_postgres  # re-exported: the one "is this PostgreSQL?"
from tickets.storage.fastsql import run_on_driver

MIGRATIONS = Path(__file__).parent / "migrations"
READ_ONLY = "gateway_read_only"
MIGRATION_LOCK_KEY = 0x7065746974  # "petit": any constant shared by every process of the gateway


def normalise_url(url: str) -> str:
    """`postgresql://` and `postgres://` mean psycopg 3 here."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def create_db_engine(url: str, *, lock_wait_s: float | None = None, autocheckpoint_pages: int | None = None,
                     **kwargs: Any) -> Engine:
    """An engine tuned for the gateway: SQLite in WAL mode with immediate write transactions.

    `lock_wait_s` bounds how long a statement waits for a lock another connection holds (SQLite's busy
    timeout, PostgreSQL's lock_timeout); unset: 3 s on SQLite, 2 s on PostgreSQL. `autocheckpoint_pages`
    (SQLite): the log's size at which a commit checkpoints it itself, for engines whose log a thread checkpoints
    (tickets/storage/checkpoints.py); unset, SQLite's default.
    """
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _with_commit_hooks(_sqlite_engine(url, parsed.database, 3.0 if lock_wait_s is None else lock_wait_s,
                                                 autocheckpoint_pages, **kwargs))
    # Keep the webhook well inside WeChat's 5 s: fail fast rather than wait on a sick database.
    lock_ms = 2000 if lock_wait_s is None else max(1, int(lock_wait_s * 1000))
    connect_args = {"connect_timeout": 3, "options": f"-c statement_timeout=3000 -c lock_timeout={lock_ms}"}
    # No pool_pre_ping: it costs a round trip per checkout, several per message. A connection found dead
    # fails its request (503; WeChat retries the push) and is invalidated with the rest of the pool, so
    # the retry gets a fresh one.
    return _with_commit_hooks(sa.create_engine(
        url, connect_args=connect_args, **({"pool_size": 8, "max_overflow": 8, "pool_timeout": 3} | kwargs)))


_AFTER_COMMIT = "gateway_after_commit"  # the key, in a connection's `info`, of what its commit calls
_HOOKED: weakref.WeakSet[sa.Dialect] = weakref.WeakSet()  # dialects of engines with the hooks


def after_commit(conn: sa.Connection, call: Callable[[], None]) -> None:
    """Call `call` when the connection's transaction in progress commits; forget it if it rolls back.

    The engine's two hooks, set once when it is made (`_with_commit_hooks`), run what the transaction left in
    its connection's `info`: listeners set per transaction cost about 40 us each. A connection of another
    engine gets listeners of its own.
    """
    if conn.dialect in _HOOKED:
        conn.info.setdefault(_AFTER_COMMIT, []).append(call)
        return
    pending = [True]  # the connection outlives the transaction: a later commit must not call this again

    def committed(_conn: sa.Connection) -> None:
        if pending:
            pending.clear()
            call()

    event.listen(conn, "commit", committed)
    event.listen(conn, "rollback", lambda _conn: pending.clear())


def _committed(conn: sa.Connection) -> None:
    for call in conn.info.pop(_AFTER_COMMIT, ()):
        call()


def _rolled_back(conn: sa.Connection) -> None:
    if not conn.invalidated:  # an invalidated connection's `info` is cleared when the pool reconnects it
        conn.info.pop(_AFTER_COMMIT, None)


def _with_commit_hooks(engine: Engine) -> Engine:
    event.listen(engine, "commit", _committed)
    event.listen(engine, "rollback", _rolled_back)
    _HOOKED.add(engine.dialect)  # an engine's dialect is its own, shared by its `execution_options` copies
    return engine


def _sqlite_engine(url: str, database: str | None, lock_wait_s: float, autocheckpoint_pages: int | None,
                   **kwargs: Any) -> Engine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        # As on PostgreSQL: a connection opened beyond the pool is closed when given back, and opening one runs
        # the pragmas below again (a worker's lanes, workers/jobs.py, hold several at once).
        kwargs = {"pool_size": 8, "max_overflow": 8} | kwargs
    engine = sa.create_engine(url, connect_args={"timeout": lock_wait_s, "check_same_thread": False}, **kwargs)
    busy_ms = max(0, int(lock_wait_s * 1000))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see `_on_begin`).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        if autocheckpoint_pages is not None:
            cursor.execute(f"PRAGMA wal_autocheckpoint={int(autocheckpoint_pages)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # BEGIN IMMEDIATE takes the write lock up front: a deferred transaction that reads and then
        # writes fails with SQLITE_BUSY instead of waiting when another process wrote meanwhile.
        # Readers (see `reader`) take no lock and see a snapshot, as WAL allows.
        # Sent on the driver connection: exec_driver_sql would cost a full Core execution per transaction.
        run_on_driver(conn, "BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

    return engine


def lock_wait_ran_out(exc: BaseException) -> bool:
    """Whether a database error is a wait for another connection's lock that ran out.

    SQLite: SQLITE_BUSY ("database is locked", the busy timeout passed) or SQLITE_LOCKED; PostgreSQL:
    lock_not_available (SQLSTATE 55P03, lock_timeout passed).
    """
    orig = getattr(exc, "orig", exc)
    if isinstance(orig, sqlite3.OperationalError):
        code = getattr(orig, "sqlite_errorcode", 0) & 0xFF
        return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "database is locked" in str(orig)
    return getattr(orig, "sqlstate", None) == "55P03"


def reader(engine: Engine) -> Engine:
    """The same engine for read-only work: on SQLite its transactions take no write lock."""
    return engine.execution_options(**{READ_ONLY: True})


def migrate(url: str) -> None:
    """Bring the schema to the newest Alembic revision.

    Safe to run from several processes at once (the Procfile starts web, worker and relay
    together): a PostgreSQL advisory lock, or a lock file beside the SQLite file, lets one
    migrate while the others wait and then find the schema at head.
    """
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    with _migration_lock(url):
        command.upgrade(config, "heads")  # branches from parallel work meet in a merge revision


def schema_revisions(engine: Engine) -> tuple[set[str], set[str]]:
    """The database's Alembic revisions and the code's newest ones (equal when the schema is up to date)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory(str(MIGRATIONS)).get_heads())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current, heads


@contextmanager
def _migration_lock(url: str) -> Iterator[None]:
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            yield
            return
        lock_path = Path(parsed.database).with_suffix(".migrate-lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with lock_path.open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    engine = sa.create_engine(normalise_url(url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
    finally:
        engine.dispose()


def dialect_insert(conn: sa.Connection, table: sa.Table) -> Any:
    """An INSERT with `on_conflict_do_*` for this connection's dialect (PostgreSQL or SQLite)."""
    if is_postgres(conn):
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)
