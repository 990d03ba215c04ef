"""Short-lived sessions of the Alipay mini-program: `Authorization: Bearer <token>` after sign-in.

A token reads `ms1.{citizen_id}.{expires}.{mac}`: our own citizen row id (no Alipay user id, nothing a
reader could take for personal data), the expiry in unix seconds, and the first 16 bytes of
HMAC-SHA256 over `ms1.{citizen_id}.{expires}` in unpadded base64url. The key is derived from SECRET_KEY
with its own label, so it is useless for links, identities or CSRF tokens, and theirs for it.

Also here: the routes' shared pieces, `refusal` (an error with the citizen's text from
templates/messages/miniapp_refused.j2) and `citizen_for` (the session's citizen, locked).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bots.texts import render
from gateway.deps import State
from gateway.state import AppState
from tickets.clock import utcnow
from tickets.errors import ConfigurationError, GatewayError
from tickets.inbox.citizens import Citizen, get_citizen_key, lock_citizen
from tickets.inbox.message import Channel

VERSION = "ms1"
_LABEL = b"petition-gateway/miniapp-session/v1"
_TOKEN = re.compile(rf"{VERSION}\.([1-9][0-9]{{0,17}})\.([1-9][0-9]{{0,11}})\.([A-Za-z0-9_-]{{22}})")
_bearer = HTTPBearer(auto_error=False, scheme_name="MiniappSession",
                     description="The session token from POST /api/v1/miniapp/session")


class SessionInvalid(GatewayError):
    """A token that is missing, forged, malformed or expired; `reason` is `session_invalid` or `session_expired`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class MiniappSession:
    """A signed-in citizen of the mini-program."""

    citizen_id: int
    expires_at: datetime


class SessionSigner:
    """Issues and checks session tokens."""

    def __init__(self, secret_key: str, lifetime: timedelta, clock: Callable[[], datetime] = utcnow) -> None:
        if not secret_key:
            raise ConfigurationError("SECRET_KEY is empty; mini-program sessions cannot be signed")
        self._key = hmac.new(secret_key.encode(), _LABEL, hashlib.sha256).digest()
        self._lifetime = lifetime
        self._clock = clock

    def issue(self, citizen_id: int) -> tuple[str, datetime]:
        """A token for the citizen and when it expires."""
        expires = int((self._clock() + self._lifetime).timestamp())
        token = f"{VERSION}.{citizen_id}.{expires}.{self._mac(citizen_id, expires)}"
        return token, datetime.fromtimestamp(expires, UTC)

    def verify(self, token: str) -> MiniappSession:
        """The session a genuine, unexpired token carries; raises SessionInvalid."""
        match = _TOKEN.fullmatch(token.strip()) if len(token) <= 80 else None
        if match is None:
            raise SessionInvalid("session_invalid")
        citizen_id, expires = int(match[1]), int(match[2])
        if not hmac.compare_digest(self._mac(citizen_id, expires), match[3]):
            raise SessionInvalid("session_invalid")
        if self._clock().timestamp() >= expires:
            raise SessionInvalid("session_expired")
        return MiniappSession(citizen_id, datetime.fromtimestamp(expires, UTC))

    def _mac(self, citizen_id: int, expires: int) -> str:
        digest = hmac.new(self._key, f"{VERSION}.{citizen_id}.{expires}".encode(), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def signer_of(secret_key: str, minutes: int) -> SessionSigner:
    """The deployment's signer (SECRET_KEY, MINIAPP_SESSION_MINUTES)."""
    return SessionSigner(secret_key, timedelta(minutes=minutes))


def refusal(status: int, code: str, **headers: str) -> HTTPException:
    """An error the mini-program shows: `code` for its logic, `message` (templates/messages) for the citizen."""
    return HTTPException(status, {"code": code, "message": render("miniapp_refused", code=code)},
                         headers=headers or None)


async def current_session(
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> MiniappSession:
    """The signed-in citizen; 401 with `session_invalid` or `session_expired` otherwise."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise refusal(401, "session_invalid", **{"WWW-Authenticate": "Bearer"})
    settings = state.settings
    try:
        return signer_of(settings.secret_key, settings.miniapp_session_minutes).verify(credentials.credentials)
    except SessionInvalid as exc:
        raise refusal(401, exc.reason, **{"WWW-Authenticate": "Bearer"}) from None


Session = Annotated[MiniappSession, Depends(current_session)]


def citizen_for(conn: sa.Connection, state: AppState, session: MiniappSession) -> Citizen:
    """The session's citizen, locked for the transaction; 401 when it is not this app's Alipay citizen."""
    key = get_citizen_key(conn, session.citizen_id)
    if key is None or key.channel != Channel.ALIPAY.value or key.account != state.settings.alipay_app_id:
        raise refusal(401, "session_invalid", **{"WWW-Authenticate": "Bearer"})
    return lock_citizen(conn, key, utcnow())
