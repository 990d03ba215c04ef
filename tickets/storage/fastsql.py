"""Hot-path statements through the driver's own connection, inside the SQLAlchemy transaction.

Building, cache-keying and executing a Core statement costs 100-300 µs; the same statement through
the DBAPI connection costs a few µs (docs/performance.md). The intake path (bots/intake.py)
runs four to eight statements per message on the event loop, so its statements are written here once,
as SQL text, and run on `conn.connection.driver_connection`; everything else keeps using Core.

- A statement is written with `?` placeholders (sqlite3); the psycopg text (`%s`) is derived once.
- Values are converted as the Core types of tickets/storage/schema.py would store them, so Core code reads
  them back unchanged: `UTCDateTime` as a naive UTC string `YYYY-MM-DD HH:MM:SS.ffffff` on SQLite and
  timestamptz on PostgreSQL, `JSONData` as `json.dumps` text on SQLite and JSONB on PostgreSQL,
  Boolean as 0/1 on SQLite.
- The statements run in the SQLAlchemy connection's transaction (begun here if it was not), so the
  `begin` hook of tickets/storage/db.py (BEGIN IMMEDIATE on SQLite) and the caller's commit apply as with Core.
- Driver errors go through SQLAlchemy's own error handling: callers see the same
  `sqlalchemy.exc.DBAPIError` subclasses (IntegrityError, OperationalError...), and a lost connection
  is invalidated (with the rest of the pool) exactly as if Core had run the statement.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn

import sqlalchemy as sa
from psycopg.types.json import Jsonb


class Sql:
    """One statement's text for both drivers."""

    __slots__ = ("postgresql", "sqlite")

    def __init__(self, sqlite: str, postgresql: str | None = None) -> None:
        if postgresql is None:
            if "%" in sqlite:  # psycopg would read it as a placeholder: give the PostgreSQL text yourself
                raise ValueError("'%' in a statement: pass its PostgreSQL text explicitly")
            postgresql = sqlite.replace("?", "%s")
        self.sqlite = sqlite
        self.postgresql = postgresql


def is_postgres(engine: sa.Engine | sa.Connection) -> bool:
    """Whether the database is PostgreSQL (else SQLite); tickets/storage/db.py re-exports it."""
    return engine.dialect.name == "postgresql"


def _raw(conn: sa.Connection) -> Any:
    return conn.connection.driver_connection


def _driver(conn: sa.Connection) -> Any:
    if not conn.in_transaction():
        conn.begin()  # what Core's autobegin would do: the begin hook runs, the caller commits
    return conn.connection.driver_connection


def _text(conn: sa.Connection, stmt: Sql) -> str:
    return stmt.postgresql if is_postgres(conn) else stmt.sqlite


def _reraise(conn: sa.Connection, exc: Exception, text: str, params: Any) -> NoReturn:
    """Hand a driver error to `Connection._handle_dbapi_exception`, the very routine Core runs for its own
    statements: it wraps the driver's exception (IntegrityError, OperationalError ...), runs `handle_error`
    hooks and, on a lost connection, invalidates it and the pool (so the next checkout reconnects).

    The one use of SQLAlchemy's private API in the project, pinned by `sqlalchemy<2.2` and covered by
    tests/tickets/storage/test_fastsql.py, so an upgrade that changes it fails loudly.
    """
    conn._handle_dbapi_exception(exc, text, params, None, None)
    raise AssertionError("unreachable: _handle_dbapi_exception always raises")  # pragma: no cover


def fetch(conn: sa.Connection, stmt: Sql, params: Sequence[Any] = ()) -> list[Any]:
    """Run a statement that returns rows; the rows, as tuples."""
    text = _text(conn, stmt)
    driver = _driver(conn)
    try:
        return list(driver.execute(text, params).fetchall())
    except conn.dialect.loaded_dbapi.Error as exc:
        _reraise(conn, exc, text, params)


def run(conn: sa.Connection, stmt: Sql, params: Sequence[Any] = ()) -> None:
    """Run a statement that returns no rows."""
    text = _text(conn, stmt)
    driver = _driver(conn)
    try:
        driver.execute(text, params)
    except conn.dialect.loaded_dbapi.Error as exc:
        _reraise(conn, exc, text, params)


def run_many(conn: sa.Connection, stmt: Sql, rows: Sequence[Sequence[Any]]) -> None:
    """Run a statement once per parameter row (executemany)."""
    text = _text(conn, stmt)
    driver = _driver(conn)
    try:
        cursor = driver.cursor()
        try:
            cursor.executemany(text, rows)
        finally:
            cursor.close()
    except conn.dialect.loaded_dbapi.Error as exc:
        _reraise(conn, exc, text, rows)


def run_on_driver(conn: sa.Connection, text: str) -> None:
    """A statement without parameters on the driver connection, outside any transaction logic
    (the `begin` hook's BEGIN), with SQLAlchemy's error handling."""
    try:
        _raw(conn).execute(text)
    except conn.dialect.loaded_dbapi.Error as exc:
        _reraise(conn, exc, text, ())


# --- values as the Core types store them -------------------------------------------------------

def bind_time(pg: bool, value: datetime | None) -> Any:
    """A `UTCDateTime` value: aware UTC for psycopg; the naive UTC string SQLAlchemy writes on SQLite."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the database")
    utc = value.astimezone(UTC)
    return utc if pg else utc.replace(tzinfo=None).isoformat(" ", "microseconds")


def read_time(value: Any) -> datetime | None:
    """A `UTCDateTime` value as read by Core: aware, in UTC."""
    if value is None:
        return None
    if isinstance(value, str):  # SQLite
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    moment: datetime = value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def bind_json(pg: bool, value: Any) -> Any:
    """A `JSONData` value: JSONB for psycopg, `json.dumps` text on SQLite (as SQLAlchemy's JSON type)."""
    return Jsonb(value) if pg else json.dumps(value)


def read_json(pg: bool, value: Any) -> Any:
    """A `JSONData` value as read by Core (psycopg decodes JSONB itself)."""
    return value if pg or value is None else json.loads(value)
