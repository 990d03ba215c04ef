"""Events for the city's dispatch system, posted as HMAC-signed JSON to DISPATCH_WEBHOOK_URL."""

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
    """Deliver one event; 2xx is done, 5xx/429/network are retried, other 4xx are given up."""
    settings = context.settings
    if not settings.dispatch_webhook_url:
        log.info("no DISPATCH_WEBHOOK_URL: event %s kept in the outbox only", payload.get("event"))
        return
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "X-Gateway-Event": str(payload.get("event", ""))}
    if settings.dispatch_webhook_secret:
        headers[SIGNATURE_HEADER] = sign(settings.dispatch_webhook_secret, body)
    try:
        response = context.http.post(settings.dispatch_webhook_url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise RetryLater(f"dispatch webhook: {type(exc).__name__}") from exc
    if response.status_code < 300:
        return
    if response.status_code >= 500 or response.status_code in (408, 429):
        raise RetryLater(f"dispatch webhook: HTTP {response.status_code}")
    raise PermanentFailure(f"dispatch webhook: HTTP {response.status_code}")
