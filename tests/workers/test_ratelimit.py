"""The shared send rate, in-process and across processes through the real Redis."""

from __future__ import annotations

import threading
import time

import pytest
from redis import Redis

from tests.conftest import redis_url
from workers.ratelimit import SendRate


def sends_in(rate: SendRate, seconds: float) -> int:
    deadline = time.time() + seconds
    sent = 0
    while time.time() < deadline:
        rate.wait()
        sent += 1
    return sent


def test_in_process_rate_is_held() -> None:
    rate = SendRate("wechat:wx1", 50)
    start = time.time()
    for _ in range(120):
        rate.wait()
    assert time.time() - start >= 1.0  # 120 sends at 50/s span at least two window changes


@pytest.mark.redis
def test_two_workers_share_one_rate_through_redis() -> None:
    redis = Redis.from_url(redis_url(13))
    account = f"wechat:wx-{time.time_ns()}"
    counts: list[int] = []
    workers = [threading.Thread(target=lambda: counts.append(sends_in(SendRate(account, 40, redis), 2.0)))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    redis.close()
    assert sum(counts) <= 40 * 4  # at most 3 windows of 40 touched in 2 s, plus a boundary
    assert sum(counts) >= 40


def test_zero_means_no_limit() -> None:
    rate = SendRate("wechat:wx2", 0)
    start = time.time()
    for _ in range(10_000):
        rate.wait()
    assert time.time() - start < 1.0


def test_redis_down_falls_back_to_a_local_limit() -> None:
    rate = SendRate("wechat:wx3", 30, Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2))
    start = time.time()
    for _ in range(40):
        rate.wait()
    assert time.time() - start < 3  # no exception, and still paced (40 at 30/s crosses a window)
    rate.close()


@pytest.mark.redis
def test_reserving_sends_in_chunks_never_grants_more_than_the_rate() -> None:
    redis = Redis.from_url(redis_url(13))
    account = f"wechat:wx-chunk-{time.time_ns()}"
    per_window: dict[int, int] = {}
    lock = threading.Lock()

    def work() -> None:
        rate = SendRate(account, 25, redis, chunk=10)  # 10 does not divide 25: the last grant is partial
        deadline = time.time() + 2.0
        while time.time() < deadline:
            rate.wait()
            with lock:
                window = int(time.time())
                per_window[window] = per_window.get(window, 0) + 1

    workers = [threading.Thread(target=work) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    redis.close()
    assert max(per_window.values()) <= 25 + 2  # a send granted just before a window turns is counted after it
    assert sum(per_window.values()) >= 25
