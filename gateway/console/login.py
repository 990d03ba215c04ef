"""`/console/login` and `/console/logout`: signing officers in and out of the console."""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.console.auth import SECURITY_HEADERS, SESSION_COOKIE, SignedIn, console_page, csrf_token, refused
from gateway.deps import State
from gateway.limits import Hit, Limiter, build_limiter
from gateway.security import derive
from gateway.state import AppState
from tickets.access.officers import AccountLocked, authenticate
from tickets.access.sessions import SESSION_HOURS, close_session, open_session, purge_expired
from tickets.clock import utcnow
from tickets.errors import AuthError
from tickets.masking import mask_identifier

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
log = logging.getLogger("gateway.console")
LOGIN_COOKIE = "console_login"


_LOGIN_WINDOWS = ((10, 60), (30, 3600))  # sign-in attempts per address: a burst, and an hour


def _limiter(request: Request, state: AppState) -> Limiter:
    limiter: Limiter | None = getattr(request.app.state, "console_limiter", None)
    if limiter is None:
        limiter = request.app.state.console_limiter = build_limiter(state.settings.redis_url)
    return limiter


def _address_key(state: AppState, request: Request) -> str:
    address = request.client.host if request.client else ""
    return hmac.new(derive(state.settings.secret_key, "console-login/v1"), address.encode(), "sha256").hexdigest()


def _login_form(state: AppState, request: Request, *, error: str = "", status_code: int = 200,
                username: str = "") -> HTMLResponse:
    nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(16)
    response = console_page(state, "login.html", None, status_code=status_code, error=error, username=username,
                            login_csrf=csrf_token(state, f"login:{nonce}"))
    response.set_cookie(LOGIN_COOKIE, nonce, httponly=True, samesite="strict", path="/console",
                        secure=not state.settings.is_dev, max_age=3600)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, state: State) -> Response:
    """The sign-in form."""
    return _login_form(state, request)


@router.post("/login")
def login(
    request: Request,
    state: State,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf: Annotated[str, Form(max_length=128)],
) -> Response:
    """Check the password; start a server-side session, or count the failure (locks after repeated ones)."""
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if not nonce or not secrets.compare_digest(csrf.encode(), csrf_token(state, f"login:{nonce}").encode()):
        return _login_form(state, request, error="expired", status_code=403, username=username)
    wait = _limiter(request, state).take([Hit("console-login", _address_key(state, request), _LOGIN_WINDOWS)])
    if wait:  # guessing from one address, or locking officers out by guessing wrong: slowed, never counted
        log.warning("console sign-in from one address over the limit (retry in %d s)", wait)
        slowed = _login_form(state, request, error="slow", status_code=429, username=username)
        slowed.headers["Retry-After"] = str(wait)
        return slowed
    now = utcnow()
    error = ""
    with state.engine.begin() as conn:
        try:
            user = authenticate(conn, username, password, now)
        except AccountLocked:
            error = "locked"
        except AuthError:
            error = "wrong"
        else:
            purge_expired(conn, now)
            token = open_session(conn, user, now)
    if error:
        log.warning("console sign-in refused for %s: %s", mask_identifier(username), error)
        return _login_form(state, request, error=error, status_code=401, username=username)
    log.info("console sign-in: %s (%s)", mask_identifier(user.username), user.role.value)
    response = RedirectResponse("/console/tickets", status_code=303, headers=SECURITY_HEADERS)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", path="/console",
                        secure=not state.settings.is_dev, max_age=SESSION_HOURS * 3600)
    response.delete_cookie(LOGIN_COOKIE, path="/console")
    return response


@router.post("/logout")
def logout(state: State, officer: SignedIn, csrf: Annotated[str, Form(max_length=128)]) -> Response:
    """End the session."""
    if not officer.csrf_ok(state, csrf):
        return refused(state, officer, "csrf")
    with state.engine.begin() as conn:
        close_session(conn, officer.token)
    response = RedirectResponse("/console/login", status_code=303, headers=SECURITY_HEADERS)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response
