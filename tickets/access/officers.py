"""Officers who sign in to the console: roles and argon2id password hashes.

Wrong passwords never lock an account (anyone who knows a user name could lock its officer out): the
console slows guessing down per account and address instead (gateway/console/throttle.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tickets.errors import AuthError, NotFound
from tickets.storage.schema import users

MIN_PASSWORD = 10
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")

# argon2id with the library's defaults (RFC 9106 low-memory profile: t=3, m=64 MiB, p=4).
_HASHER = PasswordHasher()


class UserRole(StrEnum):
    """What an officer may do in the console; each role includes the ones below it."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"


_RANK = {UserRole.VIEWER: 0, UserRole.OPERATOR: 1, UserRole.ADMIN: 2}


@dataclass(frozen=True, slots=True)
class User:
    """A console user (never carries the password hash)."""

    id: int
    username: str
    role: UserRole

    def can(self, role: UserRole) -> bool:
        """Whether this user has at least `role`."""
        return _RANK[self.role] >= _RANK[role]


def _user(row: Any) -> User:
    return User(id=row.id, username=row.username, role=UserRole(row.role))


def check_password_strength(password: str) -> None:
    """Raise ValueError for a password too short to keep."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password needs at least {MIN_PASSWORD} characters")


def create_user(conn: sa.Connection, username: str, role: UserRole, password: str, now: datetime) -> User:
    """Store a new user with an argon2id hash of the password; raises ValueError for a bad name or password."""
    username = username.strip().lower()
    if not USERNAME.fullmatch(username):
        raise ValueError("a username is 2-64 characters: lower-case letters, digits, '.', '_' or '-'")
    check_password_strength(password)
    if conn.execute(sa.select(users.c.id).where(users.c.username == username)).first() is not None:
        raise ValueError(f"user {username} exists")
    user_id = conn.execute(sa.insert(users).values(
        username=username, role=role.value, password_hash=_HASHER.hash(password), created_at=now,
    ).returning(users.c.id)).scalar_one()
    return User(id=int(user_id), username=username, role=role)


def set_password(conn: sa.Connection, username: str, password: str) -> None:
    """Replace a user's password; raises NotFound or ValueError."""
    check_password_strength(password)
    result = conn.execute(sa.update(users).where(users.c.username == username.strip().lower()).values(
        password_hash=_HASHER.hash(password)))
    if not result.rowcount:
        raise NotFound(f"user {username}")


def get_user(conn: sa.Connection, user_id: int) -> User | None:
    """The active user with this id, or None (unknown or disabled)."""
    row = conn.execute(sa.select(users).where(users.c.id == user_id, users.c.disabled.is_(False))).one_or_none()
    return _user(row) if row else None


def authenticate(conn: sa.Connection, username: str, password: str, now: datetime) -> User:
    """The user whose password this is; AuthError for a wrong name or password (the caller throttles)."""
    row = conn.execute(sa.select(users).where(users.c.username == username.strip().lower())).one_or_none()
    if row is None or row.disabled:
        _verify(_dummy_hash(), password)
        raise AuthError("unknown user or wrong password")
    if not _verify(row.password_hash, password):
        raise AuthError("unknown user or wrong password")
    values: dict[str, Any] = {"last_login_at": now}
    if _HASHER.check_needs_rehash(row.password_hash):  # parameters raised since it was stored
        values["password_hash"] = _HASHER.hash(password)
    conn.execute(sa.update(users).where(users.c.id == row.id).values(**values))
    return _user(row)


@cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so the answer takes as long as for a real account."""
    return _HASHER.hash("no such user: the time taken must not tell")


def _verify(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
