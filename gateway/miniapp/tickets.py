"""`/api/v1/miniapp/tickets`: the citizen's own tickets, one's timeline, and rating a resolved one."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Query

from bots.texts import render
from gateway.deps import Id, State
from gateway.miniapp.models import (
    EvaluationIn,
    EvaluationOut,
    TicketBrief,
    TicketList,
    TimelineItem,
    TimelineOut,
)
from gateway.miniapp.session import MiniappSession, Session, refusal
from gateway.state import AppState
from tickets import progress, repository, zones
from tickets.clock import utcnow
from tickets.errors import InvalidTransition, NotFound
from tickets.inbox.message import Channel
from tickets.lifecycle import Status
from tickets.repository import Ticket, TicketFilter
from tickets.storage.db import reader

router = APIRouter()


def brief(state: AppState, ticket: Ticket, zone: str) -> TicketBrief:
    """A ticket as its citizen sees it."""
    return TicketBrief(
        id=ticket.id, number=ticket.number, status=ticket.status,
        status_label=render("_status_label", status=ticket.status.value), description=ticket.description,
        place=ticket.address or ticket.location_label, zone=zone,
        tracking_url=f"{state.settings.public_base_url}/t/{ticket.tracking_code}",
        can_rate=ticket.status is Status.RESOLVED, created_at=ticket.created_at, updated_at=ticket.updated_at,
    )



def _own(conn: sa.Connection, session: MiniappSession, ticket_id: int) -> Ticket:
    """The citizen's own ticket; 404 for another's (no hint that it exists)."""
    try:
        ticket = repository.get_ticket(conn, ticket_id)
    except NotFound:
        raise refusal(404, "not_found") from None
    if ticket.citizen_id != session.citizen_id:
        raise refusal(404, "not_found")
    return ticket


@router.get("/tickets")
def my_tickets(session: Session, state: State, limit: Annotated[int, Query(ge=1, le=100)] = 50) -> TicketList:
    """The citizen's own tickets, newest first."""
    with reader(state.engine).connect() as conn:
        page = repository.list_tickets(conn, TicketFilter(citizen_id=session.citizen_id), limit=limit)
        found = zones.zones_of(conn, [t.id for t in page.items])
    return TicketList(items=[brief(state, t, found.get(t.id, "")) for t in page.items], total=page.total)


@router.get("/tickets/{ticket_id}/timeline")
def timeline(ticket_id: Id, session: Session, state: State) -> TimelineOut:
    """One of the citizen's own tickets with every change on it."""
    with reader(state.engine).connect() as conn:
        ticket = _own(conn, session, ticket_id)
        events = repository.timeline(conn, ticket_id)
        zone = zones.zones_of(conn, [ticket_id]).get(ticket_id, "")
    items = [TimelineItem(status=e.status_to, status_label=render("_status_label", status=e.status_to.value),
                          note=e.note, unit=e.unit, expected_at=e.expected_at, created_at=e.created_at)
             for e in events]
    return TimelineOut(ticket=brief(state, ticket, zone), timeline=items)


@router.post("/tickets/{ticket_id}/evaluation", responses={409: {"description": "Not resolved: nothing to rate"}})
def rate(ticket_id: Id, body: EvaluationIn, session: Session, state: State) -> EvaluationOut:
    """Rate one's own resolved ticket: closes it, or reopens it with the reason (channel `alipay`)."""
    with state.engine.connect() as conn, conn.begin():
        _own(conn, session, ticket_id)
        try:
            ticket = progress.evaluate(conn, ticket_id, channel=Channel.ALIPAY.value, satisfaction=body.satisfaction,
                                       solved=body.solved, reason=body.reason, now=utcnow(),
                                       citizen_id=session.citizen_id)
        except InvalidTransition:
            raise refusal(409, "not_rateable") from None
        zone = zones.zones_of(conn, [ticket_id]).get(ticket_id, "")
    reopened = ticket.status is Status.REOPENED
    return EvaluationOut(ticket=brief(state, ticket, zone),
                         message=render("miniapp_rated", reopened=reopened, number=ticket.number))
