"""Pushes survive Redis going away and a worker dying mid-send: the outbox keeps every row, the worker
rides out the outage and picks up again by itself, the relay hands out again at once the jobs Redis lost
(and stale ones, once stale), and each citizen is told exactly once.

Real processes: a private `redis-server` (never the shared one on 6379, which other tests use),
worker subprocesses (`workers.processes.run_worker`, an RQ SimpleWorker, configured by environment
variables as `petition-gateway worker` is), the relay driven from the test, and the local fake of
WeChat's API over HTTP. Each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bots.fakes.wechat import FakeWeChat
from tests.workers.test_notify import TPL, citizen_with_ticket, update
from tickets import outbox
from tickets.lifecycle import Status
from tickets.settings import Settings
from tickets.storage.schema import notifications
from tickets.storage.schema import outbox as outbox_table
from workers.relay import Sink, relay_once, rq_sink

pytestmark = pytest.mark.redis

STALE_S = 5  # OUTBOX_STALE_SECONDS for the workers and `stale_after_s` for the relay (5 is the minimum)
DEFAULT_STALE_S = 300  # the default: a lost job must not wait for it
TEMPLATE_PATH = "/cgi-bin/message/template/send"


WORKER_MAIN = """
import faulthandler
import logging
import signal
faulthandler.register(signal.SIGUSR1, all_threads=True)  # stop_all asks a worker that does not stop where it is
from tickets.settings import Settings
from workers.processes import run_worker
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
logging.getLogger("httpx").setLevel(logging.WARNING)
run_worker(Settings().prepared())
"""


class PrivateRedis:
    """A throw-away `redis-server` that keeps nothing on disk, so a restart comes back empty."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", str(self.workdir)]
        log = (self.workdir / "redis.log").open("ab")
        self.proc = subprocess.Popen(cmd, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        try:
            wait_for(lambda: _pings(client), 10, "the private redis-server to answer")
        finally:
            client.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: Redis shuts down at once, and with --save "" writes nothing
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.exceptions.ConnectionError:
        return False


class Workers:
    """Worker processes (RQ SimpleWorker, as `petition-gateway worker`) configured by environment variables."""

    def __init__(self, settings: Settings, redis_url: str, workdir: Path, *, stale_s: int = STALE_S,
                 threads: int | None = None) -> None:
        self.workdir = workdir
        self.procs: list[subprocess.Popen[bytes]] = []
        self.replaced: set[int] = set()
        env = {k: v for k, v in os.environ.items()
               if not k.upper().startswith(("WECHAT_", "ALIPAY_", "REDIS_", "DATABASE_", "OUTBOX_"))}
        env.update({
            "DATABASE_URL": settings.database_url, "REDIS_URL": redis_url, "GATEWAY_ENV": "dev",
            "VAR_DIR": str(workdir / "var"), "SECRET_KEY": settings.secret_key,
            "PUBLIC_BASE_URL": settings.public_base_url, "OUTBOX_STALE_SECONDS": str(stale_s),
            "WECHAT_TOKEN": settings.wechat_token, "WECHAT_APP_ID": settings.wechat_app_id,
            "WECHAT_AES_KEY": settings.wechat_aes_key, "WECHAT_APP_SECRET": settings.wechat_app_secret,
            "WECHAT_API_BASE": settings.wechat_api_base, "WECHAT_TEMPLATE_ID": settings.wechat_template_id,
        })
        if threads is not None:
            env["OUTBOX_JOB_THREADS"] = str(threads)
        self.env = env
        # What `petition-gateway worker` runs, without its start-up migration: the schema of the test
        # database belongs to the fixtures.
        self.cmd = [sys.executable, "-c", WORKER_MAIN]

    def start(self) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"worker-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(self.cmd, cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.procs.append(proc)
        return proc

    def supervise(self) -> None:
        """Start a new worker for each that died, as the process supervisor does in production (kill -9)."""
        for proc in list(self.procs):
            if proc.poll() is not None and proc.pid not in self.replaced:
                self.replaced.add(proc.pid)
                self.start()

    def wait_for_log(self, text: str, *, timeout_s: float) -> None:
        """Until `text` is in a worker's log (a slow machine takes seconds to start one)."""
        deadline = time.monotonic() + timeout_s
        while text not in self.logs():
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} in the workers' logs:\n{self.logs()}")
            time.sleep(0.1)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.read_text(errors='replace')[-3000:]}"
                         for p in sorted(self.workdir.glob("worker-*.log")))

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()  # RQ's warm shutdown (or, between RQ runs, the worker's own)
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGUSR1)  # its threads' stacks, into its log
                time.sleep(0.5)
                proc.kill()
                proc.wait()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not on PATH (these tests run their own, private one)")
    workdir = tmp_path / "redis"
    workdir.mkdir()
    server = PrivateRedis(workdir)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "workers"
    path.mkdir()
    return path


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, *, every: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def notification_statuses(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(notifications.c.status, sa.func.count())
                                 .group_by(notifications.c.status)).all())


def outbox_statuses(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(outbox_table.c.status, sa.func.count())
                                 .group_by(outbox_table.c.status)).all())


def relay_until_all_sent(engine: Engine, sink: Sink, count: int, workers: Workers, timeout: float, *,
                         stale_s: int = STALE_S, supervise: bool = False) -> None:
    """Run the relay as the `relay` process would, until every notification is sent and every row done."""
    deadline = time.monotonic() + timeout
    while True:
        if supervise:
            workers.supervise()
        with contextlib.suppress(redis.exceptions.ConnectionError):
            relay_once(engine, sink, stale_after_s=stale_s)
        with engine.connect() as conn:
            if notification_statuses(engine) == {"sent": count} and outbox.backlog(conn) == 0:
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"not delivered in {timeout} s: notifications {notification_statuses(engine)}, "
                                 f"outbox {outbox_statuses(engine)}\n{workers.logs()}")
        time.sleep(0.1)


def citizens_with_news(engine: Engine, prefix: str, count: int) -> list[str]:
    """`count` citizens who wrote recently (inside the 48 h window), each with a ticket just accepted."""
    openids = [f"{prefix}{i:03d}" for i in range(count)]
    for openid in openids:
        _, ticket_id = citizen_with_ticket(engine, openid)
        update(engine, ticket_id, Status.ACCEPTED, "已交市政照明管理处")
    assert notification_statuses(engine) == {"pending": count}
    return openids


def test_redis_stopped_and_restarted_mid_delivery(settings: Settings, engine: Engine, fake: FakeWeChat,
                                                  private_redis: PrivateRedis, workdir: Path) -> None:
    count = 60
    fake.latency = 0.03
    openids = citizens_with_news(engine, "oRedis", count)
    workers = Workers(settings, private_redis.url, workdir, stale_s=DEFAULT_STALE_S)
    sink = rq_sink(private_redis.url, per_job=10)
    try:
        worker = workers.start()
        # Two thirds go to RQ now (4 jobs of 10); the rest waits in the outbox for the next round.
        assert relay_once(engine, sink, batch=40, stale_after_s=DEFAULT_STALE_S) == 40
        wait_for(lambda: len(fake.sent) >= 5, 15, "the first messages at the fake")
        private_redis.stop()

        # Redis is gone mid-delivery: the relay raises, and the rows it could not hand over stay pending.
        with pytest.raises(redis.exceptions.ConnectionError):
            relay_once(engine, sink, batch=40, stale_after_s=DEFAULT_STALE_S)
        rows = outbox_statuses(engine)
        assert rows.get("pending") == count - 40 and "failed" not in rows, rows
        # The job running when Redis went away finishes its batch: its sends need the database and WeChat,
        # not Redis (the send rate falls back to this process). Only then is the worker quiet: no row
        # running, no send in flight, so what the fake took and what is recorded must agree. (Comparing
        # them while the job still ran made this test flaky: a send could land between the two reads.)
        wait_for(lambda: "running" not in outbox_statuses(engine), 15, "the running job to finish its batch",
                 every=0.05)
        notes = notification_statuses(engine)
        assert set(notes) <= {"pending", "sent"} and sum(notes.values()) == count, notes
        assert 10 <= notes.get("sent", 0) < count and notes["sent"] % 10 == 0, notes  # whole batches
        # Nothing lost, nothing doubled: every message the fake took is recorded as sent, once.
        assert len(fake.sent) == notes["sent"] == len({m["body"]["touser"] for m in fake.sent})

        # The worker does not quit: it keeps trying to reach Redis, with backoff.
        time.sleep(3)
        assert worker.poll() is None, workers.logs()

        # Redis comes back empty (nothing on disk): the queued jobs are gone too. The relay notices at once
        # and hands their rows out again (not after the 300 s that make a row stale); the same worker, no
        # supervisor involved, picks them up.
        private_redis.start()
        relay_until_all_sent(engine, sink, count, workers, timeout=30, stale_s=DEFAULT_STALE_S)
        assert workers.procs == [worker] and worker.poll() is None, workers.logs()
    finally:
        workers.stop_all()

    assert worker.returncode == 0, workers.logs()  # a clean stop on SIGTERM
    assert len(fake.sent) == count
    for openid in openids:
        assert len(fake.texts_to(openid)) == 1, openid
    with engine.connect() as conn:
        methods = set(conn.execute(sa.select(notifications.c.method)).scalars())
    assert methods == {"customer_service"}


def test_a_worker_started_while_redis_is_down_waits_for_it(settings: Settings, engine: Engine, fake: FakeWeChat,
                                                           private_redis: PrivateRedis, workdir: Path) -> None:
    count = 12
    openids = citizens_with_news(engine, "oLate", count)
    workers = Workers(settings, private_redis.url, workdir, stale_s=DEFAULT_STALE_S)
    private_redis.stop()
    try:
        worker = workers.start()
        time.sleep(3)  # RQ alone exits at once: "Error 111 connecting"
        assert worker.poll() is None, workers.logs()
        private_redis.start()
        sink = rq_sink(private_redis.url, per_job=5)
        relay_until_all_sent(engine, sink, count, workers, timeout=30, stale_s=DEFAULT_STALE_S)
        assert workers.procs == [worker] and worker.poll() is None
    finally:
        workers.stop_all()
    assert worker.returncode == 0, workers.logs()
    assert sorted(m["body"]["touser"] for m in fake.sent) == sorted(openids)


def test_a_worker_stopped_while_redis_is_down_stops_cleanly(settings: Settings, engine: Engine, fake: FakeWeChat,
                                                             private_redis: PrivateRedis, workdir: Path) -> None:
    workers = Workers(settings, private_redis.url, workdir)
    try:
        worker = workers.start()
        workers.wait_for_log("Listening on", timeout_s=60)  # registered with RQ, waiting for jobs
        private_redis.stop()
        time.sleep(2)  # reconnecting
        assert worker.poll() is None, workers.logs()
    finally:
        workers.stop_all()
    assert worker.returncode == 0, workers.logs()
    assert "worker: stopped" in workers.logs()


def test_worker_killed_mid_send_is_told_once_by_template_message(
        settings: Settings, engine: Engine, fake: FakeWeChat, private_redis: PrivateRedis, workdir: Path) -> None:
    # Template messages carry client_msg_id = "gw-n<notification id>", and WeChat (like the fake) sends one
    # message per openid and client_msg_id: the sends the killed worker had in flight reached the platform
    # but were never recorded, and their repeats by the next worker are answered with the same msgid, not
    # delivered again. Customer-service messages have no such id, so the same kill makes them
    # at-least-once: each repeat is a second message to that citizen (bounded by the stale hand-out, one per
    # send in flight: OUTBOX_JOB_THREADS per kill). Sends recorded as sent are never repeated.
    count = 8
    settings.wechat_template_id = TPL
    openids = citizens_with_news(engine, "oKill", count)
    fake.latency = 0.5
    workers = Workers(settings, private_redis.url, workdir, threads=2)
    sink = rq_sink(private_redis.url)
    try:
        first = workers.start()
        assert relay_once(engine, sink, stale_after_s=STALE_S) == count  # one job of all eight rows
        # The first send is slow, so the other lanes go two at a time (workers/jobs.py): the first three were sent
        # and recorded, the fourth and fifth are in flight (the fake has their requests and is still "sending").
        wait_for(lambda: fake.calls[TEMPLATE_PATH] >= 5, 15, "the fourth and fifth template sends")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=5)
        assert fake.calls[TEMPLATE_PATH] == 5
        wait_for(lambda: len(fake.sent) == 5, 2, "the fake to finish the sends in flight")
        assert notification_statuses(engine) == {"sent": 3, "pending": count - 3}
        assert outbox_statuses(engine) == {"running": count}  # the dead worker's batch, until stale

        # A new worker in place of the killed one (`supervise`); the relay hands the batch out again once stale.
        relay_until_all_sent(engine, sink, count, workers, timeout=STALE_S + 12, supervise=True)
    finally:
        workers.stop_all()

    assert len(workers.procs) == 2  # the killed worker and its replacement
    assert fake.calls[TEMPLATE_PATH] == count + 2  # the two in flight were sent again ...
    templates = [m for m in fake.sent if m["path"] == TEMPLATE_PATH]
    assert sorted(m["body"]["touser"] for m in templates) == sorted(openids)  # ... and delivered once
    assert not fake.texts_to(openids[3]) and not fake.texts_to(openids[4])
    with engine.connect() as conn:
        rows = conn.execute(sa.select(notifications.c.method, notifications.c.platform_msg_id)
                            .order_by(notifications.c.id)).all()
    assert {r.method for r in rows} == {"template"}
    by_openid = {m["body"]["touser"]: m for m in templates}
    msgids = [r.platform_msg_id for r in rows]
    assert len(set(msgids)) == count
    # The fourth and fifth citizens' notifications hold the msgids of the messages the killed worker had sent.
    assert [by_openid[openids[i]]["body"]["client_msg_id"] for i in (3, 4)] == ["gw-n4", "gw-n5"]
    assert sorted(msgids[3:5]) == [str(m) for m in sorted(int(m) for m in msgids)[3:5]]