"""`/api/v1/tickets`: the ticket list and a ticket's detail, for keys with the reader role or above."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from gateway.api.routing import RoutingOut, routing_out
from gateway.deps import Caller, Id, PageNumber, State
from tickets import repository
from tickets.access.apikeys import Role
from tickets.inbox.citizens import get_citizen_key
from tickets.lifecycle import Status
from tickets.masking import mask_identifier, mask_text
from tickets.repository import Ticket, TicketFilter
from tickets.routing import store as routing_store

router = APIRouter(prefix="/api/v1", tags=["tickets"])


class LocationOut(BaseModel):
    """Where the problem is."""

    address: str
    latitude: float | None
    longitude: float | None
    label: str


class TicketOut(BaseModel):
    """A ticket as listed."""

    id: int
    number: str
    status: Status
    channel: str
    description: str
    location: LocationOut
    tracking_url: str
    unit: str
    expected_at: datetime | None
    created_at: datetime
    updated_at: datetime


class EventOut(BaseModel):
    """One change on the timeline."""

    status_from: Status | None
    status_to: Status
    actor: str
    note: str
    unit: str
    expected_at: datetime | None
    created_at: datetime


class AttachmentOut(BaseModel):
    """A photo, voice note or video kept on the channel's platform."""

    kind: str
    media_id: str
    url: str
    note: str


class CitizenOut(BaseModel):
    """The citizen's channel identity, masked."""

    channel: str
    account: str
    user: str


class TicketDetail(TicketOut):
    """A ticket with its timeline and attachments."""

    citizen: CitizenOut | None
    timeline: list[EventOut]
    attachments: list[AttachmentOut]
    routing: RoutingOut | None = None  # type, zone, urgency, recommended units (None: opened without routing)


class TicketPage(BaseModel):
    """One page of the ticket list."""

    items: list[TicketOut]
    total: int
    page: int
    per_page: int


def _out(ticket: Ticket, base_url: str) -> TicketOut:
    return TicketOut(
        id=ticket.id, number=ticket.number, status=ticket.status, channel=ticket.channel,
        description=mask_text(ticket.description),
        location=LocationOut(address=mask_text(ticket.address), latitude=ticket.latitude,
                             longitude=ticket.longitude, label=mask_text(ticket.location_label)),
        tracking_url=f"{base_url}/t/{ticket.tracking_code}", unit=ticket.unit, expected_at=ticket.expected_at,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
    )


@router.get("/tickets")
def list_tickets(
    state: State,
    caller: Caller,
    status: Status | None = None,
    channel: str | None = None,
    created_since: datetime | None = None,
    page: PageNumber = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TicketPage:
    """Tickets, newest first, filtered by status, channel and creation time; paginated."""
    caller.require(Role.READER)
    flt = TicketFilter(status=status, channel=channel, created_since=created_since)
    with state.engine.connect() as conn:
        result = repository.list_tickets(conn, flt, limit=per_page, offset=(page - 1) * per_page)
    base = state.settings.public_base_url
    return TicketPage(items=[_out(t, base) for t in result.items], total=result.total, page=page,
                      per_page=per_page)


@router.get("/tickets/{ticket_id}")
def get_ticket(ticket_id: Id, state: State, caller: Caller) -> TicketDetail:
    """One ticket with its timeline, attachments and the citizen's masked identity."""
    caller.require(Role.READER)
    with state.engine.connect() as conn:
        ticket = repository.get_ticket(conn, ticket_id)
        events = repository.timeline(conn, ticket_id)
        media = repository.ticket_attachments(conn, ticket_id)
        key = get_citizen_key(conn, ticket.citizen_id) if ticket.citizen_id else None
        routed = routing_store.routing_of(conn, ticket_id)
    citizen = CitizenOut(channel=key.channel, account=key.account, user=mask_identifier(key.external_id)) \
        if key else None
    return TicketDetail(
        **_out(ticket, state.settings.public_base_url).model_dump(),
        citizen=citizen,
        timeline=[EventOut(status_from=e.status_from, status_to=e.status_to, actor=e.actor, note=mask_text(e.note),
                           unit=e.unit, expected_at=e.expected_at, created_at=e.created_at) for e in events],
        attachments=[AttachmentOut(kind=a.kind, media_id=a.media_id, url=a.url, note=mask_text(a.note)) for a in media],
        routing=routing_out(routed),
    )
