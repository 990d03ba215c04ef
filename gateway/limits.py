"""Rate limits of the co-sign pages: fixed windows per scope and key, in Redis or in this process.

A limit is a list of windows `(count, seconds)` (tickets.settings.parse_limits: "1/60,5/300" is a
burst and a sustained window). An attempt is refused when it would take any window of any scope it
touches over its count; the answer is how long until the latest refusing window ends (the
Retry-After). A refused attempt is not counted: a citizen who tapped twice does not lose the rest of
the hour's budget, and refused attempts do nothing anyway. Fixed windows (aligned to the epoch) are
simple and allow at most twice the count across a window boundary, which is what a limit against
bursts of signatures needs.

With REDIS_URL the counts are shared by every web process (`_TAKE`: one script, INCR + EXPIRE per window,
and a refused attempt's increments taken back with DECR in the same script, so no other process ever
counts them); without it (the embedded setup runs one web process) they live in this process. If Redis
fails, this process counts alone rather than refuse everyone or let everything through.

Keys are opaque: callers pass keyed hashes, never an address or a number.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from redis.exceptions import RedisError

log = logging.getLogger(__name__)

Windows = tuple[tuple[int, int], ...]
PRUNE_EVERY = 1024  # takes between sweeps of ended windows (memory)


@dataclass(frozen=True, slots=True)
class Hit:
    """One attempt against one scope's windows (e.g. co-signing, per IP and petition)."""

    scope: str
    key: str
    windows: Windows


class Limiter(Protocol):
    """Counts attempts; refuses those over a limit."""

    def take(self, hits: Sequence[Hit]) -> int:
        """Count one attempt in every window; 0 when all allow it, else seconds to wait."""

    def close(self) -> None:
        """Release connections."""


def _slots(hits: Sequence[Hit], now: float) -> list[tuple[str, int, float]]:
    """(counter name, count allowed, end of window) for every window touched."""
    slots: list[tuple[str, int, float]] = []
    for hit in hits:
        for count, seconds in hit.windows:
            index = int(now // seconds)
            slots.append((f"{hit.scope}:{seconds}:{index}:{hit.key}", count, float((index + 1) * seconds)))
    return slots


def _wait(slots: Sequence[tuple[str, int, float]], counts: Sequence[int], now: float) -> int:
    ends = [end for (_, allowed, end), counted in zip(slots, counts, strict=True) if counted > allowed]
    return max(1, math.ceil(max(ends) - now)) if ends else 0


class MemoryLimiter:
    """Fixed windows in this process (thread-safe)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, float]] = {}  # name -> (count, end of window)
        self._takes = 0

    def take(self, hits: Sequence[Hit]) -> int:
        """Count one attempt in every window; 0 when all allow it, else seconds to wait."""
        now = self._clock()
        slots = _slots(hits, now)
        if not slots:
            return 0
        with self._lock:
            self._takes += 1
            if self._takes % PRUNE_EVERY == 0:
                self._counts = {name: kept for name, kept in self._counts.items() if kept[1] > now}
            counts = [self._counts.get(name, (0, end))[0] + 1 for name, _, end in slots]
            wait = _wait(slots, counts, now)
            if not wait:
                for (name, _, end), count in zip(slots, counts, strict=True):
                    self._counts[name] = (count, end)
        return wait

    def close(self) -> None:
        """Nothing to release."""

    def __len__(self) -> int:
        return len(self._counts)


# KEYS: the windows' counters; ARGV: the count each allows, then the seconds each is kept. Returns the counts with
# this attempt; over any limit, the attempt is taken back from all of them before the script ends.
_TAKE = """
local n = #KEYS
local counts, over = {}, false
for i = 1, n do
  counts[i] = redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], ARGV[n + i])
  if counts[i] > tonumber(ARGV[i]) then over = true end
end
if over then
  for i = 1, n do redis.call('DECR', KEYS[i]) end
end
return counts
"""


class RedisLimiter:
    """Fixed windows in Redis, shared by every web process; falls back to this process on Redis errors."""

    def __init__(self, redis: Any, prefix: str = "gateway:limit:", clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._prefix = prefix
        self._clock = clock
        self._fallback = MemoryLimiter(clock)
        # One command a take (EVALSHA; EVAL once if the server lost the script): measured against a pipeline of
        # INCR and EXPIRE per window, about half the client's CPU (docs/performance.md).
        self._take = redis.register_script(_TAKE)

    def take(self, hits: Sequence[Hit]) -> int:
        """Count one attempt in every window; 0 when all allow it, else seconds to wait."""
        now = self._clock()
        slots = _slots(hits, now)
        if not slots:
            return 0
        keys = [self._prefix + name for name, _, _ in slots]
        kept_for = [max(1, math.ceil(end - now)) + 1 for _, _, end in slots]
        try:
            counts = self._take(keys=keys, args=[allowed for _, allowed, _ in slots] + kept_for)
            wait = _wait(slots, [int(count) for count in counts], now)
        except RedisError as exc:
            log.warning("rate limits: Redis unavailable (%s), counting in this process", type(exc).__name__)
            return self._fallback.take(hits)
        return wait

    def close(self) -> None:
        """Close the Redis connections."""
        self._redis.close()


def build_limiter(redis_url: str) -> Limiter:
    """Redis when REDIS_URL is set, else this process."""
    if not redis_url:
        return MemoryLimiter()
    from redis import Redis

    return RedisLimiter(Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1))
