"""Deadline reminders and escalations (outbox topic `deadline.event`) posted to the dispatch system.

They go to DISPATCH_WEBHOOK_URL as signed JSON (workers/webhooks.py); with no URL configured they stay
listed at `GET /api/v1/deadlines` only (the row in `ticket_deadlines` records that each went out).
"""

from __future__ import annotations

import logging
from typing import Any

from workers.context import WorkerContext
from workers.webhooks import post_signed

log = logging.getLogger(__name__)


def post_deadline_event(context: WorkerContext, payload: dict[str, Any], *, final: bool = False) -> None:
    """Deliver one reminder or escalation."""
    settings = context.settings
    if not settings.dispatch_webhook_url:
        log.info("no DISPATCH_WEBHOOK_URL: %s of ticket %s listed in the API only", payload.get("event"),
                 payload.get("ticket_id"))
        return
    post_signed(context, settings.dispatch_webhook_url, settings.dispatch_webhook_secret, payload, "deadline")
