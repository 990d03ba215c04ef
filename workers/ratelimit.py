"""A per-account send rate shared by every worker (Redis) or by the threads of one process.

WeChat answers 45009/45011 when an account calls too often; a fan-out to thousands of co-signers
must pace itself instead of finding the limit by failing. Fixed one-second windows: simple, and
never more than twice the rate across a window boundary.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class SendRate:
    """At most `per_second` sends for `account` across all workers; 0 means no limit."""

    def __init__(self, account: str, per_second: int, redis: Any | None = None, *, chunk: int | None = None) -> None:
        self.account = account
        self.per_second = per_second
        self._redis = redis
        self._lock = threading.Lock()
        self._window = 0
        self._count = 0
        # Sends are reserved from Redis a few at a time (one round trip per `chunk` sends, not per send);
        # a reservation lapses with its one-second window, so a worker idles on at most `chunk` unused sends.
        self.chunk = chunk if chunk is not None else max(1, min(10, per_second // 20))
        self._pool_window = 0
        self._pool = 0

    def wait(self) -> None:
        """Block until one more send is allowed."""
        if self.per_second <= 0:
            return
        while True:
            now = time.time()
            window = int(now)
            if self._take(window):
                return
            time.sleep(max(0.001, window + 1 - now))

    def close(self) -> None:
        """Release the Redis connection, if any."""
        if self._redis is not None:
            self._redis.close()

    def _take(self, window: int) -> bool:
        if self._redis is not None:
            with self._lock:
                if self._pool_window == window and self._pool > 0:
                    self._pool -= 1
                    return True
            key = f"gateway:rate:{self.account}:{window}"
            try:
                pipe = self._redis.pipeline()
                pipe.incrby(key, self.chunk)
                pipe.expire(key, 2)
                count, _ = pipe.execute()
                granted = max(0, min(self.chunk, self.per_second - (int(count) - self.chunk)))
                with self._lock:
                    self._pool_window, self._pool = window, max(0, granted - 1)
                return granted > 0
            except RedisError:
                # Redis is down: pace this process alone rather than stop sending (and crash the worker).
                log.warning("send rate for %s: Redis unavailable, limiting per process", self.account)
        with self._lock:
            if window != self._window:
                self._window, self._count = window, 0
            self._count += 1
            return self._count <= self.per_second
