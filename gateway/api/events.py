"""`/api/v1/tickets/{id}/events`: status reports from the city's dispatch system; satisfaction figures."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from gateway.apidocs import json_body
from gateway.deps import Caller, Id, State, read_capped
from tickets import progress
from tickets.access.apikeys import Role
from tickets.clock import utcnow
from tickets.errors import AuthError, MalformedPayload
from tickets.lifecycle import Status
from tickets.progress import StatusUpdate
from tickets.storage.db import reader

router = APIRouter(prefix="/api/v1", tags=["dispatch"])
SIGNATURE_HEADER = "x-gateway-signature"


class StatusEventIn(BaseModel):
    """A change reported by the handling side."""

    event_id: str = Field(min_length=1, max_length=128, description="The caller's id; a repeat changes nothing")
    status: Status
    unit: str = Field(default="", max_length=128, description="The handling unit")
    note: str = Field(default="", max_length=2000, description="What the citizen is told")
    expected_at: datetime | None = Field(default=None, description="When it should be done (ISO 8601 with offset)")


class StatusEventOut(BaseModel):
    """The ticket after the event."""

    ticket_id: int
    number: str
    status: Status
    event_id: str
    created: bool


class SatisfactionOut(BaseModel):
    """Evaluation counts and rates."""

    total: int
    by_grade: dict[str, int]
    solved: int
    satisfaction_rate: float | None
    solved_rate: float | None


def _check_signature(secret: str, required: bool, header: str | None, body: bytes) -> None:
    if header is None:
        if required:
            raise AuthError("signature header required")
        return
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not secret or not hmac.compare_digest(expected, header.strip()):
        raise AuthError("signature does not match", forbidden=True)


@router.post("/tickets/{ticket_id}/events", status_code=201, response_model=StatusEventOut,
             responses={200: {"description": "The same event id was recorded before; nothing changed"},
                        409: {"description": "The lifecycle does not allow this change"}},
             openapi_extra=json_body(StatusEventIn, "The status change; sign it with `X-Gateway-Signature: "
                                                    "sha256=<hex HMAC of the body>` when a secret is shared"))
async def post_event(ticket_id: Id, request: Request, state: State, caller: Caller) -> JSONResponse:
    """Record a status change or a note for the citizen; idempotent by `event_id`."""
    caller.require(Role.DISPATCHER)
    settings = state.settings
    body = await read_capped(request, settings.max_body_bytes)
    _check_signature(settings.dispatch_webhook_secret, settings.dispatch_require_signature,
                     request.headers.get(SIGNATURE_HEADER), body)
    try:
        event = StatusEventIn.model_validate_json(body)
    except ValidationError as exc:
        raise MalformedPayload(f"invalid event: {exc.error_count()} error(s)") from None
    if event.expected_at is not None and event.expected_at.tzinfo is None:
        raise MalformedPayload("expected_at needs a UTC offset")
    update = StatusUpdate(status=event.status, actor=f"dispatch:{caller.name}", note=event.note, unit=event.unit,
                          expected_at=event.expected_at, external_id=event.event_id)
    with state.engine.begin() as conn:
        applied = progress.apply_update(conn, ticket_id, update, utcnow())
    out = StatusEventOut(ticket_id=applied.ticket.id, number=applied.ticket.number, status=applied.ticket.status,
                         event_id=event.event_id, created=applied.created)
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if applied.created else 200)


@router.get("/stats/satisfaction", tags=["tickets"])
def satisfaction(state: State, caller: Caller,
                 since: Annotated[datetime | None, Query(description="Only evaluations since")] = None
                 ) -> SatisfactionOut:
    """How citizens rated resolved tickets: counts per grade, satisfaction and solved rates."""
    caller.require(Role.READER)
    with reader(state.engine).connect() as conn:
        return SatisfactionOut(**progress.satisfaction_figures(conn, since))
