"""The lifecycle rules and status changes with their timeline, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from tickets import repository
from tickets.errors import InvalidTransition
from tickets.lifecycle import Status, can_move, check_move
from tickets.repository import NewTicket

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(("current", "target"), [
    (Status.RECEIVED, Status.ACCEPTED), (Status.ACCEPTED, Status.DISPATCHED),
    (Status.DISPATCHED, Status.IN_PROGRESS), (Status.IN_PROGRESS, Status.RESOLVED),
    (Status.RESOLVED, Status.CLOSED), (Status.RESOLVED, Status.REOPENED), (Status.RECEIVED, Status.REJECTED),
    (Status.REOPENED, Status.IN_PROGRESS), (Status.DISPATCHED, Status.ACCEPTED), (Status.CLOSED, Status.REOPENED),
])
def test_allowed(current: Status, target: Status) -> None:
    assert can_move(current, target)
    check_move(current, target)


@pytest.mark.parametrize(("current", "target"), [
    (Status.RECEIVED, Status.CLOSED), (Status.RESOLVED, Status.IN_PROGRESS), (Status.MERGED, Status.REOPENED),
    (Status.CLOSED, Status.RESOLVED), (Status.RECEIVED, Status.RECEIVED),
])
def test_refused(current: Status, target: Status) -> None:
    with pytest.raises(InvalidTransition) as info:
        check_move(current, target)
    assert info.value.current == current.value


def test_change_status_records_timeline(engine: Engine) -> None:
    with engine.begin() as conn:
        ticket = repository.open_ticket(conn, NewTicket("wechat", None, "占道经营"), NOW, ZoneInfo("Asia/Shanghai"))
        repository.change_status(conn, ticket.id, Status.ACCEPTED, actor="dispatch", note="已受理", now=NOW)
        with pytest.raises(InvalidTransition):
            repository.change_status(conn, ticket.id, Status.CLOSED, actor="dispatch", note="", now=NOW)
        events = repository.timeline(conn, ticket.id)
        assert repository.get_ticket(conn, ticket.id).status is Status.ACCEPTED
    assert [(e.status_from, e.status_to, e.note) for e in events] == [
        (None, Status.RECEIVED, ""), (Status.RECEIVED, Status.ACCEPTED, "已受理"),
    ]


def test_concurrent_migrations_are_safe(tmp_path: object, postgres_migrated: str) -> None:
    """web, worker and relay start together and each migrates: one does, the others wait."""
    from concurrent.futures import ThreadPoolExecutor

    import sqlalchemy as sa
    from alembic.script import ScriptDirectory

    from tickets.storage.db import MIGRATIONS, create_db_engine, migrate

    race = postgres_migrated.rsplit("/", 1)[1] + "_migrate_race"  # beside the suite's own test database
    admin = create_db_engine(postgres_migrated)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("SET statement_timeout = 0")  # CREATE DATABASE can outlast the app's 3 s on a busy disk
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {race}")
        conn.exec_driver_sql(f"CREATE DATABASE {race}")
    admin.dispose()
    urls = [postgres_migrated.rsplit("/", 1)[0] + f"/{race}",
            f"sqlite:///{tmp_path}/race.db"]
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    for url in urls:
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(migrate, [url] * 3))
        engine = create_db_engine(url)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == head
        engine.dispose()
