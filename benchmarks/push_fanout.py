"""A progress update pushed to 10,000 citizens through the outbox, RQ and two workers to the fake WeChat
server, against a plain HTTP client posting the same messages to the same fake, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/push_fanout.py [--backend sqlite|postgresql|both] [--count 10000]

The issue: 10,000 notifications for one petition's co-signers. The fan-out is `count` citizens who each
get a notification for the same ticket: one transaction records the status change
(`progress.apply_update`, which tells the filer, citizen 0) and writes a notification and its outbox row
for every other citizen with `tickets.notifications.create_many` (same event, same payload), as
`progress` tells a petition's co-signers. Every citizen wrote to the account recently, so the ladder ends at
the customer-service message.

- **Fake WeChat**: `bots.fakes.wechat.FakeWeChat`, no latency, in its own process (a pipe carries the
  control commands), so the workers and the plain client hit the same server with the same settings.
  Its connections have TCP_NODELAY (see `_fake_main`): without it every answer stalls ~40 ms.
- **Pipeline**: a private `redis-server` (nothing on disk; the shared one is left alone), `--workers`
  (default 2) `petition-gateway worker` processes (RQ SimpleWorker) and one `petition-gateway relay` process,
  configured by environment variables as in production (`GATEWAY_ENV=production`). Before the timed
  phase, a warm-up of 100 other citizens goes the same way (token fetch, connections, templates).
  The pipeline rate is `count` over the time from the start of the fan-out transaction (the first
  outbox row written) to the last notification's `sent_at`.
- **Send rate**: WECHAT_SENDS_PER_SECOND is set to `--sends-per-second` (default 100000): the
  per-send Redis check is paid, but its cap is not reached. With the production default of 400 the
  pipeline would be capped at 400/s by design.
- **Baseline**: the workers and relay stopped, one `httpx.Client` (keep-alive) posts the very bodies
  the workers sent (as the fake recorded them) to `/cgi-bin/message/custom/send?access_token=...`,
  one after the other, and checks each answer's errcode.
- **Printed** per backend: both rates and their ratio, how long the fan-out transaction took, and the
  CPU seconds of each process of the pipeline in the timed phase (workers, relay, fake, Redis,
  PostgreSQL's backends and own processes, this process), from /proc; and, when there are any, the rows the
  workers logged as failed and tried again (a send whose answer was lost is sent again: the reason to look
  when the fake counts more messages than citizens).
- **Checks** (exit status 1 if any fails): the fake accepted exactly `count` customer-service
  messages in the timed phase, to `count` distinct openids; every notification is `sent`; the outbox
  is empty of unfinished rows; every baseline answer is errcode 0.
- **Target** (reported, not asserted): pipeline rate >= 70% of the plain client's.
- **Databases**: SQLite in a temporary directory; PostgreSQL database `petition_fanout` on
  127.0.0.1 (created if missing, its `public` schema dropped and migrated at each run).
- **Shared machine**: before each timed phase the benchmark waits (`--quiet-wait`, up to 30 s) for the
  rest of the machine to be idle, and prints a warning when other processes used more than 10% of a
  core during a timed phase (from /proc/stat, minus the processes it accounts for).
- `--profile DIR` records py-spy stacks (collapsed "folded" format, for flamegraph.pl, inferno or
  speedscope) of both workers and the relay during the timed phase; py-spy pauses the processes to
  sample, so a profiled run's figures are lower.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from tickets import notifications, outbox, progress, repository  # noqa: E402
from tickets.clock import utcnow  # noqa: E402
from tickets.lifecycle import Status  # noqa: E402
from tickets.progress import StatusUpdate  # noqa: E402
from tickets.repository import NewTicket  # noqa: E402
from tickets.storage.db import create_db_engine, migrate, reader  # noqa: E402
from tickets.storage.schema import citizens  # noqa: E402
from tickets.storage.schema import notifications as notifications_table  # noqa: E402

HOST = "127.0.0.1"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "petition_fanout"
PG_URL = f"postgresql://postgres@127.0.0.1:5432/{PG_DB}"
APP_ID, APP_SECRET, ACCOUNT = "wx" + "fa0" * 5 + "1", "fanout-app-secret", "gh_fanout00001"
WARM_UP = 100
TARGET = 0.7  # pipeline rate / plain client rate (the performance issue)
CUSTOM_SEND = "/cgi-bin/message/custom/send"
JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


# --- the fake WeChat server, in its own process -------------------------------------------------

def _fake_main(pipe: Connection, app_id: str, app_secret: str) -> None:
    """Serve a FakeWeChat and answer control commands on `pipe` until told to stop."""
    from bots.fakes.wechat import FakeWeChat

    fake = FakeWeChat(app_id, app_secret)
    base_url = fake.start()
    # TCP_NODELAY on the fake's connections (bots/fakes/server.py sets it too): its handler writes the
    # headers and the body in two sends, and without it every answer on a keep-alive connection waits
    # ~40 ms for the client's delayed ACK (Nagle): both sides would measure that stall (~22 requests/s).
    server = getattr(fake, "_server", None)
    if server is not None:
        server.RequestHandlerClass.disable_nagle_algorithm = True
    pipe.send(base_url)
    while True:
        command = pipe.recv()
        if isinstance(command, tuple) and command[0] == "latency":
            fake.latency = float(command[1])  # seconds before each answer, as a distant platform takes
            pipe.send(None)
            continue
        if command == "stop":
            fake.stop()
            pipe.send(None)
            return
        with fake._lock:  # noqa: SLF001 - the fake's own lock, so a request is not half-counted
            if command == "reset":
                fake.sent.clear()
                fake.calls.clear()
                pipe.send(None)
            elif command == "report":
                sends = [m for m in fake.sent if m["path"] == CUSTOM_SEND]
                pipe.send({"custom": len(sends), "distinct": len({m["body"]["touser"] for m in sends}),
                           "bodies": [m["raw"] for m in sends], "calls": dict(fake.calls)})


class FakeProcess:
    """The fake in a child process (spawned: a clean interpreter, not a copy of this one)."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self.proc = context.Process(target=_fake_main, args=(child, APP_ID, APP_SECRET), daemon=True)
        self.proc.start()
        self.pid: int = self.proc.pid or 0
        self.base_url: str = self._pipe.recv()

    def ask(self, command: str | tuple[str, float]) -> Any:
        self._pipe.send(command)
        return self._pipe.recv()

    def stop(self) -> None:
        if self.proc.is_alive():
            with contextlib.suppress(Exception):
                self.ask("stop")
            self.proc.join(timeout=5)
            if self.proc.is_alive():
                self.proc.kill()


# --- processes: private Redis, workers, relay ---------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_redis(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A private redis-server keeping nothing on disk (the shared one on 6379 is never touched)."""
    from redis import Redis

    port = _free_port()
    with open(work / "redis.log", "wb") as log:
        proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", HOST, "--save", "",
                                 "--appendonly", "no", "--dir", str(work)], cwd=work, stdout=log,
                                stderr=subprocess.STDOUT)
    url = f"redis://{HOST}:{port}/0"
    client = Redis.from_url(url, socket_connect_timeout=0.5)
    try:
        _wait(lambda: _pings(client), 10, "redis-server")
    finally:
        client.close()
    return proc, url


def _pings(client: Any) -> bool:
    try:
        return bool(client.ping())
    except Exception:  # noqa: BLE001 - not up yet
        return False


def gateway_env(database_url: str, redis_url: str, fake_url: str, work: Path, sends_per_second: int,
                threads: int | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith(("WECHAT_", "ALIPAY_", "REDIS_", "DATABASE_", "OUTBOX_", "DISPATCH_"))}
    env.update({
        "GATEWAY_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(48), "VAR_DIR": str(work / "var"),
        "DATABASE_URL": database_url, "REDIS_URL": redis_url, "PUBLIC_BASE_URL": "https://12345.example.gov.cn",
        "WECHAT_TOKEN": "fanouttoken", "WECHAT_APP_ID": APP_ID, "WECHAT_APP_SECRET": APP_SECRET,
        "WECHAT_API_BASE": fake_url, "WECHAT_SENDS_PER_SECOND": str(sends_per_second),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
    })
    if threads is not None:
        env["OUTBOX_JOB_THREADS"] = str(threads)
    return env


def start_gateway(command: str, env: dict[str, str], work: Path, n: int) -> subprocess.Popen[bytes]:
    script = Path(sys.executable).parent / "petition-gateway"
    cmd = [str(script), command] if script.exists() else [sys.executable, "-m", "gateway.cli", command]
    with open(work / f"{command}-{n}.log", "wb") as log:
        return subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def machine_busy_seconds() -> float:
    """CPU seconds all processes of the machine have used so far (/proc/stat: all but idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / _TICK


def wait_for_quiet(limit_s: float) -> None:
    """Wait (at most `limit_s`) until the rest of the machine is nearly idle: the project's 2-core machines are
    shared, and another benchmark running meanwhile would change both rates. The figures say if it was not."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        before = machine_busy_seconds()
        time.sleep(1.0)
        if machine_busy_seconds() - before < 0.15:
            return


def postgres_processes(engine: Engine) -> dict[int, float]:
    """CPU seconds of the PostgreSQL backends serving the benchmark database and of the server's own
    processes (WAL writer, checkpointer, autovacuum...); empty on SQLite."""
    if engine.dialect.name != "postgresql":
        return {}
    with engine.connect() as conn:
        pids = conn.execute(sa.text(
            "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
            " AND (datname = :d OR backend_type NOT IN ('client backend', 'walsender'))"), {"d": PG_DB}).scalars().all()
    return {pid: cpu_seconds(pid) for pid in pids}


def _wait(predicate: Callable[[], bool], timeout: float, what: str, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


# --- the database ------------------------------------------------------------------------------

def prepare_database(backend: str, work: Path) -> str:
    if backend == "sqlite":
        url = f"sqlite:///{work / 'fanout.db'}"
    else:
        admin = sa.create_engine(PG_ADMIN.replace("postgresql://", "postgresql+psycopg://"),
                                 isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if not conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": PG_DB}).scalar():
                conn.exec_driver_sql(f"CREATE DATABASE {PG_DB}")
        admin.dispose()
        engine = create_db_engine(PG_URL)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
        engine.dispose()
        url = PG_URL
    migrate(url)
    return url


def add_citizens(engine: Engine, prefix: str, count: int) -> tuple[list[int], int]:
    """`count` WeChat citizens who wrote a minute ago, and a ticket filed by the first; their ids."""
    from zoneinfo import ZoneInfo

    now = utcnow()
    wrote = now - timedelta(minutes=1)
    rows = [{"channel": "wechat", "account": ACCOUNT, "external_id": f"{prefix}{i:06d}", "created_at": wrote,
             "last_seen_at": wrote, "last_message_at": wrote} for i in range(count)]
    with engine.begin() as conn:
        conn.execute(sa.insert(citizens), rows)
        ids = list(conn.execute(sa.select(citizens.c.id).where(citizens.c.external_id.like(f"{prefix}%"))
                                .order_by(citizens.c.id)).scalars())
        ticket = repository.open_ticket(conn, NewTicket("wechat", ids[0], "小区门口道路塌陷，多位居民联名反映",
                                                        address="文化路 12 号"), now, ZoneInfo("Asia/Shanghai"))
    return ids, ticket.id


def fan_out(engine: Engine, ticket_id: int, citizen_ids: Sequence[int]) -> datetime:
    """The status change and a notification for every citizen, in one transaction; returns when it began."""
    update = StatusUpdate(Status.ACCEPTED, actor="dispatch", note="已交市政道路养护中心，三日内答复",
                          unit="市政道路养护中心")
    started = utcnow()
    with engine.begin() as conn:
        applied = progress.apply_update(conn, ticket_id, update, started)  # tells the filer
        payload = {"status": applied.ticket.status.value, "note": update.note, "unit": update.unit,
                   "expected_at": None}
        # The co-signers (the filer's is already there: skipped), as progress._tell writes an audience.
        notifications.create_many(conn, [(citizen_id, "progress") for citizen_id in citizen_ids], payload=payload,
                                  now=started, ticket_id=ticket_id, event_id=applied.event_id)
    return started


def delivery(engine: Engine, ticket_id: int) -> tuple[dict[str, int], datetime | None, int]:
    """Notification statuses of the ticket, the last `sent_at`, and the outbox backlog."""
    with reader(engine).connect() as conn:  # on SQLite a plain BEGIN: polling takes no write lock
        statuses: dict[str, int] = dict(conn.execute(
            sa.select(notifications_table.c.status, sa.func.count()).where(notifications_table.c.ticket_id == ticket_id)
            .group_by(notifications_table.c.status)).all())
        last = conn.execute(sa.select(sa.func.max(notifications_table.c.sent_at))
                            .where(notifications_table.c.ticket_id == ticket_id)).scalar()
        return statuses, last, outbox.backlog(conn)


def wait_delivered(engine: Engine, ticket_id: int, count: int, timeout: float) -> datetime:
    deadline = time.monotonic() + timeout
    while True:
        statuses, last, backlog = delivery(engine, ticket_id)
        if statuses.get("sent", 0) >= count and backlog == 0 and last is not None:
            return last
        if statuses.get("failed") or time.monotonic() > deadline:
            raise RuntimeError(f"not delivered: notifications {statuses}, outbox backlog {backlog}")
        time.sleep(0.1)


# --- the baseline -------------------------------------------------------------------------------

def plain_client(base_url: str, bodies: Sequence[bytes]) -> tuple[float, int]:
    """One httpx.Client posting every body in turn; returns (seconds, answers that were not errcode 0)."""
    with httpx.Client(timeout=10.0) as client:
        token = client.post(f"{base_url}/cgi-bin/stable_token", json={
            "grant_type": "client_credential", "appid": APP_ID, "secret": APP_SECRET}).json()["access_token"]
        url = f"{base_url}{CUSTOM_SEND}"
        params = {"access_token": token}
        refused = 0
        started = time.perf_counter()
        for body in bodies:
            if client.post(url, params=params, content=body, headers=JSON_HEADERS).json().get("errcode") != 0:
                refused += 1
        return time.perf_counter() - started, refused


# --- one backend --------------------------------------------------------------------------------

@dataclass
class Result:
    backend: str
    count: int
    fan_out_s: float
    pipeline_s: float
    plain_s: float
    checks: list[tuple[str, bool]]
    relay_errors: int
    cpu: dict[str, float]
    wall_s: float
    others_s: float  # CPU seconds of the rest of the machine in the timed phase (other work disturbs the figures)
    others_plain_s: float  # the same during the plain client's run
    workers: int = 2
    threads: int | None = None  # OUTBOX_JOB_THREADS of the workers (None: the gateway's default)
    latency_s: float = 0.0  # the fake's delay before each answer
    retried: int = 0  # rows the workers logged as failed and tried again (a send may then reach a citizen twice)

    @property
    def pipeline_rate(self) -> float:
        return self.count / self.pipeline_s

    @property
    def plain_rate(self) -> float:
        return self.count / self.plain_s


def run_backend(backend: str, count: int, sends_per_second: int, profile: Path | None, quiet_s: float,
                n_workers: int = 2, threads: int | None = None, latency_s: float = 0.0) -> Result:
    work = Path(tempfile.mkdtemp(prefix=f"push-fanout-{backend}-"))
    procs: list[subprocess.Popen[bytes]] = []
    fake: FakeProcess | None = None
    redis_proc: subprocess.Popen[bytes] | None = None
    try:
        database_url = prepare_database(backend, work)
        engine = create_db_engine(database_url)
        warm_ids, warm_ticket = add_citizens(engine, "oWarm", WARM_UP)
        ids, ticket_id = add_citizens(engine, "oCosign", count)

        fake = FakeProcess()
        redis_proc, redis_url = start_redis(work)
        fake.ask(("latency", latency_s))
        env = gateway_env(database_url, redis_url, fake.base_url, work, sends_per_second, threads)
        workers = [start_gateway("worker", env, work, n) for n in range(n_workers)]
        procs += workers
        from redis import Redis
        from rq import Worker
        redis = Redis.from_url(redis_url)
        _wait(lambda: len(Worker.all(connection=redis)) == n_workers, 30, f"{n_workers} RQ workers")
        redis.close()
        relay = start_gateway("relay", env, work, 0)
        procs.append(relay)

        fan_out(engine, warm_ticket, warm_ids)
        wait_delivered(engine, warm_ticket, WARM_UP, 60)
        fake.ask("reset")

        wait_for_quiet(quiet_s)
        spies = _start_profiles(profile, backend, [*workers, relay]) if profile else []
        watched = {f"worker {i + 1}": w.pid for i, w in enumerate(workers)} | {
            "relay": relay.pid, "fake WeChat": fake.pid, "redis-server": redis_proc.pid}
        cpu_before = {name: cpu_seconds(pid) for name, pid in watched.items()}
        pg_before, own_before = postgres_processes(engine), time.process_time()
        busy_before = machine_busy_seconds()
        t0 = time.perf_counter()
        started = fan_out(engine, ticket_id, ids)
        fan_out_s = time.perf_counter() - t0
        last_sent = wait_delivered(engine, ticket_id, count, 150)
        pipeline_s = (last_sent - started).total_seconds()
        wall_s = time.perf_counter() - t0
        cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in watched.items()}
        cpu["this process (fan-out, polling)"] = time.process_time() - own_before
        if pg_before:
            pg_after = postgres_processes(engine)
            cpu["postgresql"] = sum(pg_after.get(pid, t) - t for pid, t in pg_before.items()) + sum(
                t for pid, t in pg_after.items() if pid not in pg_before)  # autovacuum workers come and go
        others = machine_busy_seconds() - busy_before - sum(cpu.values())
        for spy in spies:
            _stop(spy, signal.SIGINT)
        report = fake.ask("report")
        statuses, _, backlog = delivery(engine, ticket_id)
        engine.dispose()

        for proc in procs:
            _stop(proc)
        relay_errors = (work / "relay-0.log").read_text(errors="replace").count("relay round failed")
        worker_logs = [(work / f"worker-{n}.log").read_text(errors="replace") for n in range(n_workers)]
        retried = sum(text.count("will retry") + text.count("not written") for text in worker_logs)
        fake.ask("reset")
        wait_for_quiet(quiet_s)
        busy_before, fake_before, own_before = machine_busy_seconds(), cpu_seconds(fake.pid), time.process_time()
        plain_s, refused = plain_client(fake.base_url, report["bodies"])
        others_plain = (machine_busy_seconds() - busy_before - (cpu_seconds(fake.pid) - fake_before)
                        - (time.process_time() - own_before))

        checks = [
            (f"fake accepted {report['custom']} customer-service messages (want {count})", report["custom"] == count),
            (f"to {report['distinct']} distinct openids (want {count})", report["distinct"] == count),
            (f"notifications {statuses} (want all sent)", statuses == {"sent": count}),
            (f"outbox rows unfinished: {backlog}", backlog == 0),
            (f"baseline answers refused: {refused}", refused == 0),
        ]
        return Result(backend, count, fan_out_s, pipeline_s, plain_s, checks, relay_errors, cpu, wall_s, others,
                      others_plain, n_workers, threads, latency_s, retried)
    finally:
        for proc in procs:
            _stop(proc)
        if fake is not None:
            fake.stop()
        if redis_proc is not None:
            _stop(redis_proc)
        shutil.rmtree(work, ignore_errors=True)


def _start_profiles(directory: Path, backend: str, procs: Sequence[subprocess.Popen[bytes]]) -> list[Any]:
    directory.mkdir(parents=True, exist_ok=True)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    names = [f"worker-{i}" for i in range(len(procs) - 1)] + ["relay"]
    return [subprocess.Popen([spy, "record", "--pid", str(p.pid), "--rate", "200", "--format", "raw", "--output",
                              str(directory / f"{backend}-{name}.folded")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for p, name in zip(procs, names, strict=True)]


def print_result(r: Result) -> bool:
    ratio = r.pipeline_rate / r.plain_rate
    threads = f"{r.threads}" if r.threads is not None else "default"
    print(f"\n== {r.backend}: {r.count} notifications, one fan-out transaction, relay + {r.workers} RQ workers "
          f"(OUTBOX_JOB_THREADS {threads}), the fake answering after {r.latency_s * 1000:.0f} ms ==")
    print(f"  plain httpx client   {r.plain_rate:8.0f} msg/s   ({r.plain_s:.2f} s)")
    print(f"  pipeline             {r.pipeline_rate:8.0f} msg/s   ({r.pipeline_s:.2f} s from the first outbox row "
          f"to the last sent; the fan-out transaction itself took {r.fan_out_s:.2f} s)")
    verdict = "met" if ratio >= TARGET else "NOT met"
    print(f"  ratio                {ratio:8.2f}         (target >= {TARGET:.2f}: {verdict})")
    cores = os.cpu_count() or 1
    used = sum(r.cpu.values())
    print(f"  CPU seconds in the timed phase ({r.wall_s:.1f} s wall x {cores} cores = {r.wall_s * cores:.0f} s; "
          f"used {used:.0f} s, {used / (r.wall_s * cores):.0%}):")
    print("    " + ", ".join(f"{name} {t:.1f}" for name, t in sorted(r.cpu.items(), key=lambda kv: -kv[1])))
    in_workers = sum(t for name, t in r.cpu.items() if name.startswith("worker "))
    print(f"    per notification: {in_workers / r.count * 1e3:.2f} ms in the "
          f"workers, {used / r.count * 1e3:.2f} ms in all")
    for phase, others, wall in (("pipeline", r.others_s, r.wall_s), ("plain client", r.others_plain_s, r.plain_s)):
        if others > 0.1 * wall:
            print(f"  WARNING: other processes used {others:.1f} CPU s during the {phase} run ({wall:.1f} s); "
                  "its figure is disturbed")
    if r.relay_errors:
        print(f"  relay rounds failed (logged, retried): {r.relay_errors}")
    if r.retried:
        print(f"  rows the workers logged as failed and tried again: {r.retried}")
    ok = True
    for text, passed in r.checks:
        print(f"  [{'ok' if passed else 'FAIL'}] {text}")
        ok = ok and passed
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2, help="RQ worker processes (SimpleWorker)")
    parser.add_argument("--threads", type=int, default=None,
                        help="OUTBOX_JOB_THREADS of the workers (default: the gateway's own)")
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="the fake waits this long before each answer (default 0). The plain client sends one "
                             "message after another, so with a delay it measures the delay, not a client; the "
                             "ratio then shows what working rows side by side buys")
    parser.add_argument("--sends-per-second", type=int, default=100_000,
                        help="WECHAT_SENDS_PER_SECOND of the workers (production default: 400)")
    parser.add_argument("--quiet-wait", type=float, default=30.0,
                        help="before each timed phase, wait up to this many seconds for the machine to be idle")
    parser.add_argument("--profile", type=Path, help="record py-spy stacks of the workers and relay here")
    args = parser.parse_args(argv)
    if shutil.which("redis-server") is None:
        print("redis-server is not on PATH", file=sys.stderr)
        return 2
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    ok = True
    for backend in backends:
        ok = print_result(run_backend(backend, args.count, args.sends_per_second, args.profile, args.quiet_wait,
                                       args.workers, args.threads, args.latency_ms / 1000)) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
