"""The officers' actions on a ticket: change status, reassign, merge. Each goes through
`tickets.progress.apply_update`, the dispatch API's path, so the citizen and co-signers are told.
A unit given is one of the routing catalogue's (by name or id; the ticket keeps its name), as the dispatch
API's assignment takes, or the unit the ticket already has. And sending a failed notification
again, once what made it fail is fixed."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from bots.replies import say
from gateway.console.auth import SECURITY_HEADERS, Officer, SignedIn, may_act
from gateway.console.ticket_data import catalogue_unit
from gateway.deps import Id, State
from gateway.state import AppState
from tickets import notifications, progress, repository
from tickets.clock import utcnow
from tickets.errors import InvalidTransition, NotFound
from tickets.lifecycle import Status
from tickets.progress import StatusUpdate

router = APIRouter(prefix="/console/tickets", tags=["console"], include_in_schema=False)
log = logging.getLogger("gateway.console")
Note = Annotated[str, Form(max_length=2000)]
Unit = Annotated[str, Form(max_length=128)]


def _back(ticket_id: int, outcome: str) -> RedirectResponse:
    return RedirectResponse(f"/console/tickets/{ticket_id}?{outcome}", status_code=303, headers=SECURITY_HEADERS)


def _expected(raw: str, state: AppState) -> datetime | None:
    """A date from the form: due at the end of that day, city time. Raises ValueError."""
    return datetime.combine(date.fromisoformat(raw), time(23, 59), state.settings.tz) if raw.strip() else None


def _apply(state: AppState, officer: Officer, ticket_id: int, update: StatusUpdate, done: str) -> Response:
    try:
        with state.engine.begin() as conn:
            if update.unit:  # a unit of the routing catalogue (the form's select), or the one the ticket has
                named = catalogue_unit(conn, update.unit)
                if named is None and update.unit != repository.get_ticket(conn, ticket_id).unit:
                    return _back(ticket_id, "error=unit_unknown")
                update = replace(update, unit=named or update.unit)
            progress.apply_update(conn, ticket_id, update, utcnow())
    except InvalidTransition:
        return _back(ticket_id, "error=transition")
    except NotFound:
        return _back(ticket_id, "error=missing")
    log.info("console %s on ticket %d by %s: %s", done, ticket_id, officer.actor, update.status.value)
    return _back(ticket_id, f"done={done}")


@router.post("/{ticket_id}/status")
def change_status(ticket_id: Id, state: State, officer: SignedIn, status: Annotated[Status, Form()],
                  csrf: Annotated[str, Form(max_length=128)], note: Note = "", unit: Unit = "",
                  expected: Annotated[str, Form(max_length=10)] = "") -> Response:
    """Move the ticket along the lifecycle with a note for the citizen, and optionally a unit and a due date."""
    if (refusal := may_act(state, officer, csrf)) is not None:
        return refusal
    if status is Status.MERGED:  # merging names the other ticket: its own form
        return _back(ticket_id, "error=merge_form")
    try:
        expected_at = _expected(expected, state)
    except ValueError:
        return _back(ticket_id, "error=date")
    return _apply(state, officer, ticket_id, StatusUpdate(status=status, actor=officer.actor, note=note.strip(),
                                                          unit=unit.strip(), expected_at=expected_at), "status")


@router.post("/{ticket_id}/reassign")
def reassign(ticket_id: Id, state: State, officer: SignedIn, unit: Unit, csrf: Annotated[str, Form(max_length=128)],
             note: Note = "") -> Response:
    """Hand the ticket to another unit in its current status; a note tells the citizen."""
    if (refusal := may_act(state, officer, csrf)) is not None:
        return refusal
    if not unit.strip():
        return _back(ticket_id, "error=unit")
    try:
        with state.engine.connect() as conn:
            current = repository.get_ticket(conn, ticket_id).status
    except NotFound:
        return _back(ticket_id, "error=missing")
    return _apply(state, officer, ticket_id, StatusUpdate(status=current, actor=officer.actor, note=note.strip(),
                                                          unit=unit.strip()), "reassign")


@router.post("/{ticket_id}/merge")
def merge(ticket_id: Id, state: State, officer: SignedIn, into: Annotated[str, Form(max_length=24)],
          csrf: Annotated[str, Form(max_length=128)], note: Note = "") -> Response:
    """Merge this ticket into another (by its number): it ends here and the citizen is told where it went."""
    if (refusal := may_act(state, officer, csrf)) is not None:
        return refusal
    try:
        with state.engine.connect() as conn:
            target = repository.find_ticket(conn, number=into.strip().upper())
    except NotFound:
        return _back(ticket_id, "error=merge_target")
    if target.id == ticket_id or target.status is Status.MERGED:
        return _back(ticket_id, "error=merge_target")
    text = note.strip() or say("console_merged", number=target.number).text
    return _apply(state, officer, ticket_id, StatusUpdate(status=Status.MERGED, actor=officer.actor, note=text),
                  "merge")


@router.post("/{ticket_id}/notifications/{notification_id}/retry")
def retry_notification(ticket_id: int, notification_id: int, state: State, officer: SignedIn,
                       csrf: Annotated[str, Form(max_length=128)]) -> Response:
    """Send a failed notification of the ticket again (its failure reason stays shown until the next attempt)."""
    if (refusal := may_act(state, officer, csrf)) is not None:
        return refusal
    with state.engine.begin() as conn:
        queued = notifications.retry(conn, notification_id, utcnow(), ticket_id=ticket_id)
    if not queued:
        return _back(ticket_id, "error=retry")
    log.info("console retry of notification %d on ticket %d by %s", notification_id, ticket_id, officer.actor)
    return _back(ticket_id, "done=retry")
