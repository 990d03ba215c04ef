"""`/console/login` and `/console/logout`: signing officers in and out of the console."""

from __future__ import annotations

import logging
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.console.auth import SECURITY_HEADERS, SESSION_COOKIE, SignedIn, console_page, csrf_token, refused
from gateway.console.throttle import SignInThrottle, build_throttle
from gateway.deps import State
from gateway.security import derive
from gateway.state import AppState
from tickets.access.officers import authenticate
from tickets.access.sessions import SESSION_HOURS, close_session, open_session, purge_expired
from tickets.clock import utcnow
from tickets.errors import AuthError
from tickets.masking import mask_identifier

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
log = logging.getLogger("gateway.console")
LOGIN_COOKIE = "console_login"


def _throttle(request: Request, state: AppState) -> SignInThrottle:
    """The application's sign-in throttle, built on first use (closed with the app, gateway/app.py)."""
    throttle: SignInThrottle | None = getattr(request.app.state, "console_throttle", None)
    if throttle is None:
        throttle = build_throttle(derive(state.settings.secret_key, "console-login/v2"), state.settings.redis_url)
        request.app.state.console_throttle = throttle
    return throttle


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
    """Check the password; start a server-side session, or count the failure (slowing, never locking)."""
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if not nonce or not secrets.compare_digest(csrf.encode(), csrf_token(state, f"login:{nonce}").encode()):
        return _login_form(state, request, error="expired", status_code=403, username=username)
    throttle = _throttle(request, state)
    address = request.client.host if request.client else ""
    wait = throttle.wait(username, address)
    if wait:  # not even checked: a guess while slowed down tells nothing
        log.warning("console sign-in for %s slowed down (retry in %d s)", mask_identifier(username), wait)
        slowed = _login_form(state, request, error="slow", status_code=429, username=username)
        slowed.headers["Retry-After"] = str(wait)
        return slowed
    now = utcnow()
    wrong = False
    with state.engine.begin() as conn:
        try:
            user = authenticate(conn, username, password, now)
        except AuthError:
            wrong = True
        else:
            purge_expired(conn, now)
            token = open_session(conn, user, now)
    if wrong:
        throttle.failed(username, address)
        log.warning("console sign-in refused for %s: wrong", mask_identifier(username))
        return _login_form(state, request, error="wrong", status_code=401, username=username)
    throttle.succeeded(username, address)
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
