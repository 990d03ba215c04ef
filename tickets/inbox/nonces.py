"""Nonces of platform pushes already seen, each bound to the message it carried (replay protection).

The store behind bots/wechat/replay.py when there is no Redis: one row per key, shared by every process
through the database. A key is claimed once; a later claim of the same key succeeds only with the same
fingerprint (the platform retrying the same push) until the row expires.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from tickets.storage import fastsql
from tickets.storage.schema import push_nonces

# Every push claims its nonce inside the intake's transaction: the statement is written once (fastsql.py).
CLAIM_SQL = ('INSERT INTO push_nonces ("key", fingerprint, expires_at) VALUES (?, ?, ?)'
             ' ON CONFLICT ("key") DO NOTHING RETURNING "key"')
_CLAIM = fastsql.Sql(CLAIM_SQL)


def claim(conn: sa.Connection, key: str, fingerprint: str, now: datetime, ttl_s: float) -> bool:
    """Remember `key` as carrying `fingerprint` for `ttl_s`; False when it is remembered with another one."""
    expires_at = now + timedelta(seconds=ttl_s)
    if fastsql.fetch(conn, _CLAIM, (key, fingerprint, fastsql.bind_time(fastsql.is_postgres(conn), expires_at))):
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
