"""The platforms' webhooks: `/webhooks/wechat` (URL verification, messages and events) and
`/webhooks/alipay` (open-platform notifications to our 应用网关, RSA2, form-encoded).

Each verifies before it parses (bots/wechat/adapter.py, bots/alipay/adapter.py), then hands the
normalised message to the intake (bots/intake.py), then renders the adapter's reply.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse

from bots.alipay.adapter import SUCCESS, AlipayAdapter
from bots.conversations.dialog import SILENT_KINDS
from bots.intake import defer, handle, handle_in_order
from bots.replies import say
from bots.request import PlainRequest
from bots.wechat.adapter import WeChatAdapter
from gateway.deps import State, read_capped
from gateway.state import AppState
from tickets.clock import utcnow
from tickets.errors import ChannelDisabled
from tickets.inbox.log import record_notice
from tickets.inbox.message import InboundMessage
from tickets.masking import mask_identifier

router = APIRouter(tags=["webhooks"])
log = logging.getLogger(__name__)


def _wechat(state: AppState) -> WeChatAdapter:
    if state.wechat_adapter is None:
        raise ChannelDisabled("wechat")
    return state.wechat_adapter


def _alipay(state: AppState) -> AlipayAdapter:
    if state.alipay_adapter is None:
        raise ChannelDisabled("alipay")
    return state.alipay_adapter


@router.get("/webhooks/wechat")
async def verify_url(request: Request, state: State) -> Response:
    """WeChat's server URL verification: returns `echostr` verbatim when the signature matches."""
    echo = _wechat(state).verify_url(PlainRequest("GET", dict(request.query_params)))
    return Response(echo, media_type="text/plain")


@router.post("/webhooks/wechat")
async def push(request: Request, state: State) -> Response:
    """A message or event from WeChat (plain, compatible or safe mode); answers with the passive reply."""
    adapter = _wechat(state)
    body = await read_capped(request, state.settings.max_body_bytes)
    envelope = adapter.open(PlainRequest("POST", dict(request.query_params), dict(request.headers), body),
                            claim_nonce=False)
    message = envelope.message
    within = state.settings.wechat_answer_within_seconds
    with state.intake_pause.guard():  # the intake's write on the event loop, the nonce (without Redis) in it
        if within and state.loop_lag.current() > within:
            # It waited too long to be sure of an answer before WeChat gives up (5 s): a short word now, the
            # answer by a job (gateway/busy.py LoopLag).
            nonce = adapter.claim_as_row(envelope)
            if nonce is None:  # kept in Redis (one round trip), or none left to claim
                adapter.claim(envelope, None)
                defer(state.intake_engine, message)
            else:  # a row of the deferral's own statement (PostgreSQL) or transaction
                defer(state.intake_engine, message, first=lambda conn: adapter.claim(envelope, conn), nonce=nonce)
            log.info("%s from %s deferred: it waited too long", message.kind.value, mask_identifier(message.user_id))
            answer = None
        else:
            answer = handle_in_order(state.intake_engine, message, state.desk,
                                     first=lambda conn: adapter.claim(envelope, conn),
                                     nonce=adapter.claim_as_row(envelope))
            if answer is None:  # kept behind the citizen's message that waits for its job
                log.info("%s from %s deferred: an earlier one waits", message.kind.value,
                         mask_identifier(message.user_id))
    # A deferred push gets the short word now (an event that gets no reply, nothing); its job sends the answer.
    replies = answer if answer is not None else ([] if message.kind in SILENT_KINDS else [say("deferred")])
    content, media_type = adapter.render(replies, envelope)
    return Response(content, media_type=media_type)


@router.post("/webhooks/alipay", response_class=PlainTextResponse,
             responses={400: {"description": "Not a well-formed Alipay notification; nothing stored"},
                        403: {"description": "The RSA2 signature does not verify; nothing stored"},
                        503: {"description": "Not stored (the database is busy or down): Alipay retries"}})
async def notify(request: Request, state: State) -> PlainTextResponse:
    """An Alipay notification: verified, stored once per notify_id, then answered `success`."""
    adapter = _alipay(state)
    body = await read_capped(request, state.settings.max_body_bytes)
    notification = adapter.open(PlainRequest("POST", dict(request.query_params), dict(request.headers), body))
    with state.intake_pause.guard():
        _keep_alipay(state, notification.message)
    # Only now, after the commit: anything else (a 5xx included) makes Alipay send it again.
    return PlainTextResponse(SUCCESS.decode())


def _keep_alipay(state: AppState, message: InboundMessage) -> None:
    """Keep the notification durably; a repeat of a kept one changes nothing.

    One about a citizen goes through the intake step like a WeChat event (consents recorded, the
    citizen's lock, the same deduplication); one about the app alone is kept without a citizen.
    """
    if message.user_id:
        handle(state.intake_engine, message, state.desk)
        log.info("alipay %s about %s kept", message.raw_type[:80], mask_identifier(message.user_id))
        return
    with state.intake_engine.connect() as conn, conn.begin():
        kept = record_notice(conn, message, utcnow())
    log.info("alipay %s %s", message.raw_type[:80], "kept" if kept else "was kept before")
