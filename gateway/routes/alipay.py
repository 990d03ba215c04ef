"""`/webhooks/alipay`: notifications from Alipay's open platform to our 应用网关 (RSA2, form-encoded)."""

from __future__ import annotations

import logging
from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from bots.alipay.adapter import SUCCESS, AlipayAdapter
from bots.request import PlainRequest
from gateway.deps import State, read_capped
from gateway.routes.wechat import handle
from gateway.state import AppState
from tickets.clock import utcnow
from tickets.errors import ChannelDisabled
from tickets.inbox.log import record_notice
from tickets.inbox.message import InboundMessage
from tickets.masking import mask_identifier

router = APIRouter(tags=["webhooks"])
log = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def _adapter(app_id: str, public_key: str, max_body_bytes: int, consent_methods: tuple[str, ...]) -> AlipayAdapter:
    return AlipayAdapter(app_id, public_key, max_body_bytes=max_body_bytes, consent_methods=consent_methods)


def adapter_for(state: AppState) -> AlipayAdapter:
    """The adapter of the configured app; ChannelDisabled without ALIPAY_APP_ID and ALIPAY_PUBLIC_KEY."""
    settings = state.settings
    if not (settings.alipay_app_id and settings.alipay_public_key):
        raise ChannelDisabled("alipay")
    return _adapter(settings.alipay_app_id, settings.alipay_public_key, settings.max_body_bytes,
                    tuple(settings.alipay_consent_methods))


@router.post("/webhooks/alipay", response_class=PlainTextResponse,
             responses={400: {"description": "Not a well-formed Alipay notification; nothing stored"},
                        403: {"description": "The RSA2 signature does not verify; nothing stored"},
                        503: {"description": "Not stored: Alipay retries"}})
async def notify(request: Request, state: State) -> PlainTextResponse:
    """An Alipay notification: verified, stored once per notify_id, then answered `success`."""
    adapter = adapter_for(state)
    body = await read_capped(request, state.settings.max_body_bytes)
    notification = adapter.open(PlainRequest("POST", dict(request.query_params), dict(request.headers), body))
    store(state, notification.message)
    # Only now, after the commit: anything else (a 5xx included) makes Alipay send it again.
    return PlainTextResponse(SUCCESS.decode())


def store(state: AppState, message: InboundMessage) -> None:
    """Keep the notification durably; a repeat of a kept one changes nothing.

    One about a citizen goes through the intake step like a WeChat event (consents recorded, the
    citizen's lock, the same deduplication); one about the app alone is kept without a citizen.
    """
    if message.user_id:
        handle(state, message)
        log.info("alipay %s about %s kept", message.raw_type[:80], mask_identifier(message.user_id))
        return
    with state.engine.connect() as conn, conn.begin():
        kept = record_notice(conn, message, utcnow())
    log.info("alipay %s %s", message.raw_type[:80], "kept" if kept else "was kept before")
