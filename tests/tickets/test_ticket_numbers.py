"""The day's ticket numbers: one after another, and on PostgreSQL taken outside the opening's transaction."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tickets.codes import next_ticket_number
from tickets.storage.db import create_db_engine, is_postgres
from tickets.storage.schema import counters


def test_numbers_follow_each_other_within_a_day_and_start_again_the_next(engine: Engine) -> None:
    with engine.begin() as conn:
        taken = [next_ticket_number(conn, date(2026, 11, 23)) for _ in range(3)]
        taken.append(next_ticket_number(conn, date(2026, 11, 24)))
    assert taken == ["20261123-0001", "20261123-0002", "20261123-0003", "20261124-0001"]


def test_a_number_is_kept_when_the_opening_rolls_back_on_postgres_and_not_on_sqlite(engine: Engine) -> None:
    """PostgreSQL commits the counter at once (an opening that rolls back leaves a gap); SQLite, with one
    writer at a time, takes it in the opening's own transaction."""
    with engine.connect() as conn, conn.begin() as tx:
        assert next_ticket_number(conn, date(2026, 11, 23)) == "20261123-0001"
        tx.rollback()
    with engine.begin() as conn:
        kept = conn.execute(sa.select(counters.c.value).where(counters.c.name == "ticket:20261123")).scalar()
    assert kept == (1 if is_postgres(engine) else None)


def test_postgres_opening_does_not_hold_the_counter_row(db_url: str) -> None:
    """While one opening's transaction is still open, another takes the next number without waiting for it."""
    engine = create_db_engine(db_url, lock_wait_s=0.2)  # a held row: LockNotAvailable after 0.2 s, no hang
    try:
        if not is_postgres(engine):
            return  # SQLite: one writer at a time holds the whole database anyway
        with engine.connect() as first, first.begin():
            assert next_ticket_number(first, date(2026, 11, 23)) == "20261123-0001"
            with engine.connect() as second, second.begin():
                assert next_ticket_number(second, date(2026, 11, 23)) == "20261123-0002"
            assert first.in_transaction()  # the caller's transaction is left as it was
    finally:
        engine.dispose()
