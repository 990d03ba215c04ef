"""Tickets: open, read, list and move along the lifecycle, each change an event on the timeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from tickets import petitions
from tickets.codes import new_tracking_code, next_ticket_number
from tickets.errors import NotFound
from tickets.lifecycle import Status, check_move
from tickets.storage import fastsql
from tickets.storage.db import is_postgres
from tickets.storage.schema import attachments, ticket_events, tickets


@dataclass(frozen=True, slots=True)
class NewAttachment:
    """A photo, voice note or video to keep with a ticket."""

    kind: str
    media_id: str = ""
    url: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class NewTicket:
    """What a confirmed draft becomes."""

    channel: str
    citizen_id: int | None
    description: str
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None
    location_label: str = ""
    attachments: tuple[NewAttachment, ...] = ()
    urgency: str = "normal"  # "urgent" when the triage found a danger now
    confidential: bool = False  # keep the citizen's identity from the units


@dataclass(frozen=True, slots=True)
class Ticket:
    """A stored ticket."""

    id: int
    number: str
    tracking_code: str
    channel: str
    citizen_id: int | None
    status: Status
    description: str
    address: str
    latitude: float | None
    longitude: float | None
    location_label: str
    created_at: datetime
    updated_at: datetime
    unit: str = ""
    expected_at: datetime | None = None
    resolved_at: datetime | None = None
    evaluation_asked_at: datetime | None = None
    evaluation_asks: int = 0
    urgency: str = "normal"
    confidential: bool = False


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One change on a ticket's timeline."""

    status_from: Status | None
    status_to: Status
    actor: str
    note: str
    created_at: datetime
    unit: str = ""
    expected_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TicketFilter:
    """Filters of the ticket list."""

    status: Status | None = None
    channel: str | None = None
    created_since: datetime | None = None
    citizen_id: int | None = None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of tickets."""

    items: list[Ticket] = field(default_factory=list)
    total: int = 0


def _ticket(row: sa.Row[Any]) -> Ticket:
    return Ticket(
        id=row.id, number=row.number, tracking_code=row.tracking_code, channel=row.channel,
        citizen_id=row.citizen_id, status=Status(row.status), description=row.description,
        address=row.address, latitude=row.latitude, longitude=row.longitude,
        location_label=row.location_label, created_at=row.created_at, updated_at=row.updated_at,
        unit=row.unit, expected_at=row.expected_at, resolved_at=row.resolved_at,
        evaluation_asked_at=row.evaluation_asked_at, evaluation_asks=row.evaluation_asks, urgency=row.urgency,
        confidential=row.confidential,
    )


# open_ticket's statements, run through the driver (tickets/storage/fastsql.py): it is on the webhook's path.
_INSERT_TICKET = (
    "INSERT INTO tickets (number, tracking_code, channel, citizen_id, status, description, address, latitude,"
    " longitude, location_label, created_at, updated_at, urgency, confidential)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_FIRST_EVENT = ("INSERT INTO ticket_events (ticket_id, status_from, status_to, actor, note, created_at)"
                " VALUES ({ticket_id}, NULL, ?, ?, '', ?)")
_OPEN_SQLITE = (fastsql.Sql(_INSERT_TICKET + " RETURNING id"), fastsql.Sql(_FIRST_EVENT.format(ticket_id="?")))
# PostgreSQL: the ticket and its first event in one statement (one round trip).
_OPEN_PG = fastsql.Sql(f"WITH t AS ({_INSERT_TICKET} RETURNING id),"  # noqa: S608 (constants only)
                       f" e AS ({_FIRST_EVENT.format(ticket_id='(SELECT id FROM t)')}) SELECT id FROM t")
_ATTACH = fastsql.Sql("INSERT INTO attachments (ticket_id, kind, media_id, url, note, created_at)"
                      " VALUES (?, ?, ?, ?, ?, ?)")


def open_ticket(conn: sa.Connection, new: NewTicket, now: datetime, tz: ZoneInfo) -> Ticket:
    """Store a new ticket (status received) with its attachments and first timeline event."""
    number = next_ticket_number(conn, now.astimezone(tz).date())
    values = {
        "number": number, "tracking_code": new_tracking_code(), "channel": new.channel,
        "citizen_id": new.citizen_id, "status": Status.RECEIVED.value, "description": new.description,
        "address": new.address, "latitude": new.latitude, "longitude": new.longitude,
        "location_label": new.location_label, "created_at": now, "updated_at": now, "urgency": new.urgency,
        "confidential": new.confidential,
    }
    pg = is_postgres(conn)
    stamp = fastsql.bind_time(pg, now)
    ticket_row = (number, values["tracking_code"], new.channel, new.citizen_id, Status.RECEIVED.value,
                  new.description, new.address, new.latitude, new.longitude, new.location_label, stamp, stamp,
                  new.urgency, new.confidential)
    event_row = (Status.RECEIVED.value, f"citizen:{new.channel}", stamp)
    if pg:
        [(ticket_id,)] = fastsql.fetch(conn, _OPEN_PG, (*ticket_row, *event_row))
    else:
        insert_ticket, insert_event = _OPEN_SQLITE
        [(ticket_id,)] = fastsql.fetch(conn, insert_ticket, ticket_row)
        fastsql.run(conn, insert_event, (ticket_id, *event_row))
    if new.attachments:
        fastsql.run_many(conn, _ATTACH, [(ticket_id, a.kind, a.media_id, a.url, a.note, stamp)
                                         for a in new.attachments])
    return Ticket(id=ticket_id, **{**values, "status": Status.RECEIVED})  # type: ignore[arg-type]


def get_ticket(conn: sa.Connection, ticket_id: int) -> Ticket:
    """The ticket with this id; raises NotFound."""
    row = conn.execute(sa.select(tickets).where(tickets.c.id == ticket_id)).one_or_none()
    if row is None:
        raise NotFound(f"ticket {ticket_id}")
    return _ticket(row)


def find_ticket(conn: sa.Connection, *, number: str | None = None, tracking_code: str | None = None) -> Ticket:
    """The ticket with this number or tracking code; raises NotFound."""
    column, value = (tickets.c.number, number) if number else (tickets.c.tracking_code, tracking_code)
    row = conn.execute(sa.select(tickets).where(column == value)).one_or_none()
    if row is None:
        raise NotFound("ticket")
    return _ticket(row)


def list_tickets(conn: sa.Connection, flt: TicketFilter, *, limit: int = 50, offset: int = 0) -> Page:
    """Tickets matching the filter, newest first, with the total count."""
    conditions = []
    if flt.status is not None:
        conditions.append(tickets.c.status == flt.status.value)
    if flt.channel:
        conditions.append(tickets.c.channel == flt.channel)
    if flt.created_since is not None:
        conditions.append(tickets.c.created_at >= flt.created_since)
    if flt.citizen_id is not None:
        conditions.append(tickets.c.citizen_id == flt.citizen_id)
    where = sa.and_(sa.true(), *conditions)
    total = conn.execute(sa.select(sa.func.count()).select_from(tickets).where(where)).scalar_one()
    rows = conn.execute(
        sa.select(tickets).where(where).order_by(tickets.c.created_at.desc(), tickets.c.id.desc())
        .limit(limit).offset(offset)
    ).all()
    return Page(items=[_ticket(r) for r in rows], total=total)


def timeline(conn: sa.Connection, ticket_id: int) -> list[TimelineEvent]:
    """The ticket's events, oldest first."""
    rows = conn.execute(
        sa.select(ticket_events).where(ticket_events.c.ticket_id == ticket_id).order_by(ticket_events.c.id)
    ).all()
    return [
        TimelineEvent(
            status_from=Status(r.status_from) if r.status_from else None, status_to=Status(r.status_to),
            actor=r.actor, note=r.note, created_at=r.created_at, unit=r.unit, expected_at=r.expected_at,
        )
        for r in rows
    ]


def ticket_attachments(conn: sa.Connection, ticket_id: int) -> list[NewAttachment]:
    """The ticket's photos, voice notes and videos."""
    rows = conn.execute(
        sa.select(attachments).where(attachments.c.ticket_id == ticket_id).order_by(attachments.c.id)
    ).all()
    return [NewAttachment(kind=r.kind, media_id=r.media_id, url=r.url, note=r.note) for r in rows]


@dataclass(frozen=True, slots=True)
class Change:
    """A recorded change: the ticket after it, the status before it, and the timeline event's id."""

    ticket: Ticket
    previous: Status
    event_id: int


def change_status(
    conn: sa.Connection, ticket_id: int, target: Status, *, actor: str, note: str, now: datetime,
    unit: str = "", expected_at: datetime | None = None, external_id: str | None = None,
) -> Change:
    """Move a ticket along the lifecycle (or add a note in its current status), recording the event.

    Raises InvalidTransition for a change the lifecycle does not allow, NotFound for no ticket.
    """
    row = conn.execute(sa.select(tickets).where(tickets.c.id == ticket_id).with_for_update()).one_or_none()
    if row is None:
        raise NotFound(f"ticket {ticket_id}")
    current = Status(row.status)
    if target is not current:
        check_move(current, target)
    values: dict[str, Any] = {"status": target.value, "updated_at": now}
    if unit:
        values["unit"] = unit
    if expected_at is not None:
        values["expected_at"] = expected_at
    if target is Status.RESOLVED and current is not Status.RESOLVED:
        values.update(resolved_at=now, evaluation_asked_at=None, evaluation_asks=0)
    conn.execute(sa.update(tickets).where(tickets.c.id == ticket_id).values(**values))
    event_id = conn.execute(sa.insert(ticket_events).values(
        ticket_id=ticket_id, status_from=current.value, status_to=target.value, actor=actor, note=note,
        created_at=now, unit=unit, expected_at=expected_at, external_id=external_id,
    ).returning(ticket_events.c.id)).scalar_one()
    if target is not current:  # every path that moves a ticket passes here: its petition follows it
        petitions.follow_ticket(conn, ticket_id, target, now)
    return Change(get_ticket(conn, ticket_id), current, int(event_id))


def find_event(conn: sa.Connection, external_id: str) -> tuple[int, int] | None:
    """(ticket id, event id) of a change already recorded under the caller's event id."""
    row = conn.execute(sa.select(ticket_events.c.ticket_id, ticket_events.c.id)
                       .where(ticket_events.c.external_id == external_id)).one_or_none()
    return (row.ticket_id, row.id) if row else None
