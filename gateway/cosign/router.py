"""`/j/{token}`: the co-sign page a joint petition's QR code opens, its sign and withdraw forms, its card.

The page shows what the petition is about (personal data in the text masked), how many have signed,
and one form for the step the visitor is at: proving who they are (WeChat or Alipay authorisation
inside those apps, else a phone number and a texted code; gateway/cosign/auth.py), then
signing, with an explicit choice to hear of progress. Works without JavaScript.

A signature is one transaction (gateway/cosign/signing.py) behind CSRF, a rate limit per identity,
a high one per IP and petition (neighbours share one carrier address: CGNAT), and surge flagging
(tickets/petitions.py), which handles crowds from one network: a flagged signer is told it was
received and will be checked, never that it counted.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from bots.texts import render
from gateway.cosign import auth as cosign_auth
from gateway.cosign import signing as cosign_signing
from gateway.cosign.forms import clean_name
from gateway.cosign.identity import Identity, open_identity, open_pending_phone
from gateway.cosign.kit import CosignKit, load_view
from gateway.cosign.pages import (
    DEVICE_COOKIE,
    IDENTITY_COOKIE,
    PENDING_COOKIE,
    Kit,
    Posted,
    accept_post,
    back_to_page,
    client_host,
    ended,
    ended_now,
    form_page,
    limited,
    notice,
    open_view,
    resolve,
)
from gateway.limits import Hit
from qr import images
from tickets.clock import utcnow
from tickets.errors import NotFound, PetitionClosed
from tickets.masking import mask_phone
from tickets.petitions import OPEN

log = logging.getLogger("gateway.cosign")


router = APIRouter(tags=["co-sign"])  # its routes are the app's own (gateway/app.py), which closes the kit
router.include_router(cosign_auth.router)
CARD_MAX_AGE = 3600


def _who(identity: Identity) -> str:
    """How the page names a signer: the masked number for a phone, nothing for an app account."""
    return mask_phone(identity.value) if identity.kind == "sms" else ""


def _identity(kit: CosignKit, request: Request) -> Identity | None:
    return open_identity(kit.seal, request.cookies.get(IDENTITY_COOKIE), utcnow().timestamp())


@router.get("/j/{token}", response_class=HTMLResponse)
async def cosign_page(token: str, request: Request, kit: Kit, step: str = "", via: str = "") -> Response:
    """The co-sign page: the petition, its count, and the form of the visitor's next step."""
    petition_id = resolve(kit, token)
    if isinstance(petition_id, HTMLResponse):
        return petition_id
    try:
        view = load_view(kit.state.engine, petition_id)
    except NotFound:
        return notice(kit, "invalid", 404)
    kit.views.put(view)
    now = utcnow()
    status = view.petition.state_at(now)
    if status != OPEN:
        return ended(kit, status, view.petition.closed_reason)
    identity = _identity(kit, request)
    if identity is not None:
        signed = cosign_signing.has_signed(kit, petition_id, identity)
        return form_page(kit, request, view, token, step="signed" if signed else "sign", who=_who(identity),
                         kind=identity.kind)
    agent = request.headers.get("user-agent", "")
    if via != "sms":
        if "MicroMessenger" in agent and kit.wechat_oauth is not None:
            return cosign_auth.start_oauth(kit, token, petition_id, "wechat")
        if "AlipayClient" in agent and kit.state.alipay_api is not None:
            return cosign_auth.start_oauth(kit, token, petition_id, "alipay")
    pending = open_pending_phone(kit.seal, request.cookies.get(PENDING_COOKIE), now.timestamp())
    if pending is not None and step != "phone":
        return form_page(kit, request, view, token, step="code", who=mask_phone(pending))
    return form_page(kit, request, view, token, step="phone")


@router.post("/j/{token}", response_class=HTMLResponse)
async def sign(token: str, request: Request, kit: Kit) -> Response:
    """Sign the petition as the proven identity, with or without consent to hear of progress."""
    posted = await accept_post(kit, request, token)
    if not isinstance(posted, Posted):
        return posted
    identity = _identity(kit, request)
    if identity is None:  # never proven, or the proof expired: prove again
        return back_to_page(token)
    consent = posted.form.get("consent") == "1"
    name = clean_name(posted.form.get("name", "")[:200])
    if name is None:
        return form_page(kit, request, posted.view, token, step="sign", status=400, error="name", who=_who(identity),
                         kind=identity.kind, consent=consent)
    host = client_host(request)
    wait = kit.limiter.take([  # both or neither counted: a refused attempt costs no budget
        Hit("cosign-identity", kit.prints.key("identity", f"{identity.kind}:{identity.value}"),
            kit.limits.cosign_identity),
        Hit("cosign-ip", kit.prints.key("ip", f"{posted.petition_id}:{host}"), kit.limits.cosign_ip),
    ])
    if wait:
        if cosign_signing.has_signed(kit, posted.petition_id, identity):  # a double tap: say so, not "wait"
            return form_page(kit, request, posted.view, token, step="done", outcome="already",
                             count=posted.view.petition.signature_count, who=_who(identity), kind=identity.kind)
        log.info("co-sign petition %d: signature refused, over the limit (retry in %d s)", posted.petition_id, wait)
        return limited(kit, wait)
    petition = posted.view.petition
    try:
        outcome = cosign_signing.sign(kit, petition.id, petition.zone, identity, name=name, consent=consent,
                                      host=host, device_cookie=request.cookies.get(DEVICE_COOKIE), now=utcnow())
    except PetitionClosed as exc:
        return ended_now(kit, exc.petition_id, exc.status)
    except NotFound:
        return notice(kit, "invalid", 404)
    result = "flagged" if outcome.flagged else "signed" if outcome.signed else "already"
    log.info("co-sign petition %d: %s via %s (consent=%s)", petition.id, result, identity.kind, consent)
    return form_page(kit, request, posted.view, token, step="done", outcome=result, count=outcome.signature_count,
                     who=_who(identity), kind=identity.kind)


@router.post("/j/{token}/withdraw", response_class=HTMLResponse)
async def withdraw(token: str, request: Request, kit: Kit) -> Response:
    """Take one's signature back while the petition is open."""
    posted = await accept_post(kit, request, token)
    if not isinstance(posted, Posted):
        return posted
    identity = _identity(kit, request)
    if identity is None:
        return back_to_page(token)
    try:
        withdrawn = cosign_signing.withdraw(kit, posted.petition_id, identity, utcnow())
        view = load_view(kit.state.engine, posted.petition_id)
    except PetitionClosed as exc:
        return ended_now(kit, exc.petition_id, exc.status)
    except NotFound:
        return notice(kit, "invalid", 404)
    kit.views.put(view)
    log.info("co-sign petition %d: %s via %s", posted.petition_id, "withdrawn" if withdrawn else "nothing to withdraw",
             identity.kind)
    return form_page(kit, request, view, token, step="done", outcome="withdrawn" if withdrawn else "not_signed",
                     who=_who(identity), kind=identity.kind)


@router.get("/j/{token}/card.png", response_class=Response, responses={200: {"content": {"image/png": {}}}})
async def card(token: str, kit: Kit) -> Response:
    """The printable card of this link: its QR code, the petition's title and number, what scanning does."""
    petition_id = resolve(kit, token)
    if isinstance(petition_id, HTMLResponse):
        return petition_id
    view = open_view(kit, petition_id)
    if isinstance(view, HTMLResponse):
        return view
    link = f"{kit.settings.public_base_url}/j/{token}"
    petition = view.petition

    def make() -> bytes:
        return images.png_card(link, title=petition.title, number=petition.number,
                               caption=render("petition_card_caption"))

    png = await run_in_threadpool(kit.cards.get, (petition_id, token), make)
    return Response(png, media_type="image/png", headers={"Cache-Control": f"public, max-age={CARD_MAX_AGE}",
                                                          "X-Content-Type-Options": "nosniff"})
