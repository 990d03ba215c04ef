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
