"""`/t/{code}`: the public progress page of a ticket (no personal data)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from gateway.deps import State
from gateway.pages import page
from tickets import repository
from tickets.codes import looks_like_tracking_code
from tickets.errors import NotFound
from tickets.masking import mask_text

router = APIRouter(tags=["citizens"])


@router.get("/t/{code}", response_class=HTMLResponse)
def tracking_page(code: str, state: State) -> HTMLResponse:
    """A ticket's status and timeline for whoever holds its tracking code."""
    tz = state.settings.timezone
    code = code.strip().upper()
    if not looks_like_tracking_code(code):
        return page("not_found.html", tz, status_code=404)
    try:
        with state.engine.connect() as conn:
            ticket = repository.find_ticket(conn, tracking_code=code)
            events = repository.timeline(conn, ticket.id)
    except NotFound:
        return page("not_found.html", tz, status_code=404)
    place = ticket.address or ticket.location_label
    return page("tracking.html", tz, ticket=ticket, timeline=events, description=mask_text(ticket.description),
                place=mask_text(place))
