"""Console sign-in throttling, in this process and in the real Redis, on a clock the test turns: guessing is
slowed down per account and address, per address and per account, and nobody can lock an officer out."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from redis import Redis

from gateway.console.throttle import (
    ACCOUNT_FAILURES,
    FREE_FAILURES,
    PACE_SECONDS,
    MemoryStore,
    RedisStore,
    SignInThrottle,
    pair_wait,
)
from gateway.limits import MemoryLimiter, RedisLimiter
from tests.conftest import ManualClock, redis_url

SECRET = b"s" * 32
START = 3600.0 * 500_000 + 10  # 10 s into an hour (and into a minute, and into 15 minutes)
OFFICE, GUESSER = "203.0.113.9", "198.51.100.1"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def throttle(request: pytest.FixtureRequest, clock: ManualClock) -> Iterator[SignInThrottle]:
    if request.param == "memory":
        yield SignInThrottle(SECRET, MemoryStore(clock), MemoryLimiter(clock), clock)
        return
    prefix = f"test:signin:{uuid.uuid4().hex}:"
    redis = Redis.from_url(redis_url(12))
    yield SignInThrottle(SECRET, RedisStore(redis, prefix + "s:", clock), RedisLimiter(redis, prefix + "l:", clock),
                         clock)
    for key in redis.scan_iter(f"{prefix}*"):
        redis.delete(key)
    redis.close()


def guess(throttle: SignInThrottle, username: str, address: str) -> int:
    """One wrong password, if the throttle lets it be tried; the wait it answered."""
    wait = throttle.wait(username, address)
    if not wait:
        throttle.failed(username, address)
    return wait


def test_the_wait_doubles_from_30_seconds_to_15_minutes() -> None:
    assert [pair_wait(n) for n in range(FREE_FAILURES - 1, FREE_FAILURES + 7)] == [
        0, 30, 60, 120, 240, 480, 900, 900]
    assert pair_wait(10_000) == 900


def test_wrong_passwords_slow_down_that_address_on_that_account_only(throttle: SignInThrottle,
                                                                      clock: ManualClock) -> None:
    assert [guess(throttle, "zhao", GUESSER) for _ in range(FREE_FAILURES)] == [0] * FREE_FAILURES
    assert throttle.wait("zhao", GUESSER) == 30
    assert throttle.wait("zhao", OFFICE) == 0  # the officer, at the office, is not locked out
    assert throttle.wait("qian", GUESSER) == 0  # nor is another officer behind the guesser's address
    clock.now += 29
    assert throttle.wait("zhao", GUESSER) == 1
    clock.now += 1
    assert guess(throttle, "zhao", GUESSER) == 0
    assert throttle.wait("zhao", GUESSER) == 60  # slower each time
    clock.now += 60
    throttle.wait("zhao", GUESSER)
    throttle.succeeded("zhao", GUESSER)  # the officer who mistyped remembers the password
    assert [guess(throttle, "zhao", GUESSER) for _ in range(FREE_FAILURES)] == [0] * FREE_FAILURES  # afresh


def test_one_address_guessing_many_accounts_is_slowed_but_its_officers_are_not(throttle: SignInThrottle,
                                                                               clock: ManualClock) -> None:
    throttle.wait("zhao", GUESSER)
    throttle.succeeded("zhao", GUESSER)  # an officer who signs in from this address (an office's one address)
    answers = [guess(throttle, f"officer{n}", GUESSER) for n in range(12)]
    assert answers[:9] == [0] * 9 and all(0 < wait <= 50 for wait in answers[9:])  # 10 tries a minute, his one
    assert throttle.wait("zhao", GUESSER) == 0
    clock.now += 50
    assert guess(throttle, "officer11", GUESSER) == 0


def test_guessing_from_many_addresses_paces_new_addresses_and_never_the_officers(throttle: SignInThrottle,
                                                                                 clock: ManualClock) -> None:
    throttle.wait("zhao", OFFICE)
    throttle.succeeded("zhao", OFFICE)
    assert [guess(throttle, "zhao", f"10.0.{n}.1") for n in range(ACCOUNT_FAILURES)] == [0] * ACCOUNT_FAILURES
    assert guess(throttle, "zhao", "10.1.0.1") == 0  # one try per PACE_SECONDS from all new addresses together
    assert 0 < throttle.wait("zhao", "10.1.0.2") <= PACE_SECONDS
    assert throttle.wait("qian", "10.1.0.2") == 0  # other accounts are not paced
    assert throttle.wait("zhao", OFFICE) == 0  # the officer's own address: not paced
    throttle.succeeded("zhao", OFFICE)
    clock.now += PACE_SECONDS
    assert throttle.wait("zhao", "10.1.0.2") == 0  # slowed, never refused for good
