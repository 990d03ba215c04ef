"""WeChat intake under concurrent load, against a bare endpoint of the same server, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/wechat_intake.py [--backend sqlite|postgresql|both] [--seconds 8]

A real uvicorn server (access log off; 1 worker on SQLite, 3 on PostgreSQL: see WORKERS) serves the normal
gateway plus one extra route, `POST /bench/bare`, an `async def` returning `success`. A closed-loop client
(this process; see `_load.py`) keeps 64 keep-alive connections busy, alternating phases: bare, full, ...
The full path is a safe-mode (AES) text message through HTTP, signature and msg_signature checks,
decryption, parsing, the dialog step, one database transaction and an encrypted passive reply. Every
connection plays its own citizens, each sending three messages in order: a description, the place,
and "1" (which opens a ticket). Requests are sealed before each timed phase.

Printed per backend: throughput, p50 and p99 of both endpoints, the ratio full/bare, CPU per request
of the server workers (and of PostgreSQL), then correctness checks: every response 200, a sample of
replies decrypted and read, tickets in the database == completed three-message sequences.
Targets (ratio >= 0.35 on SQLite, >= 0.25 on PostgreSQL, p99 <= 150 ms at saturation and <= 50 ms at half
the saturation rate, sent on a schedule) are reported, not
asserted; the exit status is non-zero only when a correctness check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import _load  # noqa: E402

HOST = "127.0.0.1"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BENCH_DB = "petition_bench"
PG_BENCH_URL = f"postgresql://postgres@127.0.0.1:5432/{PG_BENCH_DB}"
TARGETS = {"sqlite": (0.35, 150.0), "postgresql": (0.25, 150.0)}  # (ratio >=, p99 ms <= at saturation)
HALF_LOAD_P99_MS = 50.0  # p99 at half the saturation rate
# Web workers per backend, the same for bare and full. SQLite: one writer at a time; a second process
# only sleeps in SQLite's busy handler with its event loop blocked (serve one, as the Procfile does).
# PostgreSQL: the webhook's transaction waits on round trips and on the commit's WAL flush with the event
# loop blocked, so more processes than cores keep the cores busy: 3 measured best on 2 cores (2: full
# -15 to -20%; 4: bare -10% and no better full).
WORKERS = {"sqlite": 1, "postgresql": 3}
SAMPLE_EVERY = 25  # decrypt all three replies of every 25th citizen
EXPECTED = ("问题在哪里", "请核对", "工单号")
PROBLEMS = ("门前路灯坏了一个多星期，晚上很黑，老人出门不方便。", "楼下下水道堵塞，污水漫到人行道上，气味很大。",
            "小区门口的共享单车乱停，挡住了消防通道。", "小区垃圾桶满了好几天没人清理，味道很大。",
            "楼上装修每天晚上十点以后还在施工，噪音很大。")


# --- the server side ---------------------------------------------------------------------------

def make_app() -> Any:
    """App factory for uvicorn: the normal gateway (settings from the environment, no job loop)
    plus `POST /bench/bare`, so both endpoints are served by the same processes."""
    from fastapi import Response

    from gateway.app import create_app
    from tickets.settings import Settings

    app = create_app(Settings().prepared(), run_jobs=False, own_process=True)

    @app.post("/bench/bare", include_in_schema=False)
    async def bare() -> Response:
        return Response(b"success", media_type="text/plain")

    return app


@dataclass
class Server:
    """A uvicorn process tree serving `make_app`."""

    proc: subprocess.Popen[bytes]
    port: int
    workers: list[int]
    log_path: Path

    def stop(self) -> None:
        _stop(self.proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT (uvicorn's graceful shutdown, workers included), then SIGKILL to the process group."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: only this server's processes
    proc.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def credentials() -> dict[str, str]:
    """Real-looking WeChat server settings: token, AppID and a 43-character EncodingAESKey (safe mode)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return {
        "WECHAT_TOKEN": "".join(secrets.choice(alphabet) for _ in range(32)),
        "WECHAT_APP_ID": "wx" + secrets.token_hex(8),
        "WECHAT_AES_KEY": base64.b64encode(secrets.token_bytes(32)).decode().rstrip("="),
    }


def start_server(database_url: str, creds: dict[str, str], work: Path, workers: int,
                 answer_within: float | None = None) -> Server:
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith(("WECHAT_", "ALIPAY_", "REDIS_", "DATABASE_"))}
    env.update(creds)
    if answer_within is not None:  # load shedding (docs/configuration.md); the gateway's default otherwise
        env["WECHAT_ANSWER_WITHIN_SECONDS"] = str(answer_within)
    env.update({
        "DATABASE_URL": database_url, "GATEWAY_ENV": "production", "VAR_DIR": str(work / "var"),
        "SECRET_KEY": secrets.token_urlsafe(48), "PUBLIC_BASE_URL": "https://12345.example.gov.cn",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
    })
    log_path = work / f"uvicorn-{port}.log"
    cmd = [sys.executable, "-m", "uvicorn", "benchmarks.wechat_intake:make_app", "--factory",
           "--app-dir", str(ROOT), "--host", HOST, "--port", str(port), "--workers", str(workers),
           "--no-access-log", "--log-level", "info", "--timeout-keep-alive", "300"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        return Server(proc, port, _wait_for_workers(proc, port, workers, log_path), log_path)
    except BaseException:
        _stop(proc)
        raise


def _wait_for_workers(proc: subprocess.Popen[bytes], port: int, workers: int, log_path: Path) -> list[int]:
    """Wait until every worker has started and /healthz answers; returns the worker pids."""
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"uvicorn exited {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start:\n{log_path.read_text()[-3000:]}")
        started = log_path.read_text(errors="replace").count("Application startup complete")
        if started >= workers and _healthy(port):
            break
        time.sleep(0.1)
    # With one worker uvicorn serves in the process it was started as; with more, in spawned children.
    pids = [proc.pid] if workers == 1 else [p for p in _load.children(proc.pid) if "spawn_main" in _load.cmdline(p)]
    if len(pids) != workers:
        raise RuntimeError(f"expected {workers} worker processes, found {pids}")
    return pids


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False


# --- databases ---------------------------------------------------------------------------------

def prepare_database(backend: str, work: Path) -> str:
    """A fresh, migrated database; returns its URL."""
    from tickets.storage.db import migrate

    if backend == "sqlite":
        url = f"sqlite:///{work / 'bench.db'}"
    else:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_BENCH_DB,)).fetchone() is None:
                admin.execute(f"CREATE DATABASE {PG_BENCH_DB}")
        with psycopg.connect(PG_BENCH_URL, autocommit=True) as db:
            db.execute("DROP SCHEMA IF EXISTS public CASCADE")
            db.execute("CREATE SCHEMA public")
        url = PG_BENCH_URL
    migrate(url)
    return url


def count_rows(url: str) -> dict[str, int]:
    import sqlalchemy as sa

    from tickets.storage.db import create_db_engine

    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            return {table: int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
                    for table in ("tickets", "inbound_messages", "citizens")}
    finally:
        engine.dispose()


# --- the client side ---------------------------------------------------------------------------

_NAME_CHARACTERS = "春夏秋冬梅兰竹菊松柏风雨雷电山水花鸟鱼虫"


def _name(n: int) -> str:
    """A distinct made-up name for each n (`--distinct-texts`), in characters no number reading takes."""
    name = _NAME_CHARACTERS[n % 20]
    while n := n // 20:
        name += _NAME_CHARACTERS[n % 20]
    return name


class Citizens:
    """One connection's citizens, each sending description, place and "1" in order.

    Requests are sealed ahead (`top_up`) and consumed in order across phases, so a citizen's three
    messages may straddle two phases but are never reordered or skipped.
    """

    def __init__(self, peer: Any, tag: str, conn_index: int, host: str, distinct: bool = False) -> None:
        self._peer = peer
        self._distinct = distinct
        self._tag = tag
        self._conn = conn_index
        self._host = host
        self._queue: list[bytes] = []
        self._sent = 0
        self._citizens = 0
        self.ok = 0
        self.completed = 0  # three-message sequences whose "1" was answered 200
        self.statuses: dict[int, int] = {}
        self.not_encrypted = 0
        self.samples: list[tuple[int, bytes]] = []  # (step, reply body)

    def pending(self) -> int:
        return len(self._queue) - self._sent

    def top_up(self, requests: int, msg_ids: Any) -> None:
        """Seal whole citizens until at least `requests` requests are waiting."""
        while self.pending() < requests:
            k = self._citizens
            self._citizens += 1
            openid = f"o{self._tag}{self._conn:03d}x{k:06d}{secrets.token_hex(4)}"
            texts = (PROBLEMS[k % len(PROBLEMS)], f"幸福里小区{self._conn}栋{k % 30 + 1}单元门口", "1")
            if self._distinct:  # no two citizens write the same words (a name no cue or place list knows)
                name = _name(self._conn * 1_000_000 + k)
                texts = (f"{texts[0]}我是{name}家的。", f"{texts[1]}{name}超市旁边", "1")
            typed = datetime.now(UTC) - timedelta(seconds=60)
            for step, text in enumerate(texts):
                # A citizen types each message tens of seconds apart: closer ones are one burst (drafting.py).
                xml = self._peer.text_xml(openid, text, next(msg_ids), created=typed + timedelta(seconds=20 * step))
                query, body = self._peer.seal(xml, encrypted=True, openid=openid)
                self._queue.append(_load.build_request("POST", "/webhooks/wechat?" + urlencode(query), body,
                                                       host=self._host))

    def next_request(self) -> bytes | None:
        if self._sent >= len(self._queue):
            return None
        data = self._queue[self._sent]
        self._queue[self._sent] = b""
        self._sent += 1
        return data

    def on_response(self, status: int, body: bytes) -> None:
        index = self._sent - 1
        step, citizen = index % 3, index // 3
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status != 200:
            return
        self.ok += 1
        if not body.startswith(b"<xml>") or b"<Encrypt>" not in body:
            self.not_encrypted += 1
        if step == 2:
            self.completed += 1
        if citizen % SAMPLE_EVERY == 0:
            self.samples.append((step, body))


@dataclass
class Totals:
    """Sums over the timed phases of one endpoint."""

    requests: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    server_cpu: float = 0.0
    db_cpu: float = 0.0
    client_cpu: float = 0.0
    exhausted: int = 0

    def add(self, phase: _load.PhaseResult, server_cpu: float, db_cpu: float) -> None:
        self.requests += phase.requests
        self.elapsed += phase.elapsed
        self.latencies.extend(phase.latencies)
        self.client_cpu += phase.client_cpu
        self.server_cpu += server_cpu
        self.db_cpu += db_cpu
        self.exhausted += phase.exhausted

    @property
    def rate(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def p(self, q: float) -> float:
        return _load.percentile(sorted(self.latencies), q) * 1000

    def per_request_us(self, seconds: float) -> float:
        return seconds / self.requests * 1e6 if self.requests else float("nan")


@dataclass
class BackendResult:
    backend: str
    bare: Totals
    full: Totals
    half: Totals  # the full path at half its saturation rate, open loop
    connections: dict[int, int]
    failures: list[str]
    notes: list[str]

    @property
    def ratio(self) -> float:
        return self.full.rate / self.bare.rate if self.bare.rate else 0.0


def _cpu(pids: Sequence[int]) -> dict[int, float]:
    return {pid: _load.cpu_seconds(pid) for pid in pids}


async def measure(backend: str, server: Server, creds: dict[str, str],
                  args: argparse.Namespace) -> tuple[BackendResult, int, int]:
    from bots.fakes.wechat_peer import WeChatPeer

    peer = WeChatPeer(creds["WECHAT_TOKEN"], creds["WECHAT_APP_ID"], creds["WECHAT_AES_KEY"])
    host = f"{HOST}:{server.port}"
    probe = f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    owner = _load.socket_owner_finder(server.port, server.workers)
    conns, spread = await _load.open_balanced(HOST, server.port, args.connections, probe, owner, server.workers)

    # Bare requests carry a sealed message of the same size and query shape as the full path's.
    bare_sources = []
    for i in range(args.connections):
        openid = f"obare{i:03d}{secrets.token_hex(8)}"
        query, body = peer.seal(peer.text_xml(openid, PROBLEMS[0], 1), encrypted=True, openid=openid)
        bare_sources.append(_load.Repeat(_load.build_request("POST", "/bench/bare?" + urlencode(query), body,
                                                             host=host), expect_body=b"success"))
    tag = backend[:2]
    msg_ids = iter(range(int(time.time()) * 1_000_000, 2**62))
    full_sources = [Citizens(peer, tag, i, host, args.distinct_texts) for i in range(args.connections)]
    bare, full, half = Totals(), Totals(), Totals()
    full_rate_guess = 3000.0

    async def phase(name: str, sources: Sequence[_load.Source], seconds: float, into: Totals | None,
                    rate: float | None = None) -> float:
        nonlocal full_rate_guess
        if sources is full_sources:  # seal enough for twice the rate seen so far (outside the timing)
            per_conn = int(full_rate_guess * seconds * 2 / args.connections) + 6
            for s in full_sources:
                s.top_up(per_conn, msg_ids)
        spies = _start_py_spy(args.profile, f"{backend}-{name.replace(' ', '-')}", server.workers, seconds,
                              args.profile_rate) \
            if args.profile and into is not None and sources is full_sources else []
        db_pids = _pg_backend_pids() if backend == "postgresql" else []
        cpu0, db0 = _cpu(server.workers), _cpu(db_pids)
        result = await _load.run_phase(name, conns, sources, seconds, rate=rate)
        cpu1, db1 = _cpu(server.workers), _cpu(db_pids)
        server_cpu = sum(cpu1[p] - cpu0[p] for p in server.workers)
        db_cpu = sum(db1[p] - db0.get(p, 0.0) for p in db1)
        for spy in spies:
            spy.wait()
        if sources is full_sources:
            full_rate_guess = max(result.rate, 200.0)
        if into is not None:
            into.add(result, server_cpu, db_cpu)
        if not args.quiet:
            print(f"    {name:<14} {result.rate:8.0f} req/s  p50 {_ms(result.latencies, 50):6.1f} ms  "
                  f"p99 {_ms(result.latencies, 99):6.1f} ms  server CPU {server_cpu / result.elapsed:4.2f} cores"
                  + (f"  postgres CPU {db_cpu / result.elapsed:4.2f} cores" if db_pids else ""), flush=True)
        return result.rate

    await phase("warm-up bare", bare_sources, args.warmup, None)
    await phase("warm-up full", full_sources, args.warmup, None)
    for r in range(1, args.rounds + 1):
        await phase(f"round {r} bare", bare_sources, args.seconds, bare)
        await phase(f"round {r} full", full_sources, args.seconds, full)
    # Half the saturation rate, on a schedule (open loop): the latency a citizen sees on an ordinary busy day.
    await phase("half load", full_sources, args.seconds, half, rate=full.rate / 2)
    for c in conns:
        c.close()

    failures: list[str] = []
    notes: list[str] = []
    bare_statuses = _merge(s.statuses for s in bare_sources)
    full_statuses = _merge(s.statuses for s in full_sources)
    unexpected = sum(s.unexpected_bodies for s in bare_sources)
    if set(bare_statuses) != {200} or unexpected:
        failures.append(f"bare endpoint: statuses {bare_statuses}, {unexpected} bodies other than 'success'")
    if set(full_statuses) != {200}:
        failures.append(f"full path: statuses {full_statuses}")
    not_encrypted = sum(s.not_encrypted for s in full_sources)
    if not_encrypted:
        failures.append(f"full path: {not_encrypted} replies were not encrypted passive replies")
    if full.exhausted:
        notes.append(f"warning: {full.exhausted} connection-phases ran out of sealed requests before the deadline")

    checked = wrong = 0
    for s in full_sources:
        for step, body in s.samples:
            checked += 1
            try:
                text = peer.open_reply(body)
            except Exception as exc:  # noqa: BLE001
                text = f"<{type(exc).__name__}>"
            if EXPECTED[step] not in text:
                wrong += 1
                if wrong <= 3:
                    failures.append(f"reply to step {step + 1} lacks {EXPECTED[step]!r}: {text[:120]!r}")
    if checked == 0:
        failures.append("no replies were sampled")
    completed = sum(s.completed for s in full_sources)
    answered = sum(s.ok for s in full_sources)
    return BackendResult(backend, bare, full, half, spread, failures,
                         notes + [f"checks: {sum(bare_statuses.values())} bare + {sum(full_statuses.values())} full "
                                  f"responses, statuses bare {bare_statuses} full {full_statuses}; "
                                  f"{checked} sampled replies decrypted, {wrong} wrong"]), completed, answered


def _pg_backend_pids() -> list[int]:
    """PostgreSQL server processes serving the benchmark's database (not other people's)."""
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        rows = admin.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (PG_BENCH_DB,)).fetchall()
    return [int(r[0]) for r in rows]


def _start_py_spy(directory: Path, label: str, pids: Sequence[int], seconds: float,
                  rate: int) -> list[subprocess.Popen[bytes]]:
    """Sample each worker with py-spy (idle frames included, collapsed stacks) during a full-path phase."""
    exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    directory.mkdir(parents=True, exist_ok=True)
    spies = [subprocess.Popen([exe, "record", "--pid", str(pid), "--duration", str(max(1, int(seconds))),
                               "--rate", str(rate), "--idle", "--threads", "--format", "raw",
                               "--output", str(directory / f"{label}-{pid}.txt")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for pid in pids]
    time.sleep(0.3)  # let py-spy attach before the load starts
    return spies


def _merge(dicts: Any) -> dict[int, int]:
    total: dict[int, int] = {}
    for d in dicts:
        for k, v in d.items():
            total[k] = total.get(k, 0) + v
    return dict(sorted(total.items()))


def _ms(latencies: list[float], q: float) -> float:
    return _load.percentile(sorted(latencies), q) * 1000


def run_backend(backend: str, args: argparse.Namespace) -> BackendResult:
    work = Path(tempfile.mkdtemp(prefix=f"wechat-bench-{backend}-"))
    try:
        url = prepare_database(backend, work)
        creds = credentials()
        workers = args.workers or WORKERS[backend]
        server = start_server(url, creds, work, workers, args.answer_within)
        try:
            print(f"\n== {backend}: uvicorn --workers {workers} on :{server.port} (pids {server.workers}), "
                  f"{args.connections} connections", flush=True)
            result, completed, answered = asyncio.run(measure(backend, server, creds, args))
        finally:
            server.stop()
        rows = count_rows(url)
        result.notes.append(f"database: {rows['tickets']} tickets for {completed} completed sequences, "
                            f"{rows['inbound_messages']} inbound messages for {answered} answered requests")
        if rows["tickets"] != completed:
            result.failures.append(f"{rows['tickets']} tickets in the database, {completed} sequences completed")
        if rows["inbound_messages"] != answered:
            result.failures.append(f"{rows['inbound_messages']} inbound messages stored, {answered} answered")
        errors = [line for line in server.log_path.read_text(errors="replace").splitlines()
                  if "ERROR" in line or "Traceback" in line]
        if errors:
            result.failures.append(f"server log has {len(errors)} error lines, first: {errors[0][:200]}")
        report(result)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(r: BackendResult) -> None:
    print(f"  connections per worker: {r.connections}")
    print(f"  {'endpoint':<10}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'server µs/req':>15}"
          f"{'db µs/req':>11}{'client µs/req':>15}{'requests':>10}")
    for name, t in (("bare", r.bare), ("full", r.full), ("full, half", r.half)):
        db = f"{t.per_request_us(t.db_cpu):11.0f}" if r.backend == "postgresql" else f"{'-':>11}"
        print(f"  {name:<10}{t.rate:9.0f}{t.p(50):9.1f}{t.p(99):9.1f}{t.per_request_us(t.server_cpu):15.0f}"
              f"{db}{t.per_request_us(t.client_cpu):15.0f}{t.requests:10d}")
    print(f"  ratio full/bare: {r.ratio:.2f}   (server busy: bare {r.bare.server_cpu / r.bare.elapsed:.2f}, "
          f"full {r.full.server_cpu / r.full.elapsed:.2f} cores)")
    for note in r.notes:
        print(f"  {note}")
    print(f"  correctness: {'OK' if not r.failures else 'FAILED'}")
    for f in r.failures:
        print(f"    - {f}")


def summary(results: list[BackendResult]) -> None:
    print("\n== summary (sums over the timed phases)")
    print(f"  {'backend':<11}{'workers':>8}{'bare req/s':>11}{'full req/s':>11}{'ratio':>7}{'full p50':>10}"
          f"{'full p99':>10}{'half-load p99':>15}  target{' ' * 48}met   correct")
    for r in results:
        ratio_min, p99_max = TARGETS[r.backend]
        met = (r.ratio >= ratio_min and (p99_max is None or r.full.p(99) <= p99_max)
               and r.half.p(99) <= HALF_LOAD_P99_MS)
        target = (f"ratio >= {ratio_min:.2f}" + (f", p99 <= {p99_max:.0f} ms" if p99_max else "")
                  + f", half-load p99 <= {HALF_LOAD_P99_MS:.0f} ms")
        print(f"  {r.backend:<11}{len(r.connections):8d}{r.bare.rate:11.0f}{r.full.rate:11.0f}{r.ratio:7.2f}"
              f"{r.full.p(50):8.1f}ms{r.full.p(99):8.1f}ms{r.half.p(99):13.1f}ms  {target:<54}"
              f"{'yes' if met else 'NO':<6}{'yes' if not r.failures else 'NO'}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each timed phase (default 8)")
    parser.add_argument("--rounds", type=int, default=2, help="bare/full pairs per backend (default 2)")
    parser.add_argument("--warmup", type=float, default=1.5, help="warm-up per endpoint, seconds (default 1.5)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--answer-within", type=float, default=None, metavar="SECONDS",
                        help="WECHAT_ANSWER_WITHIN_SECONDS for the server (0: no load shedding). Under overload "
                             "(many --connections) deferred pushes get the short answer, which the checks count "
                             "as wrong replies and missing tickets: their jobs do not run here")
    parser.add_argument("--workers", type=int, default=0,
                        help="uvicorn workers for both endpoints (default: 1 on SQLite, 3 on PostgreSQL)")
    parser.add_argument("--distinct-texts", action="store_true",
                        help="no two citizens send the same description or place (a made-up name in each): the "
                             "per-process memory of texts read (n-grams, triage) then helps only within a "
                             "conversation, as with real citizens; by default five descriptions repeat")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="record py-spy stacks (collapsed, idle frames included) of the workers during the "
                             "timed full-path phases into DIR; py-spy pauses the process per sample, so the "
                             "figures of a profiled run are lower")
    parser.add_argument("--profile-rate", type=int, default=100, metavar="HZ", help="py-spy samples per second")
    parser.add_argument("-q", "--quiet", action="store_true", help="do not print every phase")
    args = parser.parse_args(argv)
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = [run_backend(b, args) for b in backends]
    summary(results)
    return 1 if any(r.failures for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
