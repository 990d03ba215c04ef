"""Signed JSON webhooks: events for the city's dispatch system (DISPATCH_WEBHOOK_URL) and early warnings."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

import httpx

from workers.context import WorkerContext
from workers.push import PermanentFailure, RetryLater

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
