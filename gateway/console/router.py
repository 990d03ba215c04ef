"""`/console`: the officers' web console, one router of its pages."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.console import actions, dashboard, filing, login, petitions, tickets

router = APIRouter()
# filing before tickets: `/console/tickets/new` is not the page of a ticket numbered "new".
for page in (login, filing, tickets, actions, petitions, dashboard):
    router.include_router(page.router)
