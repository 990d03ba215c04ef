"""The `relay` process as a supervisor runs it: it says when it starts, what it moves, what fails, and when it stops."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import redis
from sqlalchemy.engine import Engine

from tests.conftest import redis_url
from tests.processes import deployment, free_port, wait_for
from tickets import outbox
from tickets.clock import utcnow
from tickets.outbox import Topic

pytestmark = pytest.mark.redis
REDIS_URL = redis_url(10)


def test_the_relay_logs_its_start_the_batches_it_moves_errors_and_its_stop(engine: Engine, db_url: str,
                                                                          tmp_path: Path) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    with engine.begin() as conn:
        for n in range(3):
            outbox.put(conn, Topic.DISPATCH, {"event": "ticket.created", "n": n}, utcnow())
    with deployment(tmp_path / "relay", GATEWAY_ENV="dev", DATABASE_URL=db_url, REDIS_URL=REDIS_URL) as running:
        running.start("relay", "relay")
        wait_for(lambda: "relay moved 3 outbox rows to the queue" in running.log("relay"), 60,
                 "the relay to move the three rows", logs=running.logs)
        assert client.llen("rq:queue:gateway") == 1  # one job of the three rows
        assert running.stop("relay") == 0
    log = running.log("relay")
    assert re.search(r"INFO workers\.runner: outbox relay started: due rows to the queue every 0\.1 s", log), log
    assert log.rstrip().endswith("INFO workers.runner: outbox relay stopped"), log

    # Redis unreachable: the failure is logged (once with its traceback, not every second), and it still stops.
    with engine.begin() as conn:
        outbox.put(conn, Topic.DISPATCH, {"event": "ticket.created", "n": 4}, utcnow())
    with deployment(tmp_path / "down", GATEWAY_ENV="dev", DATABASE_URL=db_url,
                    REDIS_URL=f"redis://127.0.0.1:{free_port()}/0") as down:
        down.start("relay", "relay")
        wait_for(lambda: "relay round failed; rows stay in the outbox" in down.log("relay"), 60,
                 "the relay to log its failure", logs=down.logs)
        assert down.stop("relay") == 0
    log = down.log("relay")
    assert log.count("relay round failed") == 1 and "ConnectionError" in log and "outbox relay stopped" in log, log
    client.flushdb()
    client.close()
