"""Sign-in throttling of the console: guessing is slowed down, and nobody can lock an officer out.

A lock-out per account (five wrong passwords lock it for everyone) hands the lock to whoever types the
user name: one address could keep every officer out. Instead, three guards slow down, and none locks:

- **per account and address together**: after FREE_FAILURES wrong passwords in a row for one account
  from one address, each further try from there waits, 30 s doubling to 15 minutes; a right password
  clears it. The officer who mistyped is slowed on their own address; nobody else is touched.
- **per address** (any account): 10 tries a minute and 30 an hour, so one address cannot guess its way
  through the list of officers.
- **per account, from everywhere**: after ACCOUNT_FAILURES wrong passwords on one account within
  ACCOUNT_WINDOW seconds (guessing spread over many addresses), tries on it from addresses it has not
  signed in from are paced to one per PACE_SECONDS, all such addresses together: slowed, never refused
  for good.

An address an account signed in from in the last KNOWN_DAYS is known: its officer passes the address
and account guards (an office behind one address, an attack on their account elsewhere), never the
first one.

State lives in Redis when REDIS_URL is set (shared by every web process), else in this process; if Redis
fails this process counts alone (gateway/limits.py does the same). Keys are keyed hashes of the user
name and the address, never the name or the address.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from redis.exceptions import RedisError

from gateway.limits import Hit, Limiter, MemoryLimiter, RedisLimiter

log = logging.getLogger(__name__)

FREE_FAILURES = 5
FIRST_WAIT = 30
LONGEST_WAIT = 15 * 60
ADDRESS_WINDOWS = ((10, 60), (30, 3600))
ACCOUNT_FAILURES = 20
ACCOUNT_WINDOW = 15 * 60
PACE_SECONDS = 30
KNOWN_DAYS = 30
_DAY = 86400


def pair_wait(failures: int) -> int:
    """How long a try waits after `failures` wrong passwords in a row for one account from one address."""
    if failures < FREE_FAILURES:
        return 0
    return min(FIRST_WAIT << min(failures - FREE_FAILURES, 16), LONGEST_WAIT)


class Store(Protocol):
    """Counters with expiry: what the throttle remembers."""

    def add(self, key: str, ttl: int) -> int:
        """Add one to the counter (made at 0, expiring `ttl` seconds after this change); its new value."""

    def get(self, key: str) -> int:
        """The counter's value (0 when missing or expired)."""

    def put(self, key: str, value: int, ttl: int) -> None:
        """Set a value, expiring `ttl` seconds from now."""

    def drop(self, key: str) -> None:
        """Forget a key."""

    def close(self) -> None:
        """Release connections."""


class MemoryStore:
    """Counters in this process (thread-safe), on the throttle's clock."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._values: dict[str, tuple[int, float]] = {}  # key -> (value, expires at)

    def _live(self, key: str, now: float) -> int:
        value, expires = self._values.get(key, (0, 0.0))
        return value if expires > now else 0

    def add(self, key: str, ttl: int) -> int:
        """Add one to the counter; its new value."""
        now = self._clock()
        with self._lock:
            if len(self._values) > 100_000:  # ended entries of a long guessing run
                self._values = {k: v for k, v in self._values.items() if v[1] > now}
            value = self._live(key, now) + 1
            self._values[key] = (value, now + ttl)
            return value

    def get(self, key: str) -> int:
        """The counter's value (0 when missing or expired)."""
        with self._lock:
            return self._live(key, self._clock())

    def put(self, key: str, value: int, ttl: int) -> None:
        """Set a value, expiring `ttl` seconds from now."""
        with self._lock:
            self._values[key] = (value, self._clock() + ttl)

    def drop(self, key: str) -> None:
        """Forget a key."""
        with self._lock:
            self._values.pop(key, None)

    def close(self) -> None:
        """Nothing to release."""


class RedisStore:
    """Counters in Redis, shared by every web process; this process alone while Redis fails."""

    def __init__(self, redis: Any, prefix: str = "gateway:signin:", clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._prefix = prefix
        self._fallback = MemoryStore(clock)

    def add(self, key: str, ttl: int) -> int:
        """Add one to the counter; its new value."""
        try:
            pipe = self._redis.pipeline(transaction=False)
            pipe.incr(self._prefix + key)
            pipe.expire(self._prefix + key, ttl)
            return int(pipe.execute()[0])
        except RedisError as exc:
            log.warning("sign-in throttle: Redis unavailable (%s), counting in this process", type(exc).__name__)
            return self._fallback.add(key, ttl)

    def get(self, key: str) -> int:
        """The counter's value (0 when missing or expired)."""
        try:
            value = self._redis.get(self._prefix + key)
        except RedisError:
            return self._fallback.get(key)
        return int(value) if value is not None else self._fallback.get(key)

    def put(self, key: str, value: int, ttl: int) -> None:
        """Set a value, expiring `ttl` seconds from now."""
        try:
            self._redis.set(self._prefix + key, value, ex=ttl)
        except RedisError:
            self._fallback.put(key, value, ttl)

    def drop(self, key: str) -> None:
        """Forget a key."""
        self._fallback.drop(key)
        try:
            self._redis.delete(self._prefix + key)
        except RedisError:
            return

    def close(self) -> None:
        """Close the Redis connections."""
        self._redis.close()


class SignInThrottle:
    """The three guards of console sign-in (see the module's docstring)."""

    def __init__(self, secret: bytes, store: Store, limiter: Limiter, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._store = store
        self._limiter = limiter
        self._clock = clock

    def _key(self, kind: str, *parts: str) -> str:
        return f"{kind}:" + hmac.new(self._secret, "\x00".join(parts).encode(), hashlib.sha256).hexdigest()[:40]

    def _keys(self, username: str, address: str) -> tuple[str, str, str]:
        account = username.strip().lower()
        return self._key("pair", account, address), self._key("account", account), self._key("address", address)

    def wait(self, username: str, address: str) -> int:
        """Seconds this try must wait (0: go ahead); a try let through counts against the address."""
        pair, account, address_key = self._keys(username, address)
        now = self._clock()
        failures = self._store.get(f"{pair}:failures")
        if failures:
            waited = pair_wait(failures) - (now - self._store.get(f"{pair}:at_ms") / 1000)
            if waited > 0:
                return max(1, int(waited + 0.999))
        if self._store.get(f"{pair}:known"):
            return 0
        hits = [Hit("console-login", address_key, ADDRESS_WINDOWS)]
        if self._store.get(f"{account}:{int(now // ACCOUNT_WINDOW)}") >= ACCOUNT_FAILURES:
            hits.append(Hit("console-login-paced", account, ((1, PACE_SECONDS),)))
        return self._limiter.take(hits)

    def failed(self, username: str, address: str) -> None:
        """Count a wrong password (or an unknown name) for the account, from this address."""
        pair, account, _ = self._keys(username, address)
        now = self._clock()
        self._store.add(f"{pair}:failures", _DAY)
        self._store.put(f"{pair}:at_ms", int(now * 1000), _DAY)
        self._store.add(f"{account}:{int(now // ACCOUNT_WINDOW)}", ACCOUNT_WINDOW)

    def succeeded(self, username: str, address: str) -> None:
        """The right password: the address is known for this account, and its failures forgotten."""
        pair, _, _ = self._keys(username, address)
        self._store.drop(f"{pair}:failures")
        self._store.drop(f"{pair}:at_ms")
        self._store.put(f"{pair}:known", 1, KNOWN_DAYS * _DAY)

    def close(self) -> None:
        """Release connections."""
        self._store.close()
        self._limiter.close()


def build_throttle(secret: bytes, redis_url: str) -> SignInThrottle:
    """Redis when REDIS_URL is set, else this process."""
    if not redis_url:
        return SignInThrottle(secret, MemoryStore(), MemoryLimiter())
    from redis import Redis

    redis = Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)
    return SignInThrottle(secret, RedisStore(redis), RedisLimiter(redis))
