"""`/api/v1/warnings`: early warnings raised from petitions, and their acknowledgement by officers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from gateway.deps import Caller, Id, Offset, QueryId, State
from tickets import warnings
from tickets.access.apikeys import Role
from tickets.clock import utcnow
from tickets.storage.db import reader
from tickets.warnings import Warning

router = APIRouter(prefix="/api/v1", tags=["warnings"])


class WarningOut(BaseModel):
    """A raised warning with the numbers behind it."""

    id: int
    subject: str
    petition_id: int | None
    kind: str = Field(description="threshold: signers reached a level's count; velocity: signing sped up")
    level: int = Field(description="1, 2, 3 ... in increasing gravity")
    zone: str
    figures: dict[str, Any]
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str
    ack_note: str


class WarningPage(BaseModel):
    """One page of warnings."""

    items: list[WarningOut]
    total: int


class AckIn(BaseModel):
    """What the officer noted when acknowledging."""

    note: str = Field(default="", max_length=1000)


def _out(warning: Warning) -> WarningOut:
    return WarningOut(
        id=warning.id, subject=warning.subject, petition_id=warning.petition_id, kind=warning.kind,
        level=warning.level, zone=warning.zone, figures=warning.figures, created_at=warning.created_at,
        acknowledged_at=warning.acknowledged_at, acknowledged_by=warning.acknowledged_by, ack_note=warning.ack_note,
    )


@router.get("/warnings", response_model=WarningPage)
def list_warnings(state: State, caller: Caller,
                  acknowledged: Annotated[bool | None, Query(description="false: those awaiting an officer")] = None,
                  petition_id: QueryId = None,
                  limit: Annotated[int, Query(ge=1, le=200)] = 50,
                  offset: Offset = 0) -> WarningPage:
    """Warnings, newest first."""
    caller.require(Role.READER)
    with reader(state.engine).connect() as conn:
        items, total = warnings.list_warnings(conn, acknowledged=acknowledged, petition_id=petition_id, limit=limit,
                                              offset=offset)
    return WarningPage(items=[_out(w) for w in items], total=total)


@router.post("/warnings/{warning_id}/ack", response_model=WarningOut)
def acknowledge(warning_id: Id, state: State, caller: Caller, body: AckIn | None = None) -> WarningOut:
    """An officer has seen the warning; a second acknowledgement keeps the first."""
    caller.require(Role.DISPATCHER)
    with state.engine.begin() as conn:
        return _out(warnings.acknowledge(conn, warning_id, by=f"api:{caller.name}",
                                         note=body.note if body else "", now=utcnow()))
