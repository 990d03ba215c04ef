"""Who is signed in to the console: the session cookie, CSRF tokens bound to the session, and page rendering."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

from gateway.deps import State
from gateway.pages import page
from gateway.state import AppState
from tickets.access.officers import User, UserRole
from tickets.access.sessions import session_user
from tickets.clock import utcnow
from tickets.storage.db import reader

SESSION_COOKIE = "console_session"
# Console pages hold personal data: never cached, never framed, nothing loaded from elsewhere.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}

# Which navigation entry a page belongs to (marked aria-current).
_SECTIONS = {"tickets.html": "tickets", "ticket.html": "tickets", "new_ticket.html": "tickets",
             "petitions.html": "petitions", "petition.html": "petitions", "dashboard.html": "dashboard"}


@dataclass(frozen=True, slots=True)
class Officer:
    """A signed-in console user and the session token their cookie carries."""

    user: User
    token: str

    def csrf(self, state: AppState) -> str:
        """The CSRF token of this session's forms (an HMAC of the session token: no second cookie)."""
        return csrf_token(state, f"session:{self.token}")

    def csrf_ok(self, state: AppState, submitted: str) -> bool:
        """Whether a form carried this session's CSRF token."""
        return hmac.compare_digest(submitted.encode(), self.csrf(state).encode())

    @property
    def actor(self) -> str:
        """How the officer appears on a ticket's timeline."""
        return f"console:{self.user.username}"

    def can_act(self) -> bool:
        """Operators and admins change tickets; viewers only read."""
        return self.user.can(UserRole.OPERATOR)


def csrf_token(state: AppState, purpose: str) -> str:
    """An HMAC of `purpose` under the deployment's secret key."""
    message = f"console-csrf:{purpose}".encode()
    return hmac.new(state.settings.secret_key.encode(), message, hashlib.sha256).hexdigest()


def signed_in(request: Request, state: State) -> Officer:
    """The officer of the request's session; a browser without one is sent to the sign-in page."""
    token = request.cookies.get(SESSION_COOKIE, "")
    user = None
    if token:
        with reader(state.engine).connect() as conn:
            user = session_user(conn, token, utcnow())
    if user is None:
        raise HTTPException(status_code=303, detail="sign in first",
                            headers={"Location": "/console/login", **SECURITY_HEADERS})
    return Officer(user=user, token=token)


SignedIn = Annotated[Officer, Depends(signed_in)]


def console_page(state: AppState, template: str, officer: Officer | None, *, status_code: int = 200,
                 **context: Any) -> HTMLResponse:
    """Render `templates/pages/console/{template}` with the officer and their CSRF token."""
    section = _SECTIONS.get(template, "")
    response = page(f"console/{template}", state.settings.timezone, status_code=status_code, officer=officer,
                    csrf=officer.csrf(state) if officer else "", section=section, **context)
    response.headers.update(SECURITY_HEADERS)
    return response


def refused(state: AppState, officer: Officer, reason: str) -> HTMLResponse:
    """The polite 403 page: a viewer tried to act, or a form's CSRF token did not match."""
    return console_page(state, "refused.html", officer, status_code=403, reason=reason)


def may_act(state: AppState, officer: Officer, csrf: str) -> HTMLResponse | None:
    """None when the officer may act on this form (CSRF token good, a role that acts), else the refusal page."""
    if not officer.csrf_ok(state, csrf):
        return refused(state, officer, "csrf")
    if not officer.can_act():
        return refused(state, officer, "role")
    return None
