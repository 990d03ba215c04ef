"""`/api/v1/clusters`: similar independent complaints grouped together, and merging them into one ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from bots.texts import render
from gateway.deps import BodyId, Caller, Id, Offset, State
from tickets import clusters
from tickets.access.apikeys import Role
from tickets.clock import utcnow
from tickets.clusters import Cluster
from tickets.lifecycle import Status
from tickets.masking import mask_text
from tickets.storage.db import reader

router = APIRouter(prefix="/api/v1", tags=["clusters"])


class MemberOut(BaseModel):
    """A ticket of the cluster (description masked)."""

    ticket_id: int
    number: str
    status: Status
    description: str
    score: float = Field(description="text similarity to the ticket it matched (Jaccard of character bigrams)")
    merged_into: int | None
    created_at: datetime


class ClusterOut(BaseModel):
    """A cluster and its tickets, oldest first."""

    id: int
    zone: str
    size: int
    status: str = Field(description="open, or merged into primary_ticket_id")
    primary_ticket_id: int | None
    warning_subject: str = Field(description="the subject of its early warnings in /api/v1/warnings")
    created_at: datetime
    updated_at: datetime
    tickets: list[MemberOut]


class ClusterPage(BaseModel):
    """One page of clusters, most recently grown first."""

    items: list[ClusterOut]
    total: int


class MergeIn(BaseModel):
    """Which ticket leads; by default the cluster's oldest open ticket."""

    primary_ticket_id: BodyId | None = None


def _out(cluster: Cluster) -> ClusterOut:
    return ClusterOut(
        id=cluster.id, zone=cluster.zone, size=cluster.size, status=cluster.status,
        primary_ticket_id=cluster.primary_ticket_id, warning_subject=f"cluster:{cluster.id}",
        created_at=cluster.created_at, updated_at=cluster.updated_at,
        tickets=[MemberOut(ticket_id=m.ticket_id, number=m.number, status=m.status,
                           description=mask_text(m.description), score=m.score, merged_into=m.merged_into,
                           created_at=m.created_at) for m in cluster.members],
    )


@router.get("/clusters", response_model=ClusterPage)
def list_clusters(state: State, caller: Caller,
                  status: Annotated[Literal["open", "merged"] | None, Query()] = None,
                  min_size: Annotated[int, Query(ge=2, le=10_000)] = 2,
                  limit: Annotated[int, Query(ge=1, le=200)] = 50,
                  offset: Offset = 0) -> ClusterPage:
    """Clusters of similar tickets (same topic, place and time)."""
    caller.require(Role.READER)
    with reader(state.engine).connect() as conn:
        items, total = clusters.list_clusters(conn, status=status, min_size=min_size, limit=limit, offset=offset)
    return ClusterPage(items=[_out(c) for c in items], total=total)


@router.post("/clusters/{cluster_id}/merge", response_model=ClusterOut)
def merge_cluster(cluster_id: Id, state: State, caller: Caller, body: MergeIn | None = None) -> ClusterOut:
    """Merge the cluster's open tickets into one; their reporters hear that ticket's progress from now on."""
    caller.require(Role.DISPATCHER)
    primary_id = body.primary_ticket_id if body else None
    with state.engine.begin() as conn:
        merged = clusters.merge(conn, cluster_id, actor=f"api:{caller.name}",
                                note=lambda number: render("merged_note", number=number), now=utcnow(),
                                primary_ticket_id=primary_id)
    return _out(merged)
