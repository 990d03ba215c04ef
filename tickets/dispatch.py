"""Handing a new ticket to the city's dispatch system: a `ticket.created` event on the outbox.

The event carries what dispatch needs to act (the request, the place, the classification and the
recommended units) and nothing more of the citizen than the channel and a masked reference:
workers/webhooks.py posts it, HMAC-signed, to DISPATCH_WEBHOOK_URL and retries until it is taken.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from language.triage import Decision
from tickets import outbox
from tickets.masking import mask_text, withhold_numbers
from tickets.repository import Ticket
from tickets.routing.store import Routed
from tickets.storage.schema import outbox as outbox_rows


def created_payload(ticket: Ticket, routed: Routed, *, due_at: datetime, citizen_ref: str,
                    decision: Decision | None = None) -> dict[str, Any]:
    """The `ticket.created` event of a ticket (personal data in the text masked).

    An urgent ticket (a danger now) says `priority: "urgent"` and carries the triage's reasons: the
    dispatch system sends it on at once.
    """
    result, auto_dispatch = routed.result, routed.auto_dispatch
    # A confidential report (举报) keeps the reporter's identity from the units: no reference, no number.
    hide = withhold_numbers if ticket.confidential else mask_text
    return {
        "priority": ticket.urgency, "triage": decision.to_data(hide) if decision is not None else None,
        "event": "ticket.created", "ticket_id": ticket.id, "number": ticket.number, "channel": ticket.channel,
        "created_at": ticket.created_at.isoformat(), "status": ticket.status.value, "zone": routed.zone,
        "due_at": due_at.astimezone(UTC).isoformat(),
        "description": hide(ticket.description),
        "location": {"address": hide(ticket.address), "latitude": ticket.latitude,
                     "longitude": ticket.longitude, "label": hide(ticket.location_label)},
        "citizen": {"channel": ticket.channel, "ref": "" if ticket.confidential else citizen_ref,
                    "confidential": ticket.confidential},
        "classification": {"type": result.kind, "zone": result.zone, "category": result.category,
                           "urgency": ticket.urgency, "district": result.district, "place": result.place,
                           "vague": result.vague, "confidence": result.confidence,
                           "catalogue_version": result.catalogue_version, "model_version": result.model_version},
        "recommendations": [r.to_data() for r in result.recommendations],
        # Confident enough to dispatch without an officer: the unit to send it to ("" = an officer decides).
        "auto_dispatch": auto_dispatch, "unit": result.top_unit if auto_dispatch else "",
    }


def ticket_created(conn: sa.Connection, payload: dict[str, Any], *, now: datetime) -> int:
    """Write the `ticket.created` event (`created_payload`) in the ticket's transaction; returns the outbox row id."""
    return outbox.put(conn, outbox.Topic.DISPATCH, payload, now)


ROUTING_PENDING = "pending"  # the `routing` of a `ticket.created` row a worker completes before posting it


def ticket_created_later(conn: sa.Connection, ticket: Ticket, *, citizen_ref: str, now: datetime) -> int:
    """Write the `ticket.created` event of a ticket routed after the commit (tickets/opening.py `route_later`): a
    stub in the outbox's order, so no later event about the ticket reaches dispatch before it; the worker routes
    the ticket and completes the row before posting it (workers/routing.py)."""
    return outbox.put(conn, outbox.Topic.DISPATCH, {"event": "ticket.created", "ticket_id": ticket.id,
                                                    "number": ticket.number, "routing": ROUTING_PENDING,
                                                    "citizen_ref": citizen_ref}, now)


def is_pending(payload: dict[str, Any]) -> bool:
    """A `ticket.created` row whose ticket is not routed yet (`ticket_created_later`)."""
    return payload.get("event") == "ticket.created" and payload.get("routing") == ROUTING_PENDING


def awaits_routing(conn: sa.Connection, ticket_id: int) -> bool:
    """Whether the ticket's `ticket.created` row still waits for a worker to route it (the console says so)."""
    return waiting_created(conn, ticket_id) is not None


def waiting_created(conn: sa.Connection, ticket_id: int) -> tuple[int, dict[str, Any]] | None:
    """The ticket's `ticket.created` row that still waits for a worker to route it: its id and its stub."""
    row = conn.execute(sa.select(outbox_rows.c.id, outbox_rows.c.payload).where(
        outbox_rows.c.topic == outbox.Topic.DISPATCH,
        outbox_rows.c.status.in_((outbox.PENDING, outbox.QUEUED, outbox.RUNNING)),
        outbox_rows.c.payload["ticket_id"].as_integer() == ticket_id,
        outbox_rows.c.payload["routing"].as_string() == ROUTING_PENDING).limit(1)).first()
    return (int(row.id), dict(row.payload)) if row is not None else None
