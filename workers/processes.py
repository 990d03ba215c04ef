"""Entry points of the `worker` and `relay` processes (Procfile), used when REDIS_URL is set.

The worker rides out Redis outages itself (docs/design.md section 4): RQ's own loop quits on most Redis
errors (at start-up, while registering, when recording a finished job), so `run_worker` starts a fresh RQ
worker after each such exit, with backoff, until it is asked to stop. A job running when Redis goes away
finishes (its work needs only the database and the platforms); jobs still queued in a Redis that comes
back empty are handed out again by the relay (workers/relay.py).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from types import FrameType
from typing import Any

from redis.exceptions import RedisError

from tickets.errors import ConfigurationError
from tickets.settings import Settings
from workers.context import WorkerContext, install
from workers.relay import rq_sink
from workers.runner import Loop

log = logging.getLogger(__name__)

QUEUE = "gateway"
BACKOFF_S = (0.5, 1.0, 2.0, 4.0)  # between attempts to reach Redis again; then every 4 s
HEALTHY_RUN_S = 30.0  # a worker that ran this long starts the backoff over
# RQ's own wait between attempts to dequeue while Redis is away grows to this (its default, 60 s, would
# leave jobs waiting up to a minute after Redis is back).
RECONNECT_MAX_S = 4.0


def _worker_class() -> type[Any]:
    """RQ's SimpleWorker (no fork per job: pushes are many and short), made safe to stop while Redis is away."""
    from rq import SimpleWorker

    class GatewayWorker(SimpleWorker):
        max_connection_wait_time = RECONNECT_MAX_S
        stopping = False

        def request_stop(self, signum: int, frame: FrameType | None) -> None:
            # Runs in the signal handler, possibly in the middle of a job's send: it must not raise there,
            # or the job would record a send that may have happened as failed, and repeat it.
            self.stopping = True
            super().request_stop(signum, frame)  # type: ignore[no-untyped-call]  # RQ's hints are partial

        def set_shutdown_requested_date(self) -> None:
            try:
                super().set_shutdown_requested_date()  # type: ignore[no-untyped-call]
            except RedisError:
                log.warning("worker: stop requested while Redis is unavailable; stopping after this job")

        def unsubscribe(self) -> None:
            # RQ's, with a bounded wait: redis-py's stop() joins the listening thread, which may sit in a
            # 60-second read when the UNSUBSCRIBE's answer came before the stop, or retry a Redis that is gone.
            thread = self.pubsub_thread
            if thread is None:
                return
            with contextlib.suppress(RedisError):
                self.pubsub.unsubscribe()
            try:
                thread.stop(timeout=1.0)  # redis-py 8: clears the running flag, then joins
            except TypeError:
                thread.stop()  # older redis-py: clears the flag only
                thread.join(timeout=1.0)
            if not thread.is_alive():  # else the (daemon) thread closes its connection when its read ends
                with contextlib.suppress(RedisError):
                    self.pubsub.close()
            self.pubsub_thread = None

    return GatewayWorker


def run_worker(settings: Settings, *, backoff_s: tuple[float, ...] = BACKOFF_S) -> None:
    """Work the gateway's queue until SIGTERM/SIGINT, through Redis outages (reconnecting with backoff)."""
    if not settings.redis_url:
        raise ConfigurationError("the worker needs REDIS_URL; without it `serve` runs jobs in-process")
    from redis import Redis
    from rq import Queue

    install(WorkerContext.build(settings))
    worker_class = _worker_class()
    stop = threading.Event()
    attempt = 0
    while not stop.is_set():
        _stop_on_signals(stop)
        started = time.monotonic()
        worker = None
        try:
            connection = Redis.from_url(settings.redis_url, socket_connect_timeout=3, health_check_interval=30)
            worker = worker_class([Queue(QUEUE, connection=connection)], connection=connection)
            worker.work()
        except RedisError as exc:
            log.warning("worker: Redis unavailable (%s); trying again", type(exc).__name__)
        except Exception:
            log.exception("worker: RQ stopped on an error; starting again")
        finally:
            # At once: RQ's handlers belong to the worker that just ended, and raise StopRequested.
            _stop_on_signals(stop)
        if worker is not None:
            worker.unsubscribe()  # a teardown that failed on Redis left its listening thread running
        if (worker is not None and worker.stopping) or stop.is_set():
            break
        attempt = 0 if time.monotonic() - started >= HEALTHY_RUN_S else attempt + 1
        stop.wait(backoff_s[min(attempt, len(backoff_s) - 1)])
    log.info("worker: stopped")


def _stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT end the worker between RQ runs (RQ installs its own while one runs)."""
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def run_relay(settings: Settings) -> None:
    """Move outbox rows to RQ and run the periodic sweeps, until interrupted."""
    if not settings.redis_url:
        raise ConfigurationError("the relay needs REDIS_URL; without it `serve` relays in-process")
    context = WorkerContext.build(settings)
    loop = Loop(context, rq_sink(settings.redis_url, QUEUE))

    def stop(signum: int, frame: FrameType | None) -> None:
        loop.stop()  # the round in progress ends, then the loop logs that it stopped

    # A supervisor stops the relay with SIGTERM (Ctrl-C is SIGINT): end the round, say so, exit 0.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    try:
        loop.run_forever()
    finally:
        context.close()
