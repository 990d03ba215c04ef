"""Responses of the co-sign pages: the form page, notices (invalid link, ended, refused, too many), cookies.

Every text is in templates/pages/cosign.html and cosign_notice.html; this module picks the template,
the status code and the cookies. Cookies are httponly, SameSite=Lax (they must come back from the
trip to WeChat or Alipay, a top-level navigation), and Secure when the public address is HTTPS.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.cosign.forms import csrf_ok, csrf_token, new_nonce, read_form
from gateway.cosign.kit import CosignKit, PetitionView, load_view
from gateway.pages import page
from qr.links import LinkError, LinkExpired, LinkTampered
from tickets.clock import utcnow
from tickets.errors import NotFound
from tickets.petitions import EXPIRED, OPEN

log = logging.getLogger("gateway.cosign")

COOKIE_PATH = "/j/"
IDENTITY_COOKIE = "j_id"  # the sealed proven identity
PENDING_COOKIE = "j_phone"  # the sealed phone number awaiting its code
CSRF_COOKIE = "j_csrf"
DEVICE_COOKIE = "j_dev"  # random, long-lived: surge detection per device
OAUTH_COOKIE = "j_oauth"  # binds an OAuth trip to this browser
DEVICE_SECONDS = 2 * 365 * 86400
CSRF_SECONDS = 86400


async def cosign_kit(request: Request) -> CosignKit:
    """The application's co-sign wiring, built on first use (closed by the router's lifespan)."""
    kit: CosignKit | None = getattr(request.app.state, "cosign", None)
    if kit is None:
        kit = CosignKit.build(request.app.state.gateway)
        request.app.state.cosign = kit
    return kit


Kit = Annotated[CosignKit, Depends(cosign_kit)]


def resolve(kit: CosignKit, token: str) -> int | HTMLResponse:
    """The petition id of a genuine, unexpired token, or the page saying why not."""
    try:
        return kit.links.verify(token)
    except LinkError as exc:
        return link_refused(kit, exc)


def set_cookie(kit: CosignKit, response: Response, name: str, value: str, max_age: int,
               path: str = COOKIE_PATH) -> None:
    """Set one of the co-sign cookies."""
    response.set_cookie(name, value, max_age=max_age, path=path, httponly=True, samesite="lax",
                        secure=kit.secure_cookies)


def drop_cookie(kit: CosignKit, response: Response, name: str, path: str = COOKIE_PATH) -> None:
    """Remove a co-sign cookie."""
    response.delete_cookie(name, path=path, httponly=True, samesite="lax", secure=kit.secure_cookies)


def nonce_of(request: Request) -> tuple[str, bool]:
    """The browser's CSRF nonce, and whether it is new (to be set)."""
    nonce = request.cookies.get(CSRF_COOKIE)
    return (nonce, False) if nonce else (new_nonce(), True)


def form_page(kit: CosignKit, request: Request, view: PetitionView, token: str, *, step: str,
              status: int = 200, count: int | None = None, **context: Any) -> HTMLResponse:
    """The co-sign page at one step (phone, code, sign, signed, done), with its CSRF and device cookies."""
    nonce, new = nonce_of(request)
    context.setdefault("error", "")
    context.setdefault("outcome", "")
    context.setdefault("who", "")
    context.setdefault("kind", "")
    context.setdefault("name", "")
    context.setdefault("consent", False)
    context.setdefault("tries_left", 0)
    response = page("cosign.html", kit.settings.timezone, status_code=status, view=view, petition=view.petition,
                    token=token, step=step, count=view.petition.signature_count if count is None else count,
                    csrf=csrf_token(kit.csrf_key, view.petition.id, nonce), **context)
    if new:
        set_cookie(kit, response, CSRF_COOKIE, nonce, CSRF_SECONDS)
    if not request.cookies.get(DEVICE_COOKIE):
        set_cookie(kit, response, DEVICE_COOKIE, new_nonce() + new_nonce(), DEVICE_SECONDS)
    return response


def notice(kit: CosignKit, reason: str, status: int, *, token: str = "", **context: Any) -> HTMLResponse:
    """A page without a form: why nothing was done, and what to do instead."""
    context.setdefault("retry_after", 0)
    context.setdefault("ended_reason", "")
    response = page("cosign_notice.html", kit.settings.timezone, status_code=status, reason=reason, token=token,
                    **context)
    if reason == "limited":
        response.headers["Retry-After"] = str(context["retry_after"])
    return response


def link_refused(kit: CosignKit, exc: LinkError) -> HTMLResponse:
    """The page for a token that does not verify: invalid (400 tampered, 404 otherwise), or ended (410)."""
    log.info("co-sign link refused: %s", exc.reason)
    if isinstance(exc, LinkExpired):
        return notice(kit, "ended", 410, ended=EXPIRED)
    return notice(kit, "invalid", 400 if isinstance(exc, LinkTampered) else 404)


def ended(kit: CosignKit, status: str, reason: str = "") -> HTMLResponse:
    """The petition takes no more signatures, and why: its `closed_reason` (closed by its representative or an
    officer, ended with its ticket, expired)."""
    return notice(kit, "ended", 410, ended=status, ended_reason=reason)


def ended_now(kit: CosignKit, petition_id: int, status: str) -> HTMLResponse:
    """`ended` for a petition found closed while signing: its reason read afresh (the page's view may be older)."""
    try:
        return ended(kit, status, load_view(kit.state.engine, petition_id).petition.closed_reason)
    except NotFound:
        return notice(kit, "invalid", 404)


def limited(kit: CosignKit, retry_after: int) -> HTMLResponse:
    """Too many attempts: 429 with Retry-After; nothing was done."""
    return notice(kit, "limited", 429, retry_after=retry_after)


def back_to_page(token: str, query: str = "") -> RedirectResponse:
    """See-other to the co-sign page (after a form post)."""
    return RedirectResponse(f"/j/{token}{query}", status_code=303)


def client_host(request: Request) -> str:
    """The client's address as the server saw it (behind a proxy: run uvicorn with --proxy-headers)."""
    return request.client.host if request.client else ""


@dataclass(frozen=True, slots=True)
class Posted:
    """A form post that passed the common checks: a genuine link, a form, CSRF, an open petition."""

    petition_id: int
    view: PetitionView
    form: dict[str, str]


async def accept_post(kit: CosignKit, request: Request, token: str) -> Posted | HTMLResponse:
    """Check what every co-sign form post needs; the page saying what is wrong otherwise."""
    petition_id = resolve(kit, token)
    if isinstance(petition_id, HTMLResponse):
        return petition_id
    form = await read_form(request)
    if form is None:
        log.info("co-sign petition %d: form refused (too large or malformed)", petition_id)
        return notice(kit, "bad_form", 400, token=token)
    if not csrf_ok(kit.csrf_key, petition_id, request.cookies.get(CSRF_COOKIE), form.get("csrf")):
        log.warning("co-sign petition %d: CSRF token missing or wrong on %s", petition_id, request.url.path)
        return notice(kit, "csrf", 403, token=token)
    view = open_view(kit, petition_id)
    return view if isinstance(view, HTMLResponse) else Posted(petition_id, view, form)


def open_view(kit: CosignKit, petition_id: int) -> PetitionView | HTMLResponse:
    """The petition while it takes signatures; else the page saying it is gone or has ended."""
    try:
        view = kit.views.get(petition_id)
    except NotFound:
        return notice(kit, "invalid", 404)
    status = view.petition.state_at(utcnow())
    return ended(kit, status, view.petition.closed_reason) if status != OPEN else view
