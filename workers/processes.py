"""Entry points of the `worker` and `relay` processes (Procfile), used when REDIS_URL is set."""

from __future__ import annotations

import signal
from types import FrameType

from tickets.errors import ConfigurationError
from tickets.settings import Settings
from workers.context import WorkerContext, install
from workers.relay import rq_sink
from workers.runner import Loop

QUEUE = "gateway"


def run_worker(settings: Settings) -> None:
    """An RQ SimpleWorker (no fork per job: pushes are many and short) on the gateway's queue."""
    if not settings.redis_url:
        raise ConfigurationError("the worker needs REDIS_URL; without it `serve` runs jobs in-process")
    from redis import Redis
    from rq import Queue, SimpleWorker

    install(WorkerContext.build(settings))
    connection = Redis.from_url(settings.redis_url)
    SimpleWorker([Queue(QUEUE, connection=connection)], connection=connection).work()


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
