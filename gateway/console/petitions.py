"""`/console/petitions`: the petitions board (signatures over time, flagged signatures to review, closing one)
and warnings."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.console import ticket_data as data
from gateway.console.auth import SECURITY_HEADERS, SignedIn, console_page, may_act
from gateway.console.charts import cumulative_line
from gateway.console.stats import signature_buckets
from gateway.deps import Id, State
from tickets import petitions, warnings
from tickets.access.officers import UserRole
from tickets.clock import utcnow
from tickets.errors import NotFound
from tickets.storage.db import reader

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
log = logging.getLogger("gateway.console")
Csrf = Annotated[str, Form(max_length=128)]


@router.get("/petitions", response_class=HTMLResponse)
def board(request: Request, state: State, officer: SignedIn) -> Response:
    """Open and recent petitions with their counts, and the warnings not yet acknowledged."""
    with reader(state.engine).connect() as conn:
        items, total = petitions.list_petitions(conn, limit=100)
        pending, pending_total = warnings.list_warnings(conn, acknowledged=False, limit=100)
        seen, _ = warnings.list_warnings(conn, acknowledged=True, limit=20)
    return console_page(state, "petitions.html", officer, petitions=items, total=total, pending=pending,
                        pending_total=pending_total, seen=seen, now=utcnow(),
                        done=request.query_params.get("done", ""))


@router.get("/petitions/{petition_id}", response_class=HTMLResponse)
def petition_page(petition_id: Id, request: Request, state: State, officer: SignedIn) -> Response:
    """A petition's signature count over time, its flagged signatures to accept or reject, its co-signers."""
    tz = state.settings.tz
    admin = officer.user.can(UserRole.ADMIN)
    try:
        with reader(state.engine).connect() as conn:
            petition = petitions.get(conn, petition_id)
            unit, buckets = signature_buckets(conn, petition_id, tz)
            flagged = petitions.list_signatures(conn, petition_id, flagged=True, limit=200)
            signers = data.cosigners(conn, petition_id, show_names=admin)
            alerts, _ = warnings.list_warnings(conn, petition_id=petition_id)
    except NotFound:
        return console_page(state, "missing.html", officer, status_code=404)
    title = "每小时累计联名人数" if unit == "hour" else "每日累计联名人数"
    chart = cumulative_line(title, buckets, ["时间", "新增", "累计"])
    return console_page(state, "petition.html", officer, petition=petition, chart=chart, flagged=flagged,
                        signers=signers, alerts=alerts, admin=admin, now=utcnow(),
                        done=request.query_params.get("done", ""))


@router.post("/petitions/{petition_id}/signatures/{signature_id}/review")
def review(petition_id: Id, signature_id: Id, state: State, officer: SignedIn,
           decision: Annotated[str, Form(pattern="^(accept|reject)$")], csrf: Csrf) -> Response:
    """Count a flagged signature (which may raise a warning level) or withdraw it."""
    if (refusal := may_act(state, officer, csrf)) is not None:
        return refusal
    try:
        with state.engine.begin() as conn:
            petition = petitions.get(conn, petition_id)
            thresholds = warnings.thresholds_for(state.settings.warning_thresholds, petition.zone)
            changed = petitions.review(conn, petition_id, signature_id, accept=decision == "accept", now=utcnow(),
                                       thresholds=thresholds)
    except NotFound:
        return console_page(state, "missing.html", officer, status_code=404)
    log.info("console review of signature %d on petition %d by %s: %s", signature_id, petition_id, officer.actor,
             decision if changed else "already reviewed")
    outcome = decision if changed else "unchanged"
    return RedirectResponse(f"/console/petitions/{petition_id}?done={outcome}", status_code=303,
                            headers=SECURITY_HEADERS)


@router.post("/petitions/{petition_id}/close")
def close(petition_id: int, state: State, officer: SignedIn, csrf: Csrf) -> Response:
    """End a petition: no more signatures (operators and admins; closing twice changes nothing)."""
    if (refusal := may_act(state, officer, csrf)) is not None:
        return refusal
    try:
        with state.engine.begin() as conn:
            petition = petitions.close(conn, petition_id, utcnow(), reason=petitions.BY_OFFICER)
    except NotFound:
        return console_page(state, "missing.html", officer, status_code=404)
    log.info("console closed petition %d by %s (%s)", petition_id, officer.actor, petition.closed_reason)
    return RedirectResponse(f"/console/petitions/{petition_id}?done=closed", status_code=303,
                            headers=SECURITY_HEADERS)


@router.post("/warnings/{warning_id}/acknowledge")
def acknowledge(warning_id: Id, state: State, officer: SignedIn, csrf: Csrf,
                note: Annotated[str, Form(max_length=1000)] = "") -> Response:
    """Record that an officer has seen a warning (the first acknowledgement stands)."""
    if (refusal := may_act(state, officer, csrf)) is not None:
        return refusal
    try:
        with state.engine.begin() as conn:
            warnings.acknowledge(conn, warning_id, by=officer.actor, note=note, now=utcnow())
    except NotFound:
        return console_page(state, "missing.html", officer, status_code=404)
    return RedirectResponse("/console/petitions?done=acknowledged", status_code=303, headers=SECURITY_HEADERS)
