"""Routing a ticket after the commit that opened it (tickets/opening.py `route_later`).

A citizen's request that is not urgent is opened with a stub of its `ticket.created` event on the outbox: the
row stands in the outbox's order, before any later event about the ticket. Before the row is posted, the
worker routes the ticket (classification, deadline) and completes the row, in one transaction: a retried row
finds its event complete and the ticket routed, and is only posted; so does a row whose ticket an officer's review
routed meanwhile (tickets/opening.py `route_now`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from tickets import dispatch, opening, outbox
from tickets.clock import utcnow
from workers.context import WorkerContext


def complete_event(context: WorkerContext, row: outbox.OutboxRow) -> dict[str, Any]:
    """The row's payload to post: a pending `ticket.created` routed and completed first, any other as it is."""
    if not dispatch.is_pending(row.payload):
        return row.payload
    try:
        with context.engine.begin() as conn:
            event = opening.route_opened(conn, int(row.payload["ticket_id"]), context.desk.opening, utcnow(),
                                         citizen_ref=str(row.payload.get("citizen_ref") or ""))
            outbox.set_payload(conn, row.id, event)
    except IntegrityError:
        # Routed since the row was claimed, by an officer's review (opening.route_now), which completed the row.
        with context.engine.connect() as conn:
            payload = outbox.payload_of(conn, row.id)
        if payload is None or dispatch.is_pending(payload):
            raise
        return payload
    return event
