"""`/console`: the officers' web console, one router of its pages."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.console import actions, dashboard, login, petitions, tickets

router = APIRouter()
for page in (login, tickets, actions, petitions, dashboard):
    router.include_router(page.router)
