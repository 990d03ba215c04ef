"""Opening a ticket: the one path every channel takes (the chat, the mini-program, Open311, an officer).

In one transaction, in this order, each step once:

    triage it (language/triage): a danger now makes it urgent
    -> store it (status received, its urgency, its attachments, the first timeline event)
    -> file it under the zone the citizen chose, if any
    -> route it (`_route`): classify it (type, zone when none was chosen, district, recommended units) and
       keep that with the triage; give it its deadline, from its zone and type as they now stand (an urgent
       one: the zone's clock hours); the `ticket.created` event for the dispatch system on the outbox, with all
       of the above (`priority: "urgent"` for a danger); raise an urgent ticket's warning

A citizen's request opened with `route_later` (the chat and the mini-program: a citizen waits for the answer;
not Open311, whose answer names the deadline) is routed after the commit instead, unless it is urgent: its
`ticket.created` row is written now, in the outbox's order, as a stub the worker completes (`route_opened`)
before it posts it. The answer says only that the request is registered, under which number: nothing of the
routing. Routing a ticket costs about as much CPU as the rest of the chat step that opens it
(docs/performance.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from language.triage import Decision, Triage
from tickets import dispatch, outbox, repository, safety, warnings, zones
from tickets.deadlines import policy as deadlines
from tickets.deadlines.policy import Policy
from tickets.metrics import TICKETS_OPENED, on_commit
from tickets.repository import NewTicket, Ticket
from tickets.routing import store as routing
from tickets.routing.store import RoutingConfig
from tickets.storage.schema import tickets

# How long a ticket routed after its commit is expected to wait for a worker: past it, the cluster sweep compares
# it without its routing (the workers are down).
ROUTING_WAIT = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class OpeningRules:
    """What opening a ticket is configured with."""

    tz: ZoneInfo
    routing: RoutingConfig = RoutingConfig()
    deadlines: Policy = field(default_factory=lambda: deadlines.default_policy())
    triage: Triage = field(default_factory=lambda: safety.triager())
    safety: safety.SafetyBook = field(default_factory=lambda: safety.book())


def open_ticket(conn: sa.Connection, new: NewTicket, rules: OpeningRules, now: datetime, *, zone: str = "",
                citizen_ref: str = "", decision: Decision | None = None, route_later: bool = False) -> Ticket:
    """Triage, store, file and route a new ticket, inside the caller's transaction.

    `zone` is a hot-topic zone the citizen chose ("" lets the classifier decide); `citizen_ref` is the
    masked reference to the citizen that the dispatch system sees; `decision` is the triage the caller
    already made of this description (the chat makes it as the citizen writes), else it is made here.
    `route_later`: a ticket that is not urgent is routed by a worker after the commit (`route_opened`).
    """
    decision = decision or rules.triage(new.description)
    urgent = decision.danger
    ticket = repository.open_ticket(conn, replace(new, urgency="urgent" if urgent else "normal"), now, rules.tz)
    if zone:
        zones.set_zone(conn, ticket.id, zone)
    if route_later and not urgent:
        dispatch.ticket_created_later(conn, ticket, citizen_ref=citizen_ref, now=now)
        return ticket
    event, zone = _route(conn, ticket, rules, now, zone=zone, citizen_ref=citizen_ref, decision=decision)
    dispatch.ticket_created(conn, event, now=now)
    if urgent:
        warnings.raise_urgent(conn, ticket, zone, decision, now)
    return ticket


def route_opened(conn: sa.Connection, ticket_id: int, rules: OpeningRules, now: datetime, *,
                 citizen_ref: str = "") -> dict[str, Any]:
    """Route a ticket opened with `route_later`, in the caller's transaction; returns its `ticket.created` event.

    Its deadline counts from when it was opened, not from now. Once only: a ticket routed already raises
    IntegrityError (its classification's key), and the caller's transaction rolls back.
    """
    ticket = repository.get_ticket(conn, ticket_id)
    zone = conn.execute(sa.select(tickets.c.zone).where(tickets.c.id == ticket_id)).scalar_one() or ""
    decision = rules.triage(ticket.description)  # not a danger: it would have been routed at once
    event = _route(conn, ticket, rules, now, zone=zone, citizen_ref=citizen_ref, decision=decision)[0]
    routing.keep_final_unit(conn, ticket.id, now)  # a unit an officer gave it meanwhile (routing_store.record_unit)
    return event


def route_now(conn: sa.Connection, ticket_id: int, rules: OpeningRules, now: datetime) -> None:
    """Route here, in the caller's transaction, a ticket that still waits for a worker, and complete its
    `ticket.created` row, which the worker then only posts. An officer's review of its type, zone or district
    (`routing.record_review`) is kept on its classification, which must exist first.

    A worker that routes it at the same moment wins: this routing is undone (a savepoint) and the worker's stands.
    """
    waiting = dispatch.waiting_created(conn, ticket_id)
    if waiting is None:
        return
    row_id, stub = waiting
    try:
        with conn.begin_nested():
            event = route_opened(conn, ticket_id, rules, now, citizen_ref=str(stub.get("citizen_ref") or ""))
            outbox.set_payload(conn, row_id, event)
    except IntegrityError:
        if dispatch.waiting_created(conn, ticket_id) is not None:
            raise  # not the worker's routing: something else refused it


def _route(conn: sa.Connection, ticket: Ticket, rules: OpeningRules, now: datetime, *, zone: str, citizen_ref: str,
           decision: Decision) -> tuple[dict[str, Any], str]:
    """Classify and time a stored ticket; returns its `ticket.created` event and its zone now."""
    urgent = ticket.urgency == "urgent"  # as stored when it opened (the triage's decision then)
    routed = routing.classify_new_ticket(conn, ticket, now, rules.routing, zone=zone, decision=decision)
    hours = rules.safety.urgent_deadline_hours(routed.zone) if urgent else None
    due = deadlines.assign(conn, ticket.id, rules.deadlines, now, ticket_type_=routed.result.kind, urgent_hours=hours)
    on_commit(conn, TICKETS_OPENED.labels(ticket.channel, routed.zone or "none", ticket.urgency or "normal").inc)
    return dispatch.created_payload(ticket, routed, due_at=due, citizen_ref=citizen_ref, decision=decision), routed.zone
