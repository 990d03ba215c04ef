"""`/console/tickets`: the officers' ticket list (filters, search, pages, CSV) and a ticket's page."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import PurePosixPath
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from gateway.console import ticket_data as data
from gateway.console.auth import SECURITY_HEADERS, SignedIn, console_page
from gateway.console.phone_call import advice_of
from gateway.console.queries import PER_PAGE, URGENCIES, ListFilter, csv_lines, distinct_values, list_page
from gateway.deps import Id, State
from gateway.uploads import LocalFolderStore, content_type
from tickets import attachments as stored_media
from tickets import dispatch, petitions, repository, zones
from tickets.access.officers import UserRole
from tickets.clock import utcnow
from tickets.deadlines import policy as deadlines
from tickets.errors import NotFound
from tickets.lifecycle import Status, can_move
from tickets.masking import mask_text
from tickets.routing import store as routing_store
from tickets.storage.db import reader
from tickets.storage.schema import tickets

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)


@router.get("/tickets", response_class=HTMLResponse)
def ticket_list(request: Request, state: State, officer: SignedIn) -> Response:
    """Tickets filtered by status, channel, zone, unit, urgency, overdue and dates, searched by description; open
    urgent tickets first."""
    flt = ListFilter.parse(request.query_params)
    tz = state.settings.tz
    with reader(state.engine).connect() as conn:
        rows, total = list_page(conn, flt, utcnow(), tz)
        options = {name: distinct_values(conn, column) for name, column in
                   (("channel", tickets.c.channel), ("zone", tickets.c.zone), ("unit", tickets.c.unit))}
    pages = max(1, -(-total // PER_PAGE))
    mask = not officer.user.can(UserRole.ADMIN)
    return console_page(state, "tickets.html", officer, flt=flt, rows=rows, total=total, pages=pages,
                        options=options, statuses=[s.value for s in Status], urgencies=URGENCIES,
                        summary=lambda text: (mask_text(text) if mask else text)[:60])


@router.get("/tickets.csv")
def ticket_csv(request: Request, state: State, officer: SignedIn) -> Response:
    """The filtered list as CSV (every page)."""
    flt = ListFilter.parse(request.query_params)
    tz, now, mask = state.settings.tz, utcnow(), not officer.user.can(UserRole.ADMIN)

    def lines() -> Iterator[str]:
        with reader(state.engine).connect() as conn:
            yield from csv_lines(conn, flt, now, tz, mask=mask)

    stamp = now.astimezone(tz).strftime("%Y%m%d-%H%M")
    disposition = f'attachment; filename="tickets-{stamp}.csv"'
    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8",
                             headers={**SECURITY_HEADERS, "Content-Disposition": disposition})


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
def ticket_page(ticket_id: Id, request: Request, state: State, officer: SignedIn) -> Response:
    """A ticket with its messages, photos, place, timeline, notifications, co-signers and the officers' actions.

    Only admins see the free text whole; for everyone else numbers in the description, the address, the
    place's label, the notes of the timeline, photos and notifications, and the messages are masked.
    """
    admin = officer.user.can(UserRole.ADMIN)
    mask = not admin
    try:
        with reader(state.engine).connect() as conn:
            ticket = repository.get_ticket(conn, ticket_id)
            petition = petitions.for_ticket(conn, ticket_id)
            routed = routing_store.routing_of(conn, ticket_id)
            timeline = repository.timeline(conn, ticket_id)
            context: dict[str, Any] = {
                "zone": zones.zones_of(conn, [ticket_id]).get(ticket_id, ""),
                "routed": routed,
                # Routed by a worker after its commit (tickets/opening.py): in a moment.
                "routing_pending": routed is None and dispatch.awaits_routing(conn, ticket_id),
                "units": data.unit_choices(conn, routed, ticket.unit),
                "kinds": data.kind_names(conn),
                "timeline": [replace(e, note=mask_text(e.note)) for e in timeline] if mask else timeline,
                "messages": data.messages(conn, ticket_id, ticket.citizen_id, ticket.created_at, mask=mask),
                "photos": data.photos(conn, ticket_id, mask=mask),
                "notifications": data.notices(conn, ticket_id, ticket.citizen_id, mask=mask),
                "cosigners": data.cosigners(conn, petition.id, show_names=admin) if petition else [],
                "due_at": deadlines.due_of(conn, [ticket_id]).get(ticket_id),
            }
    except NotFound:
        return console_page(state, "missing.html", officer, status_code=404)
    done = request.query_params.get("done", "")
    if done == "filed":  # just filed by phone (filing.py): what to read back to the caller
        context["advice"] = advice_of(state.desk.safety, routed["triage"]) if routed else None
        context["tracking_url"] = f"{state.settings.public_base_url}/t/{ticket.tracking_code}"
    next_statuses = [s.value for s in Status if s is not Status.MERGED and can_move(ticket.status, s)]
    if mask:
        ticket = replace(ticket, description=mask_text(ticket.description), address=mask_text(ticket.address),
                         location_label=mask_text(ticket.location_label))
    return console_page(state, "ticket.html", officer, ticket=ticket, petition=petition,
                        description=ticket.description if not mask else mask_text(ticket.description),
                        next_statuses=next_statuses, can_merge=can_move(ticket.status, Status.MERGED), now=utcnow(),
                        failure_reason=data.failure_reason,
                        done=done, error=request.query_params.get("error", ""),
                        **context)


@router.get("/attachments/{attachment_id}", response_class=Response)
def attachment(attachment_id: Id, state: State, officer: SignedIn) -> Response:
    """A photo the gateway keeps (mini-program uploads), for signed-in officers."""
    with reader(state.engine).connect() as conn:
        key = stored_media.stored_key(conn, attachment_id)
    try:
        if key is None:
            raise NotFound(f"attachment {attachment_id}")
        body = LocalFolderStore(state.settings.uploads_path).read(key)
    except NotFound:
        return console_page(state, "missing.html", officer, status_code=404)
    extension = PurePosixPath(key).suffix.lstrip(".")
    return Response(body, media_type=content_type(extension), headers={
        **SECURITY_HEADERS, "Cache-Control": "private, no-store",
        "Content-Disposition": f'inline; filename="attachment-{attachment_id}.{extension}"'})
