"""Early warnings delivered as signed webhooks (outbox topic `warning.deliver`).

They go to WARNING_WEBHOOK_URL, or to the dispatch system's DISPATCH_WEBHOOK_URL when no separate
address is configured; with neither, the warning stays listed at `GET /api/v1/warnings` only.
"""

from __future__ import annotations

import logging
from typing import Any

from tickets import petitions, warnings
from tickets.errors import NotFound
from workers.context import WorkerContext
from workers.push import PermanentFailure
from workers.webhooks import post_signed

log = logging.getLogger(__name__)


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
