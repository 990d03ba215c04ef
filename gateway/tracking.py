"""`/t/{code}`: the public progress page of a ticket (no personal data), and its evaluation form.

Whoever holds the tracking code sees the progress (co-signers get the link by text message); the rating form
shows, and a rating is taken, only with the filer's token `?r=` that their evaluation notices carry
(tickets/codes.py).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.deps import State
from gateway.pages import page
from gateway.state import AppState
from tickets import codes, progress, repository
from tickets.clock import utcnow
from tickets.codes import looks_like_tracking_code
from tickets.errors import InvalidTransition, NotFound
from tickets.lifecycle import Status
from tickets.masking import mask_text
from tickets.progress import Satisfaction
from tickets.storage.db import reader

router = APIRouter(tags=["citizens"])
CSRF_COOKIE = "t_csrf"


def _csrf_token(state: AppState, code: str, nonce: str) -> str:
    message = f"evaluate:{code}:{nonce}".encode()
    return hmac.new(state.settings.secret_key.encode(), message, hashlib.sha256).hexdigest()


def _not_found(state: AppState) -> HTMLResponse:
    return page("not_found.html", state.settings.timezone, status_code=404)


def _filer(state: AppState, code: str, token: str) -> bool:
    """Whether `token` is the rating token of the filer's link to this ticket."""
    return codes.rating_token_ok(codes.rating_key(state.settings.secret_key), code, token)


@router.get("/t/{code}", response_class=HTMLResponse)
def tracking_page(code: str, request: Request, state: State, rated: str = "",
                  r: Annotated[str, Query(max_length=64)] = "") -> Response:
    """A ticket's status and timeline for whoever holds its tracking code; the rating form once resolved, for the
    filer (their link's token)."""
    code = code.strip().upper()
    if not looks_like_tracking_code(code):
        return _not_found(state)
    try:
        with reader(state.engine).connect() as conn:
            ticket = repository.find_ticket(conn, tracking_code=code)
            events = repository.timeline(conn, ticket.id)
    except NotFound:
        return _not_found(state)
    nonce = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(16)
    place = ticket.address or ticket.location_label
    # Officers' and the dispatch system's notes are free text too: a number in them is masked like the citizen's.
    timeline = [replace(event, note=mask_text(event.note)) for event in events]
    resolved = ticket.status is Status.RESOLVED
    filer = bool(r) and _filer(state, code, r)
    response = page("tracking.html", state.settings.timezone, ticket=ticket, timeline=timeline,
                    description=mask_text(ticket.description), place=mask_text(place),
                    can_rate=resolved and filer, awaits_rating=resolved and not filer, rating_token=r if filer else "",
                    rated=rated == "1", csrf=_csrf_token(state, code, nonce))
    response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="strict", max_age=86400)
    response.headers["Referrer-Policy"] = "no-referrer"  # the filer's link carries their rating token
    return response


@router.post("/t/{code}/evaluation")
def rate(
    code: str,
    request: Request,
    state: State,
    satisfaction: Annotated[Satisfaction, Form()],
    solved: Annotated[bool, Form()],
    csrf: Annotated[str, Form()],
    reason: Annotated[str, Form(max_length=1000)] = "",
    r: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """The filer's rating from the progress page: closes the ticket, or reopens it with the reason."""
    code = code.strip().upper()
    nonce = request.cookies.get(CSRF_COOKIE, "")
    if not nonce or not hmac.compare_digest(csrf, _csrf_token(state, code, nonce)):
        return page("rate_refused.html", state.settings.timezone, status_code=403, code=code, why="expired")
    if not _filer(state, code, r):
        return page("rate_refused.html", state.settings.timezone, status_code=403, code=code, why="not_filer")
    try:
        with state.engine.begin() as conn:
            ticket = repository.find_ticket(conn, tracking_code=code)
            progress.evaluate(conn, ticket.id, channel="web", satisfaction=satisfaction, solved=solved,
                              reason=reason, now=utcnow(), citizen_id=None)
    except NotFound:
        return _not_found(state)
    except InvalidTransition:  # rated already (or not resolved): the page shows where it stands
        return RedirectResponse(f"/t/{code}", status_code=303)
    return RedirectResponse(f"/t/{code}?rated=1", status_code=303)
