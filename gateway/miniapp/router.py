"""`/api/v1/miniapp/...`: what the city's Alipay mini-program calls.

Sign-in exchanges the mini-program's `my.getAuthCode` code through `alipay.system.oauth.token` (signed
request, verified response: bots/alipay/api.py) for the citizen's Alipay id, then hands out a
short-lived session token (gateway/miniapp/session.py). Everything else acts for that citizen only:
filing a request, their tickets, rating, co-signing, and reporting subscription consent.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter

from bots.alipay.api import AlipayApiError
from bots.alipay.oauth import user_of
from bots.alipay.sign import RESPONSE_SIGNATURE
from gateway.deps import State
from gateway.miniapp import cosign as miniapp_cosign
from gateway.miniapp import petitions as miniapp_petitions
from gateway.miniapp import requests as miniapp_requests
from gateway.miniapp import tickets as miniapp_tickets
from gateway.miniapp.models import ConsentIn, ConsentOut, SessionOut, SignInIn
from gateway.miniapp.session import Session, citizen_for, refusal, signer_of
from tickets.clock import utcnow
from tickets.errors import ChannelDisabled
from tickets.inbox import consents
from tickets.inbox.citizens import CitizenKey, lock_citizen
from tickets.inbox.message import Channel
from tickets.masking import mask_identifier

log = logging.getLogger(__name__)
PREFIX = "/api/v1/miniapp"

api = APIRouter(prefix=PREFIX, tags=["miniapp"])


@api.post("/session", responses={401: {"description": "Alipay refused the auth code (used, expired, forged)"},
                                 404: {"description": "The Alipay channel is not configured"},
                                 503: {"description": "Alipay did not answer"}})
def sign_in(body: SignInIn, state: State) -> SessionOut:
    """Sign in with the mini-program's auth code: a session token for the citizen's Alipay id."""
    settings = state.settings
    if state.alipay_api is None:
        raise ChannelDisabled("alipay")
    try:
        user = user_of(state.alipay_api, body.auth_code)
    except AlipayApiError as exc:
        log.info("miniapp sign-in refused: alipay %s %s", exc.code, exc.sub_code)
        # No answer, or one whose signature fails: Alipay's side is at fault, the citizen may try again.
        if exc.retryable or exc.code == RESPONSE_SIGNATURE:
            raise refusal(503, "alipay_unavailable") from None
        raise refusal(401, "auth_code_refused") from None
    with state.engine.connect() as conn, conn.begin():
        citizen = lock_citizen(conn, CitizenKey(Channel.ALIPAY.value, settings.alipay_app_id, user), utcnow())
    token, expires_at = signer_of(settings.secret_key, settings.miniapp_session_minutes).issue(citizen.id)
    log.info("miniapp sign-in of %s", mask_identifier(user))
    return SessionOut(token=token, expires_at=expires_at, user=mask_identifier(user))


@api.post("/consents")
def report_consent(body: ConsentIn, session: Session, state: State) -> ConsentOut:
    """Record what the citizen chose in `my.requestSubscribeMessage`, per template (the latest choice wins)."""
    decisions = [(template_id, status) for template_id, status in body.decisions.items()
                 if 0 < len(template_id) <= 128]
    if len(decisions) != len(body.decisions):
        raise refusal(422, "consent_invalid")
    with state.engine.connect() as conn, conn.begin():
        citizen = citizen_for(conn, state, session)
        recorded = consents.record(conn, citizen.id, decisions, utcnow())
    return ConsentOut(recorded=recorded)


api.include_router(miniapp_requests.router)
api.include_router(miniapp_tickets.router)
api.include_router(miniapp_cosign.router)
api.include_router(miniapp_petitions.router)

router = api
