"""How a co-signer proves who they are: WeChat or Alipay web authorisation, or a code texted to a phone.

Each path ends in the sealed identity cookie (gateway/cosign/identity.py) and a see-other back to the
co-sign page, where the signer confirms. Nothing here signs. Outbound calls (the code exchange with
WeChat or Alipay, the SMS gateway) run in the thread pool; the short database work on the loop.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bots.alipay import oauth as alipay_oauth
from bots.alipay.sign import AlipayApiError
from bots.sms import SmsError
from bots.texts import render
from bots.wechat.errors import WeChatApiError
from bots.wechat.oauth import CODE_ERRORS, SNAPSHOT_USER
from gateway.cosign.forms import oauth_cookie, oauth_state, oauth_state_ok
from gateway.cosign.identity import (
    IDENTITY_SECONDS,
    PENDING_SECONDS,
    Identity,
    open_pending_phone,
    seal_identity,
    seal_pending_phone,
)
from gateway.cosign.kit import CosignKit
from gateway.cosign.pages import (
    COOKIE_PATH,
    IDENTITY_COOKIE,
    OAUTH_COOKIE,
    PENDING_COOKIE,
    Kit,
    Posted,
    accept_post,
    back_to_page,
    client_host,
    drop_cookie,
    form_page,
    limited,
    notice,
    resolve,
    set_cookie,
)
from gateway.limits import Hit
from tickets.access import otp
from tickets.access.otp import Check
from tickets.clock import utcnow
from tickets.masking import mask_phone

log = logging.getLogger("gateway.cosign")
router = APIRouter(tags=["co-sign"])
OAUTH_SECONDS = 600


def _oauth_path(token: str) -> str:
    return f"/j/{token}/oauth/"


def start_oauth(kit: CosignKit, token: str, petition_id: int, provider: str) -> Response:
    """Send the browser to WeChat's or Alipay's silent authorisation, bound to it by a cookie."""
    cookie = oauth_cookie(utcnow().timestamp())
    state = oauth_state(kit.csrf_key, provider, petition_id, cookie)
    redirect_uri = f"{kit.settings.public_base_url}/j/{token}/oauth/{provider}"
    if provider == "wechat" and kit.wechat_oauth is not None:
        url = kit.wechat_oauth.authorize_url(redirect_uri, state)
    else:
        url = alipay_oauth.authorize_url(kit.settings.alipay_auth_base, kit.settings.alipay_app_id, redirect_uri,
                                         state)
    response = RedirectResponse(url, status_code=302)
    set_cookie(kit, response, OAUTH_COOKIE, cookie, OAUTH_SECONDS, path=_oauth_path(token))
    return response


def _proven(kit: CosignKit, token: str, identity: Identity, *, spent_cookie: str, cookie_path: str) -> Response:
    response = back_to_page(token)
    sealed = seal_identity(kit.seal, identity, utcnow().timestamp())
    set_cookie(kit, response, IDENTITY_COOKIE, sealed, IDENTITY_SECONDS)
    drop_cookie(kit, response, spent_cookie, path=cookie_path)
    return response


def _callback_refused(kit: CosignKit, token: str, provider: str, petition_id: int) -> Response:
    # The browser's own trip, if one is under way, stays usable: a forged link must not spend it.
    log.warning("co-sign petition %d: %s callback refused (state does not match this browser)", petition_id, provider)
    return notice(kit, "oauth_state", 403, token=token)


@router.get("/j/{token}/oauth/wechat", response_class=HTMLResponse)
async def wechat_callback(token: str, request: Request, kit: Kit, code: str = "", state: str = "") -> Response:
    """WeChat's return from snsapi_base: the state must be this browser's; the code gives the openid."""
    petition_id = resolve(kit, token)
    if isinstance(petition_id, HTMLResponse):
        return petition_id
    if kit.wechat_oauth is None:
        return notice(kit, "oauth_unavailable", 404, token=token)
    if not oauth_state_ok(kit.csrf_key, "wechat", petition_id, request.cookies.get(OAUTH_COOKIE), state,
                          utcnow().timestamp()):
        return _callback_refused(kit, token, "wechat", petition_id)
    if not code or len(code) > 256:
        return notice(kit, "oauth_failed", 400, token=token)
    try:
        openid = await run_in_threadpool(kit.wechat_oauth.openid_for, code)
    except WeChatApiError as exc:
        log.warning("co-sign petition %d: wechat code exchange failed: %d", petition_id, exc.errcode)
        if exc.errcode == SNAPSHOT_USER:
            return notice(kit, "snapshot", 400, token=token)
        if exc.errcode in CODE_ERRORS:
            return notice(kit, "oauth_failed", 400, token=token)
        return notice(kit, "oauth_unavailable", 502, token=token)
    return _proven(kit, token, Identity("wechat", openid), spent_cookie=OAUTH_COOKIE, cookie_path=_oauth_path(token))


@router.get("/j/{token}/oauth/alipay", response_class=HTMLResponse)
async def alipay_callback(token: str, request: Request, kit: Kit, auth_code: str = "", state: str = "") -> Response:
    """Alipay's return from auth_base: the state must be this browser's; the auth code gives the user id."""
    petition_id = resolve(kit, token)
    if isinstance(petition_id, HTMLResponse):
        return petition_id
    api = kit.state.alipay_api
    if api is None:
        return notice(kit, "oauth_unavailable", 404, token=token)
    if not oauth_state_ok(kit.csrf_key, "alipay", petition_id, request.cookies.get(OAUTH_COOKIE), state,
                          utcnow().timestamp()):
        return _callback_refused(kit, token, "alipay", petition_id)
    if not auth_code or len(auth_code) > 256:
        return notice(kit, "oauth_failed", 400, token=token)
    try:
        user = await run_in_threadpool(alipay_oauth.user_of, api, auth_code)
    except AlipayApiError as exc:
        log.warning("co-sign petition %d: alipay code exchange failed: %s %s", petition_id, exc.code, exc.sub_code)
        if exc.retryable or exc.code in {"transport", "response-signature"}:
            return notice(kit, "oauth_unavailable", 502, token=token)
        return notice(kit, "oauth_failed", 400, token=token)
    return _proven(kit, token, Identity("alipay", user), spent_cookie=OAUTH_COOKIE, cookie_path=_oauth_path(token))


@router.post("/j/{token}/code", response_class=HTMLResponse)
async def send_code(token: str, request: Request, kit: Kit) -> Response:
    """Text a 6-digit code to the phone number in the form (or again to the one waiting for its code)."""
    posted = await accept_post(kit, request, token)
    if not isinstance(posted, Posted):
        return posted
    now = utcnow()
    if posted.form.get("resend") == "1":
        phone = open_pending_phone(kit.seal, request.cookies.get(PENDING_COOKIE), now.timestamp())
        if phone is None:
            return form_page(kit, request, posted.view, token, step="phone", status=400, error="no_pending")
    else:
        phone = otp.normalise_phone(posted.form.get("phone", "")[:32])
        if phone is None:
            return form_page(kit, request, posted.view, token, step="phone", status=400, error="phone")
    host = client_host(request)
    wait = kit.limiter.take([Hit("otp-phone", kit.prints.key("phone", phone), kit.limits.otp_phone),
                             Hit("otp-ip", kit.prints.key("ip", host), kit.limits.otp_ip)])
    if wait:
        log.info("co-sign petition %d: code to %s refused, over the limit", posted.petition_id, mask_phone(phone))
        return limited(kit, wait)
    with kit.state.engine.begin() as conn:
        code = otp.issue(conn, kit.otp_key, phone, purpose=otp.COSIGN, now=now)
    text = render("sms_code", code=code, minutes=int(otp.LIFETIME.total_seconds() // 60))
    try:
        await run_in_threadpool(kit.sms.send, phone, text)
    except SmsError as exc:
        log.warning("co-sign petition %d: code to %s not sent: %s", posted.petition_id, mask_phone(phone), exc.reason)
        return form_page(kit, request, posted.view, token, step="phone", status=502, error="sms_failed")
    log.info("co-sign petition %d: code texted to %s", posted.petition_id, mask_phone(phone))
    response = back_to_page(token, "?step=code")
    set_cookie(kit, response, PENDING_COOKIE, seal_pending_phone(kit.seal, phone, now.timestamp()), PENDING_SECONDS)
    return response


_CODE_ERRORS = {Check.WRONG: "code_wrong", Check.EXPIRED: "code_expired", Check.USED: "code_used",
                Check.TOO_MANY: "code_tries"}


@router.post("/j/{token}/verify", response_class=HTMLResponse)
async def verify_code(token: str, request: Request, kit: Kit) -> Response:
    """Check the code texted to the waiting phone number; a right one proves the number."""
    posted = await accept_post(kit, request, token)
    if not isinstance(posted, Posted):
        return posted
    now = utcnow()
    phone = open_pending_phone(kit.seal, request.cookies.get(PENDING_COOKIE), now.timestamp())
    if phone is None:
        return form_page(kit, request, posted.view, token, step="phone", status=400, error="no_pending")
    shown = mask_phone(phone)
    code = otp.normalise_code(posted.form.get("code", "")[:16])
    if code is None:
        return form_page(kit, request, posted.view, token, step="code", status=400, error="code_format", who=shown)
    wait = kit.limiter.take([Hit("otp-verify", kit.prints.key("ip", client_host(request)), kit.limits.otp_ip)])
    if wait:
        return limited(kit, wait)
    with kit.state.engine.begin() as conn:
        result = otp.check(conn, kit.otp_key, phone, code, purpose=otp.COSIGN, now=now)
    if result.check is Check.OK:
        log.info("co-sign petition %d: %s proven by code", posted.petition_id, shown)
        return _proven(kit, token, Identity("sms", phone), spent_cookie=PENDING_COOKIE, cookie_path=COOKIE_PATH)
    log.info("co-sign petition %d: code for %s refused: %s", posted.petition_id, shown, result.check.value)
    if result.check is Check.NONE:
        return form_page(kit, request, posted.view, token, step="phone", status=400, error="no_pending")
    return form_page(kit, request, posted.view, token, step="code", status=400, error=_CODE_ERRORS[result.check],
                     tries_left=result.tries_left, who=shown)
