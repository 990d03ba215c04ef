"""`/api/v1/catalogue`, `/api/v1/tickets/{id}/assignment`, `/api/v1/stats/routing`: the routing catalogue
(派单目录), officers' reassignments the recommender learns from, and how well it recommends."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from gateway.apidocs import free_form_json_body, json_body
from gateway.deps import Caller, Id, State, read_capped
from tickets import opening, progress, repository
from tickets.access.apikeys import Role
from tickets.clock import utcnow
from tickets.errors import MalformedPayload
from tickets.progress import StatusUpdate
from tickets.routing import catalogue
from tickets.routing import store as routing_store
from tickets.routing.catalogue import CatalogueError
from tickets.storage.db import reader

router = APIRouter(prefix="/api/v1", tags=["routing"])
MAX_CATALOGUE_BYTES = 512 * 1024


class RecommendationOut(BaseModel):
    """A recommended unit and why."""

    unit: str
    name: str
    kind: str = Field(description="The kind of body (the catalogue's kinds)")
    score: float
    reasons: list[dict[str, Any]] = Field(
        description="keywords (the catalogue's cue words found), learned (words the model weighed), similar "
                    "(a ticket officers decided, with its similarity), district (and where it came from)")


class RoutingOut(BaseModel):
    """How a ticket was classified when it was opened, and the unit it ended with."""

    type: str = Field(description="consultation / help / complaint / report / suggestion")
    zone: str = Field(description="The hot-topic zone (\"\" for none)")
    category: str = Field(description="The most likely kind of body")
    urgency: str = Field(description="urgent / normal (language/triage)")
    district: str = Field(description="The district's name, \"\" when the request does not say")
    district_source: str = Field(description="named / street_office / place / label / coordinates / \"\"")
    place: str = Field(description="The place as the gazetteer read it")
    problem: str = Field(description="kind:objects, what the request is about (for duplicates)")
    vague: bool = Field(description="Too vague to route: no recommendation")
    triage: dict[str, Any] = Field(description="Danger and scope: kind, concepts and reasons")
    recommendations: list[RecommendationOut]
    confidence: float
    auto_dispatch: bool
    final_unit: str
    catalogue_version: str
    model_version: str


class CatalogueOut(BaseModel):
    """The catalogue in force."""

    version: str
    source: str = Field(description="file (the repository's) or saved (by an admin)")
    catalogue: dict[str, Any]
    history: list[dict[str, Any]]


class AssignmentIn(BaseModel):
    """An officer's choice of unit for a ticket."""

    unit: str = Field(min_length=1, max_length=128, description="A unit of the catalogue, by id or name")
    note: str = Field(default="", max_length=2000, description="What the citizen is told (optional)")
    type: Literal["consultation", "help", "complaint", "report", "suggestion"] | None = Field(
        default=None, description="The request's type, as the officer reviewed it")
    zone: str | None = Field(default=None, max_length=32, description="Its hot-topic zone (\"\" for none)")
    district: str | None = Field(default=None, max_length=32, description="Its district (a district's name)")


class AssignmentOut(BaseModel):
    """The ticket after the assignment."""

    ticket_id: int
    unit: str
    unit_name: str
    learned: bool = Field(description="True when this changed the ticket's final unit")


class RoutingStatsOut(BaseModel):
    """Recommendation accuracy against the final units, and automatic dispatch."""

    classified: int
    with_final_unit: int
    top1: int
    top3: int
    top1_accuracy: float | None = Field(description="The recommended kind of body was the one it ended with")
    top3_accuracy: float | None = Field(description="The kind it ended with was among the three recommended")
    type_accuracy: float | None = Field(description="Against the types officers reviewed")
    zone_accuracy: float | None = Field(description="Against the zones officers reviewed")
    district_accuracy: float | None = Field(description="Against the districts officers reviewed")
    auto_dispatched: int
    auto_dispatch_rate: float | None = Field(description="Share of classified tickets dispatched without an officer")
    auto_dispatch_precision: float | None = Field(description="Share of those, once decided, that kept the unit")
    threshold: float


def routing_out(data: dict[str, Any] | None) -> RoutingOut | None:
    """The API form of a stored classification."""
    return RoutingOut.model_validate(data) if data is not None else None


@router.get("/catalogue")
def get_catalogue(state: State, caller: Caller) -> CatalogueOut:
    """The routing catalogue in force, with the versions admins saved."""
    caller.require(Role.READER)
    with reader(state.engine).connect() as conn:
        book = catalogue.current(conn)
        saved = catalogue.history(conn)
    return CatalogueOut(version=book.version, source="saved" if saved else "file", catalogue=dict(book.body),
                        history=[{"version": v, "saved_by": who, "saved_at": at.isoformat()} for v, who, at in saved])


@router.put("/catalogue", responses={400: {"description": "The catalogue is refused; `problems` lists why"}},
            openapi_extra=free_form_json_body("The whole catalogue, the shape of `catalogue` in GET /api/v1/catalogue "
                                              "(zones, categories, keywords, districts, units)"))
async def put_catalogue(request: Request, state: State, caller: Caller) -> JSONResponse:
    """Replace the routing catalogue (admins): validated, then kept as a new version in force."""
    caller.require(Role.ADMIN)
    body = await read_capped(request, MAX_CATALOGUE_BYTES)
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MalformedPayload("catalogue is not JSON") from None
    try:
        with state.engine.begin() as conn:
            book = catalogue.save(conn, data, actor=f"api:{caller.name}", now=utcnow())
    except CatalogueError as exc:
        return JSONResponse({"detail": "catalogue refused", "problems": exc.problems}, status_code=400)
    return JSONResponse({"version": book.version, "units": len(book.units), "kinds": len(book.kinds)})


@router.post("/tickets/{ticket_id}/assignment", responses={400: {"description": "Unknown unit"}},
             openapi_extra=json_body(AssignmentIn))
async def assign(ticket_id: Id, request: Request, state: State, caller: Caller) -> AssignmentOut:
    """Give a ticket to a unit of the catalogue; a unit other than the recommended one teaches the recommender."""
    caller.require(Role.DISPATCHER)
    try:
        body = AssignmentIn.model_validate_json(await read_capped(request, state.settings.max_body_bytes))
    except ValidationError as exc:
        raise MalformedPayload(f"invalid assignment: {exc.error_count()} error(s)") from None
    with state.engine.begin() as conn:
        book = catalogue.current(conn)
        unit = book.units.get(book.unit_id(body.unit))
        if unit is None:
            raise MalformedPayload("unit is not in the routing catalogue")
        if body.zone and body.zone not in book.zones:
            raise MalformedPayload("zone is not in the routing catalogue")
        if body.district and book.district_named(body.district) is None:
            raise MalformedPayload("district is not in the routing catalogue")
        current = repository.get_ticket(conn, ticket_id).status
        # A chat's ticket a worker has not routed yet is routed now: the review below is kept on its classification.
        opening.route_now(conn, ticket_id, state.desk.opening, utcnow())
        before = routing_store.final_unit(conn, ticket_id)
        update = StatusUpdate(current, actor=f"dispatch:{caller.name}", note=body.note, unit=unit.name)
        progress.apply_update(conn, ticket_id, update, utcnow())
        routing_store.record_review(conn, ticket_id, type_=body.type or "", zone=body.zone,
                                    district=body.district or "")
    return AssignmentOut(ticket_id=ticket_id, unit=unit.id, unit_name=unit.name, learned=before != unit.id)


@router.get("/stats/routing", tags=["tickets"])
def routing_stats(state: State, caller: Caller,
                  since: Annotated[datetime | None, Query(description="Only tickets opened since")] = None
                  ) -> RoutingStatsOut:
    """Top-1 and top-3 accuracy of the recommended units against the final ones, and the auto-dispatch rate."""
    caller.require(Role.READER)
    with reader(state.engine).connect() as conn:
        figures = routing_store.figures(conn, catalogue.current(conn), since)
    return RoutingStatsOut(**figures, threshold=state.desk.routing.auto_dispatch_confidence)
