"""Server-side sessions of console users: the cookie carries a random token, the table only its hash."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa

from tickets.access.officers import User, get_user
from tickets.storage.schema import console_sessions

SESSION_HOURS = 8  # one working shift; signing in again starts a new session


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(conn: sa.Connection, user: User, now: datetime, hours: int = SESSION_HOURS) -> str:
    """Start a session for a signed-in user; returns the token for the cookie (its only copy)."""
    token = secrets.token_urlsafe(32)
    conn.execute(sa.insert(console_sessions).values(
        token_hash=_digest(token), user_id=user.id, created_at=now, expires_at=now + timedelta(hours=hours)))
    return token


def session_user(conn: sa.Connection, token: str, now: datetime) -> User | None:
    """The user of a live session, or None for an unknown, expired or disabled one."""
    if not token or len(token) > 128:
        return None
    row = conn.execute(sa.select(console_sessions.c.user_id, console_sessions.c.expires_at)
                       .where(console_sessions.c.token_hash == _digest(token))).one_or_none()
    if row is None or row.expires_at <= now:
        return None
    return get_user(conn, row.user_id)


def close_session(conn: sa.Connection, token: str) -> None:
    """End a session (signing out)."""
    conn.execute(sa.delete(console_sessions).where(console_sessions.c.token_hash == _digest(token)))


def purge_expired(conn: sa.Connection, now: datetime) -> int:
    """Delete sessions past their expiry; returns how many."""
    result = conn.execute(sa.delete(console_sessions).where(console_sessions.c.expires_at <= now))
    return int(result.rowcount)
