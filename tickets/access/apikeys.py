"""API keys with roles for the JSON API. Only a hash is stored; the key is shown once."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa

from tickets.errors import AuthError
from tickets.storage.schema import api_keys

KEY_PREFIX = "pgk_"


class Role(StrEnum):
    """What a key may do; each role includes the ones below it."""

    READER = "reader"
    DISPATCHER = "dispatcher"
    ADMIN = "admin"


_RANK = {Role.READER: 0, Role.DISPATCHER: 1, Role.ADMIN: 2}


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An authenticated caller."""

    id: int
    name: str
    role: Role

    def require(self, role: Role) -> None:
        """Raise AuthError unless this key has at least `role`."""
        if _RANK[self.role] < _RANK[role]:
            raise AuthError(f"role {role.value} required", forbidden=True)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(conn: sa.Connection, name: str, role: Role, now: datetime) -> str:
    """Create a key and return it in clear (the only time it is seen)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    conn.execute(sa.insert(api_keys).values(
        name=name, role=role.value, prefix=key[:10], key_hash=_digest(key), created_at=now,
    ))
    return key


def authenticate(conn: sa.Connection, key: str) -> ApiKey:
    """The caller behind a bearer key; raises AuthError.

    The lookup is by SHA-256 of a 256-bit random key, so a timing difference reveals nothing useful.
    """
    if not key.startswith(KEY_PREFIX):
        raise AuthError("unknown key")
    row = conn.execute(
        sa.select(api_keys.c.id, api_keys.c.name, api_keys.c.role, api_keys.c.revoked_at)
        .where(api_keys.c.key_hash == _digest(key))
    ).one_or_none()
    if row is None or row.revoked_at is not None:
        raise AuthError("unknown or revoked key")
    return ApiKey(id=row.id, name=row.name, role=Role(row.role))


def revoke_api_key(conn: sa.Connection, name: str, now: datetime) -> bool:
    """Revoke a key by name; False if there was none."""
    result = conn.execute(
        sa.update(api_keys).where(api_keys.c.name == name, api_keys.c.revoked_at.is_(None)).values(revoked_at=now)
    )
    return bool(result.rowcount)
