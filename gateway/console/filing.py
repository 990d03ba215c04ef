"""`/console/tickets/new`: an officer files a request taken by phone (电话登记) through the one opening path every
channel takes (tickets/opening.py: triage, routing, deadline, the dispatch hand-off, an urgent ticket's warning)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bots.conversations.draft import MAX_ADDRESS, MAX_DESCRIPTION
from gateway.console.auth import SECURITY_HEADERS, Officer, SignedIn, console_page, may_act, refused
from gateway.console.phone_call import MAX_PHONE, PhoneCall
from gateway.deps import State
from gateway.state import AppState
from tickets import opening
from tickets.clock import utcnow

router = APIRouter(prefix="/console/tickets", tags=["console"], include_in_schema=False)
log = logging.getLogger("gateway.console")
Text = Annotated[str, Form()]  # lengths are checked by PhoneCall.problems, so the form can be shown again


def _form(state: AppState, officer: Officer, call: PhoneCall, problems: list[str] | None = None) -> HTMLResponse:
    return console_page(state, "new_ticket.html", officer, status_code=400 if problems else 200, call=call,
                        problems=problems or [], zones=state.settings.hot_topic_zones,
                        max_description=MAX_DESCRIPTION, max_address=MAX_ADDRESS, max_phone=MAX_PHONE)


@router.get("/new", response_class=HTMLResponse)
def new_ticket_form(state: State, officer: SignedIn) -> Response:
    """The phone filing form (operators and admins)."""
    if not officer.can_act():
        return refused(state, officer, "role")
    return _form(state, officer, PhoneCall())


@router.post("/new")
def file_phone_call(state: State, officer: SignedIn, csrf: Annotated[str, Form(max_length=128)] = "",
                    description: Text = "", address: Text = "", phone: Text = "", confidential: Text = "",
                    zone: Text = "") -> Response:
    """File the call as a ticket on channel `phone`, then show its page with what to tell the caller."""
    if (refusal := may_act(state, officer, csrf)) is not None:
        return refusal
    call = PhoneCall(description=description, address=address, phone=phone, zone=zone.strip(),
                     confidential=confidential in ("1", "on", "true"))
    if problems := call.problems(state.settings.hot_topic_zones):
        return _form(state, officer, call, problems)
    rules = state.desk.opening
    decision = rules.triage(call.words)  # the caller's words, not the number written under them
    with state.engine.begin() as conn:
        ticket = opening.open_ticket(conn, call.new_ticket(), rules, utcnow(), zone=call.zone,
                                     citizen_ref=call.citizen_ref, decision=decision)
    log.info("console phone filing %s by %s (%s, %s)", ticket.number, officer.actor, ticket.urgency,
             decision.kind.value)
    return RedirectResponse(f"/console/tickets/{ticket.id}?done=filed", status_code=303, headers=SECURITY_HEADERS)
