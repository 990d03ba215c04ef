"""`/api/v1/deadlines`: open tickets due soon or overdue, with the reminders and escalations sent."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from gateway.deps import Caller, Offset, State
from tickets.access.apikeys import Role
from tickets.clock import utcnow
from tickets.deadlines import policy as deadlines
from tickets.deadlines.policy import Deadline
from tickets.storage.db import reader

router = APIRouter(prefix="/api/v1", tags=["deadlines"])


class DeadlineState(StrEnum):
    """Which deadlines to list."""

    DUE_SOON = deadlines.DUE_SOON
    OVERDUE = deadlines.OVERDUE


class DeadlineOut(BaseModel):
    """An open ticket's deadline."""

    ticket_id: int
    number: str
    status: str
    zone: str
    unit: str
    rule: str = Field(description="the rule that set it: \"zone/type\", empty meaning any")
    due_at: datetime
    remind_at: datetime
    reminded_at: datetime | None = Field(description="when the reminder went out (deadline.reminder)")
    escalated_at: datetime | None = Field(description="when the escalation went out (deadline.overdue)")
    overdue_minutes: int = Field(description="minutes past the due time (0 while not yet due)")


class DeadlinePage(BaseModel):
    """One page of deadlines, soonest due first."""

    items: list[DeadlineOut]
    total: int


def _out(item: Deadline, now: datetime) -> DeadlineOut:
    late = max(0, int((now - item.due_at).total_seconds() // 60))
    return DeadlineOut(ticket_id=item.ticket_id, number=item.number, status=item.status, zone=item.zone,
                       unit=item.unit, rule=item.rule, due_at=item.due_at, remind_at=item.remind_at,
                       reminded_at=item.reminded_at, escalated_at=item.escalated_at, overdue_minutes=late)


@router.get("/deadlines", response_model=DeadlinePage)
def list_deadlines(state: State, caller: Caller,
                   deadline_state: Annotated[DeadlineState, Query(alias="state")] = DeadlineState.OVERDUE,
                   limit: Annotated[int, Query(ge=1, le=200)] = 50,
                   offset: Offset = 0) -> DeadlinePage:
    """Open tickets past their reminder time (due_soon) or past their due time (overdue)."""
    caller.require(Role.READER)
    now = utcnow()
    with reader(state.engine).connect() as conn:
        items, total = deadlines.list_deadlines(conn, deadline_state.value, now, limit=limit, offset=offset)
    return DeadlinePage(items=[_out(i, now) for i in items], total=total)
