"""Opening a ticket: the one path every channel takes (the chat, the mini-program, Open311, an officer).

In one transaction, in this order, each step once:

    store it (status received, its attachments, the first timeline event)
    -> file it under the zone the citizen chose, if any
    -> classify it (type, zone when none was chosen, district, urgency, recommended units) and keep that
    -> give it its deadline, from its zone and type as they now stand
    -> hand it to the dispatch system: the `ticket.created` event on the outbox, with all of the above
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from tickets import dispatch, repository, zones
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


def open_ticket(conn: sa.Connection, new: NewTicket, rules: OpeningRules, now: datetime, *, zone: str = "",
                citizen_ref: str = "") -> Ticket:
    """Store, file, classify, time and hand over a new ticket, inside the caller's transaction.

    `zone` is a hot-topic zone the citizen chose ("" lets the classifier decide); `citizen_ref` is the
    masked reference to the citizen that the dispatch system sees.
    """
    ticket = repository.open_ticket(conn, new, now, rules.tz)
    if zone:
        zones.set_zone(conn, ticket.id, zone)
    routed = routing.classify_new_ticket(conn, ticket, now, rules.routing, zone=zone)
    due = deadlines.assign(conn, ticket.id, rules.deadlines, now, ticket_type_=routed.result.kind)
    dispatch.ticket_created(conn, ticket, routed, due_at=due, citizen_ref=citizen_ref, now=now)
    on_commit(conn, TICKETS_OPENED.labels(ticket.channel, routed.zone or "none", routed.result.urgency or "none").inc)
    return ticket
