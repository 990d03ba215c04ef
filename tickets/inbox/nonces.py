"""Nonces of platform pushes already seen, each bound to the message it carried (replay protection).

The store behind bots/wechat/replay.py when there is no Redis: one row per key, shared by every process
through the database. A key is claimed once; a later claim of the same key succeeds only with the same
fingerprint (the platform retrying the same push) until the row expires.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from tickets.storage.db import dialect_insert
from tickets.storage.schema import push_nonces


def claim(conn: sa.Connection, key: str, fingerprint: str, now: datetime, ttl_s: float) -> bool:
    """Remember `key` as carrying `fingerprint` for `ttl_s`; False when it is remembered with another one."""
    expires_at = now + timedelta(seconds=ttl_s)
    inserted = conn.execute(
        dialect_insert(conn, push_nonces).values(key=key, fingerprint=fingerprint, expires_at=expires_at)
        .on_conflict_do_nothing(index_elements=[push_nonces.c.key])
    )
    if inserted.rowcount == 1:
        return True
    # An expired row is a key seen long ago (a later window): it is taken over, not held against the push.
    renewed = conn.execute(
        sa.update(push_nonces).where(push_nonces.c.key == key, push_nonces.c.expires_at <= now)
        .values(fingerprint=fingerprint, expires_at=expires_at)
    )
    if renewed.rowcount == 1:
        return True
    kept = conn.execute(sa.select(push_nonces.c.fingerprint).where(push_nonces.c.key == key)).scalar_one_or_none()
    return kept is None or kept == fingerprint


def prune(conn: sa.Connection, now: datetime) -> int:
    """Forget expired nonces; returns how many."""
    return int(conn.execute(sa.delete(push_nonces).where(push_nonces.c.expires_at <= now)).rowcount)
