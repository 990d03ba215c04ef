"""Opening a ticket: the one path every channel takes (the chat, the mini-program, Open311, an officer).

In one transaction, in this order, each step once:

    triage it (language/triage): a danger now makes it urgent
    -> store it (status received, its urgency, its attachments, the first timeline event)
    -> file it under the zone the citizen chose, if any
    -> classify it (type, zone when none was chosen, district, recommended units) and keep that with the triage
    -> give it its deadline, from its zone and type as they now stand (an urgent one: the zone's clock hours)
    -> hand it to the dispatch system: the `ticket.created` event on the outbox, with all of the above
       (`priority: "urgent"` for a danger), and raise an urgent ticket's warning
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from language.triage import Decision, Triage
from tickets import dispatch, repository, safety, warnings, zones
from tickets.deadlines import policy as deadlines
from tickets.deadlines.policy import Policy
from tickets.metrics import TICKETS_OPENED, on_commit
from tickets.repository import NewTicket, Ticket
from tickets.routing import store as routing
from tickets.routing.store import RoutingConfig


@dataclass(frozen=True, slots=True)
class OpeningRules:
    """What opening a ticket is configured with."""

    tz: ZoneInfo
    routing: RoutingConfig = RoutingConfig()
    deadlines: Policy = field(default_factory=lambda: deadlines.default_policy())
    triage: Triage = field(default_factory=lambda: safety.triager())
    safety: safety.SafetyBook = field(default_factory=lambda: safety.book())


def open_ticket(conn: sa.Connection, new: NewTicket, rules: OpeningRules, now: datetime, *, zone: str = "",
                citizen_ref: str = "", decision: Decision | None = None) -> Ticket:
    """Triage, store, file, classify, time and hand over a new ticket, inside the caller's transaction.

    `zone` is a hot-topic zone the citizen chose ("" lets the classifier decide); `citizen_ref` is the
    masked reference to the citizen that the dispatch system sees; `decision` is the triage the caller
    already made of this description (the chat makes it as the citizen writes), else it is made here.
    """
    decision = decision or rules.triage(new.description)
    urgent = decision.danger
    ticket = repository.open_ticket(conn, replace(new, urgency="urgent" if urgent else "normal"), now, rules.tz)
    if zone:
        zones.set_zone(conn, ticket.id, zone)
    routed = routing.classify_new_ticket(conn, ticket, now, rules.routing, zone=zone, decision=decision)
    hours = rules.safety.urgent_deadline_hours(routed.zone) if urgent else None
    due = deadlines.assign(conn, ticket.id, rules.deadlines, now, ticket_type_=routed.result.kind, urgent_hours=hours)
    dispatch.ticket_created(conn, ticket, routed, due_at=due, citizen_ref=citizen_ref, now=now, decision=decision)
    if urgent:
        warnings.raise_urgent(conn, ticket, routed.zone, decision, now)
    on_commit(conn, TICKETS_OPENED.labels(ticket.channel, routed.zone or "none", ticket.urgency or "normal").inc)
    return ticket
