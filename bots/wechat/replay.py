"""Replay protection of WeChat pushes: every (timestamp, nonce) is remembered while its timestamp is
accepted, bound to a fingerprint of the message it carried (docs/platforms.md section 1.2).

WeChat retries a push it got no answer to with the same query (timestamp, nonce, signature, msg_signature)
and the same body. Such a repeat carries the same message, so it is let through: the intake's MsgId
dedupe answers it as before and creates nothing (docs/design.md section 3). A repeat of a (timestamp,
nonce) carrying another message cannot come from WeChat: it is someone reusing a signature seen on a
genuine push, and it is refused. Outside the window the timestamp check refuses it anyway.

Stores work across processes: Redis when REDIS_URL is set (falling back to the database if Redis
fails), else the database (tickets/inbox/nonces.py). `MemoryNonces` is for one process (tests, tools).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from redis.exceptions import RedisError
from sqlalchemy.engine import Connection, Engine

from tickets.clock import utcnow
from tickets.inbox import nonces

log = logging.getLogger(__name__)

PRUNE_EVERY = 512  # claims between deletions of expired entries


def fingerprint(message: str) -> str:
    """What a nonce is bound to: the SHA-256 of the message as WeChat wrote it (decrypted in safe mode)."""
    return hashlib.sha256(message.encode("utf-8")).hexdigest()


class NonceStore(Protocol):
    """Remembers nonces, each with the fingerprint of the message it came with."""

    def claim(self, key: str, fingerprint: str, ttl_s: int) -> bool:
        """Remember `key` for `ttl_s` seconds; False when it is remembered with another fingerprint."""

    def claim_in(self, conn: Connection, key: str, fingerprint: str, ttl_s: int) -> bool:
        """`claim`, made inside the caller's transaction `conn` when the store is that database."""

    def close(self) -> None:
        """Release connections."""


class MemoryNonces:
    """Nonces in this process (thread-safe): enough for one process, and for tests."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[str, float]] = {}  # key -> (fingerprint, expiry)
        self._claims = 0

    def claim(self, key: str, fingerprint: str, ttl_s: int) -> bool:
        """Remember `key` for `ttl_s` seconds; False when it is remembered with another fingerprint."""
        now = self._clock()
        with self._lock:
            self._claims += 1
            if self._claims % PRUNE_EVERY == 0:
                self._seen = {k: kept for k, kept in self._seen.items() if kept[1] > now}
            kept = self._seen.get(key)
            if kept is not None and kept[1] > now:
                return kept[0] == fingerprint
            self._seen[key] = (fingerprint, now + ttl_s)
            return True

    def claim_in(self, conn: Connection, key: str, fingerprint: str, ttl_s: int) -> bool:
        """As `claim`: the transaction is not needed."""
        return self.claim(key, fingerprint, ttl_s)

    def close(self) -> None:
        """Nothing to release."""


class DatabaseNonces:
    """Nonces in the database, shared by every process (the embedded setup, or Redis failing)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._claims = 0

    def claim(self, key: str, fingerprint: str, ttl_s: int) -> bool:
        """Remember `key` for `ttl_s` seconds; False when it is remembered with another fingerprint."""
        with self._engine.begin() as conn:
            return self.claim_in(conn, key, fingerprint, ttl_s)

    def claim_as_row(self) -> bool:
        """Count a claim its caller writes as a row of a statement of its own (bots/intake.py); False when this
        claim is the one that deletes the expired nonces: the caller then takes `claim_in`'s way, which does."""
        if (self._claims + 1) % PRUNE_EVERY == 0:
            return False
        self._claims += 1
        return True

    def claim_in(self, conn: Connection, key: str, fingerprint: str, ttl_s: int) -> bool:
        """`claim` as one more row of the caller's transaction (the intake's): it is kept if that commits."""
        now = utcnow()
        self._claims += 1
        if self._claims % PRUNE_EVERY == 0:
            nonces.prune(conn, now)
        return nonces.claim(conn, key, fingerprint, now, ttl_s)

    def close(self) -> None:
        """The engine belongs to the application."""


class RedisNonces:
    """Nonces in Redis (SET NX EX, one round trip), shared by every web process.

    If Redis fails, the database takes over rather than letting every push through or refusing them all.
    """

    def __init__(self, redis: Any, fallback: NonceStore, prefix: str = "gateway:nonce:") -> None:
        self._redis = redis
        self._fallback = fallback
        self._prefix = prefix

    def claim(self, key: str, fingerprint: str, ttl_s: int) -> bool:
        """Remember `key` for `ttl_s` seconds; False when it is remembered with another fingerprint."""
        kept = self._claim(key, fingerprint, ttl_s)
        return self._fallback.claim(key, fingerprint, ttl_s) if kept is None else kept

    def claim_in(self, conn: Connection, key: str, fingerprint: str, ttl_s: int) -> bool:
        """As `claim` (Redis, one round trip); in the database's transaction `conn` only if Redis fails."""
        kept = self._claim(key, fingerprint, ttl_s)
        return self._fallback.claim_in(conn, key, fingerprint, ttl_s) if kept is None else kept

    def _claim(self, key: str, fingerprint: str, ttl_s: int) -> bool | None:
        """The claim in Redis; None when Redis fails."""
        name = self._prefix + key
        try:
            pipe = self._redis.pipeline(transaction=False)
            pipe.set(name, fingerprint, nx=True, ex=max(1, ttl_s))
            pipe.get(name)
            created, kept = pipe.execute()
        except RedisError as exc:
            log.warning("push nonces: Redis unavailable (%s), using the database", type(exc).__name__)
            return None
        if created:
            return True
        # Gone between the two commands (expired): nothing holds the key against this push.
        return kept is None or (kept.decode() if isinstance(kept, bytes) else str(kept)) == fingerprint

    def close(self) -> None:
        """Close the Redis connections."""
        self._redis.close()


def build_nonce_store(redis_url: str, engine: Engine) -> NonceStore:
    """Redis when REDIS_URL is set (the database if it fails), else the database."""
    database = DatabaseNonces(engine)
    if not redis_url:
        return database
    from redis import Redis

    return RedisNonces(Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1), database)
