"""Driver-level statements keep SQLAlchemy's error handling: its exception classes and its pool invalidation.

fastsql relies on one private SQLAlchemy routine (`Connection._handle_dbapi_exception`); these tests fail
loudly if an upgrade changes what it does.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tickets.storage import fastsql
from tickets.storage.db import is_postgres

INSERT = fastsql.Sql("INSERT INTO api_keys (name, prefix, key_hash, role, created_at) VALUES (?, ?, ?, ?, ?)")
SELECT_ONE = fastsql.Sql("SELECT 1")


def test_a_unique_key_collision_is_sqlalchemys_integrity_error(engine: Engine) -> None:
    stamp = fastsql.bind_time(is_postgres(engine), datetime.now(UTC))
    row = ("dispatch", "pgk_abc", "h" * 64, "reader", stamp)
    with engine.connect() as conn, conn.begin():
        fastsql.run(conn, INSERT, row)
        with pytest.raises(sa.exc.IntegrityError):
            fastsql.run(conn, INSERT, row)
        conn.rollback()
    with engine.connect() as conn:  # the connection went back to the pool usable, the transaction undone
        assert fastsql.fetch(conn, fastsql.Sql("SELECT COUNT(*) FROM api_keys")) == [(0,)]


def test_a_dropped_connection_is_invalidated_and_the_next_checkout_reconnects(engine: Engine) -> None:
    with engine.connect() as conn:
        assert fastsql.fetch(conn, SELECT_ONE) == [(1,)]
        if is_postgres(engine):
            pid = conn.connection.driver_connection.info.backend_pid
            with engine.connect() as killer:
                killer.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        else:
            conn.connection.driver_connection.close()  # the file handle gone under SQLAlchemy's feet
        with pytest.raises(sa.exc.DBAPIError) as caught:
            fastsql.fetch(conn, SELECT_ONE)
        assert caught.value.connection_invalidated
    with engine.connect() as conn:
        assert fastsql.fetch(conn, SELECT_ONE) == [(1,)]
