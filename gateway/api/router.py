"""`/api/v1`: the JSON API for the dispatch system and officers' tools, one router of its parts."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api import attachments, clusters, deadlines, events, petitions, routing, tickets, warnings

router = APIRouter()
for part in (tickets, events, petitions, warnings, routing, deadlines, clusters, attachments):
    router.include_router(part.router)
