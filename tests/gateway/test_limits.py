"""Fixed-window rate limits, in this process and in the real Redis, on a clock the test turns."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from redis import Redis

from gateway.limits import PRUNE_EVERY, Hit, Limiter, MemoryLimiter, RedisLimiter, build_limiter
from tests.conftest import ManualClock, redis_url

REDIS_URL = redis_url(12)
START = 300.0 * 5_000_000 + 10  # 10 s into a 300 s window (and into a 60 s one)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def limiter(request: pytest.FixtureRequest, clock: ManualClock) -> Iterator[Limiter]:
    if request.param == "memory":
        yield MemoryLimiter(clock)
        return
    prefix = f"test:limits:{uuid.uuid4().hex}:"
    redis = Redis.from_url(REDIS_URL)
    yield RedisLimiter(redis, prefix, clock)
    for key in redis.scan_iter(f"{prefix}*"):
        redis.delete(key)
    redis.close()


def test_burst_then_sustained_window(limiter: Limiter, clock: ManualClock) -> None:
    ip = [Hit("cosign-ip", "k1", ((1, 60), (3, 300)))]
    assert limiter.take(ip) == 0
    assert limiter.take(ip) == 50  # the burst window ends 50 s from now
    clock.now += 60
    assert limiter.take(ip) == 0
    clock.now += 60
    assert limiter.take(ip) == 0
    clock.now += 60  # a fresh burst window, but three in the 300 s window already
    assert limiter.take(ip) == 300 - 190
    clock.now += 110
    assert limiter.take(ip) == 0


def test_refused_attempts_are_not_counted_in_any_scope(limiter: Limiter) -> None:
    tight, loose = Hit("a", "x", ((1, 60),)), Hit("b", "y", ((2, 60),))
    assert limiter.take([tight, loose]) == 0
    assert limiter.take([tight, loose]) > 0  # refused by the tight one...
    assert limiter.take([tight, loose]) > 0
    assert limiter.take([loose]) == 0  # ...so the loose one still has its second
    assert limiter.take([loose]) > 0


def test_keys_scopes_and_empty_limits_are_independent(limiter: Limiter) -> None:
    windows = ((1, 60),)
    assert limiter.take([Hit("s", "one", windows)]) == 0
    assert limiter.take([Hit("s", "two", windows)]) == 0
    assert limiter.take([Hit("t", "one", windows)]) == 0
    assert limiter.take([Hit("s", "one", windows)]) > 0
    assert all(limiter.take([Hit("s", "one", ())]) == 0 for _ in range(100))


@pytest.mark.redis
def test_web_processes_share_the_counts_through_redis(clock: ManualClock) -> None:
    prefix = f"test:limits:{uuid.uuid4().hex}:"
    first, second = (RedisLimiter(Redis.from_url(REDIS_URL), prefix, clock) for _ in range(2))
    hit = [Hit("cosign-ip", "shared", ((2, 60),))]
    try:
        assert first.take(hit) == 0 and second.take(hit) == 0
        assert first.take(hit) > 0 and second.take(hit) > 0
    finally:
        first.close()
        second.close()


@pytest.mark.redis
def test_redis_counters_end_with_their_window_and_survive_a_lost_script(clock: ManualClock) -> None:
    prefix = f"test:limits:{uuid.uuid4().hex}:"
    redis = Redis.from_url(REDIS_URL)
    limiter = RedisLimiter(redis, prefix, clock)
    hit = [Hit("cosign-ip", "k", ((1, 60),))]
    try:
        assert limiter.take(hit) == 0
        [key] = redis.scan_iter(f"{prefix}*")
        assert 0 < redis.ttl(key) <= 50 + 1  # kept until its window ends (and a second)
        redis.script_flush()  # a restarted or failed-over Redis has lost the script: it is loaded again
        assert limiter.take(hit) == 50
        assert int(redis.get(key) or 0) == 1  # the refused attempt was taken back
    finally:
        for key in redis.scan_iter(f"{prefix}*"):
            redis.delete(key)
        redis.close()


def test_redis_down_counts_in_this_process(clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    down = RedisLimiter(Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2), "x:", clock)
    hit = [Hit("otp-phone", "k", ((1, 60),))]
    assert down.take(hit) == 0
    assert down.take(hit) == 50
    assert "Redis unavailable" in caplog.text
    down.close()


def test_memory_forgets_ended_windows(clock: ManualClock) -> None:
    memory = MemoryLimiter(clock)
    for n in range(PRUNE_EVERY * 3):
        clock.now += 1
        memory.take([Hit("s", str(n), ((1, 1),))])
    assert len(memory) <= PRUNE_EVERY


def test_build_limiter_follows_redis_url() -> None:
    assert isinstance(build_limiter(""), MemoryLimiter)
    remote = build_limiter(REDIS_URL)
    assert isinstance(remote, RedisLimiter)
    remote.close()
