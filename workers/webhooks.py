"""Signed JSON webhooks to the city's systems.

- `ticket.created` and status events for the dispatch system (outbox topic `dispatch.event`), to
  DISPATCH_WEBHOOK_URL; with no URL they stay in the outbox only.
- Deadline reminders and escalations (`deadline.event`), to DISPATCH_WEBHOOK_URL; with no URL they stay
  listed at `GET /api/v1/deadlines` (the row in `ticket_deadlines` records that each went out).
- Early warnings (`warning.deliver`), to WARNING_WEBHOOK_URL, else DISPATCH_WEBHOOK_URL; with neither,
  the warning stays listed at `GET /api/v1/warnings` only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

import httpx

from tickets import petitions, warnings
from tickets.errors import NotFound, PermanentFailure, RetryLater
from workers.context import WorkerContext

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Gateway-Signature"


def sign(secret: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the body>`, the header value receivers check."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_dispatch_event(context: WorkerContext, payload: dict[str, Any], *, final: bool = False) -> None:
    """Deliver one event to the dispatch system (kept in the outbox only when no URL is configured)."""
    settings = context.settings
    if not settings.dispatch_webhook_url:
        log.info("no DISPATCH_WEBHOOK_URL: event %s kept in the outbox only", payload.get("event"))
        return
    post_signed(context, settings.dispatch_webhook_url, settings.dispatch_webhook_secret, payload, "dispatch")


def post_signed(context: WorkerContext, url: str, secret: str, payload: dict[str, Any], what: str) -> None:
    """POST `payload` as JSON, signed when there is a secret; 2xx is done, 5xx/408/429/network are retried,
    other 4xx are given up."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "X-Gateway-Event": str(payload.get("event", ""))}
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, body)
    try:
        response = context.http.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise RetryLater(f"{what} webhook: {type(exc).__name__}") from exc
    if response.status_code < 300:
        return
    if response.status_code >= 500 or response.status_code in (408, 429):
        raise RetryLater(f"{what} webhook: HTTP {response.status_code}")
    raise PermanentFailure(f"{what} webhook: HTTP {response.status_code}")


def post_deadline_event(context: WorkerContext, payload: dict[str, Any], *, final: bool = False) -> None:
    """Deliver one reminder or escalation."""
    settings = context.settings
    if not settings.dispatch_webhook_url:
        log.info("no DISPATCH_WEBHOOK_URL: %s of ticket %s listed in the API only", payload.get("event"),
                 payload.get("ticket_id"))
        return
    post_signed(context, settings.dispatch_webhook_url, settings.dispatch_webhook_secret, payload, "deadline")


def deliver_warning(context: WorkerContext, payload: dict[str, Any], *, final: bool = False) -> None:
    """Post one warning with the numbers behind it and a summary of its petition."""
    settings = context.settings
    url = settings.warning_webhook_url or settings.dispatch_webhook_url
    secret = settings.warning_webhook_secret or settings.dispatch_webhook_secret
    with context.engine.connect() as conn:
        try:
            warning = warnings.get(conn, int(payload["warning_id"]))
        except NotFound:
            raise PermanentFailure(f"warning {payload.get('warning_id')} is gone") from None
        petition = petitions.get(conn, warning.petition_id) if warning.petition_id is not None else None
    if not url:
        log.info("no warning webhook configured: warning %d listed in the API only", warning.id)
        return
    summary = None
    if petition is not None:
        summary = {"id": petition.id, "ticket_id": petition.ticket_id, "number": petition.number,
                   "title": petition.title, "zone": petition.zone, "status": petition.status,
                   "signature_count": petition.signature_count, "flagged_count": petition.flagged_count}
    post_signed(context, url, secret, warnings.webhook_body(warning, summary), "warning")
