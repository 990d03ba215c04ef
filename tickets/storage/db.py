"""Engines for the embedded SQLite default and for PostgreSQL, and schema migration."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
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


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """An engine tuned for the gateway: SQLite in WAL mode with immediate write transactions."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, **kwargs)
    # Keep the webhook well inside WeChat's 5 s: fail fast rather than wait on a sick database.
    connect_args = {"connect_timeout": 3, "options": "-c statement_timeout=3000 -c lock_timeout=2000"}
    # No pool_pre_ping: it costs a round trip per checkout, several per message. A connection found dead
    # fails its request (503; WeChat retries the push) and is invalidated with the rest of the pool, so
    # the retry gets a fresh one.
    return sa.create_engine(
        url, pool_size=8, max_overflow=8, pool_timeout=3, connect_args=connect_args, **kwargs,
    )


def _sqlite_engine(url: str, database: str | None, **kwargs: Any) -> Engine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": 3, "check_same_thread": False}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see `_on_begin`).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=3000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # BEGIN IMMEDIATE takes the write lock up front: a deferred transaction that reads and then
        # writes fails with SQLITE_BUSY instead of waiting when another process wrote meanwhile.
        # Readers (see `reader`) take no lock and see a snapshot, as WAL allows.
        # Sent on the driver connection: exec_driver_sql would cost a full Core execution per transaction.
        run_on_driver(conn, "BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

    return engine


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
