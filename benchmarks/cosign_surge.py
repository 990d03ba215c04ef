"""A surge of co-signatures through the web form, against a bare endpoint of the same server, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/cosign_surge.py [--backend sqlite|postgresql|both] [--seconds 8]

A real uvicorn server (1 worker on SQLite, 3 on PostgreSQL, as `wechat_intake.py` explains) serves the
normal gateway plus `POST /bench/bare`, an `async def` answering a short page without reading the form,
placed first in the routing table so the baseline pays no route matching.
A closed-loop client (this process, `_load.py`) keeps 64 keep-alive connections busy, alternating bare
and full phases. The full path is `POST /j/{token}`, the co-sign form as a phone sends it after proving
its number: the signed link checked, the form read and capped, CSRF (cookie nonce + HMAC), the AES-GCM
identity cookie opened, the rate limits per IP and per identity (in the process on SQLite, whose
embedded setup serves one web process; in Redis on PostgreSQL, whose several web processes share
them), the signing transaction (the surge counts, a citizen row for those who consent, the signature,
the counter, the warning thresholds) and the result page rendered. Every connection signs as its own
phones, each once; every tenth request repeats a phone that connection signed before (a double tap),
which must be told "already signed" and counted once.

Limits and the surge rule keep their defaults. Each phone signs from its own address and device, eight
phones to a /24, as a surge of neighbours on mobile networks would (the address travels in
X-Forwarded-For, which uvicorn trusts from 127.0.0.1 as from a reverse proxy on the host). A double tap
is over the per-IP limit (1 a minute) and is answered "already signed", not "wait".

Printed per backend: throughput, p50 and p99 of both endpoints, the ratio, CPU per request; then checks:
every response 200, every first signature answered "signed", every repeat "already", and the
petition's counter == signatures in the table == distinct phones answered "signed" (the exact count).
Target (reported, not asserted): full/bare >= 0.30 on SQLite and >= 0.25 on PostgreSQL, with p99 < 150 ms
at 64 clients (the performance issue). Exit status 1 only
when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import _load  # noqa: E402
from benchmarks.wechat_intake import (  # noqa: E402
    HOST,
    WORKERS,
    Server,
    Totals,
    _cpu,
    _free_port,
    _merge,
    _ms,
    _pg_backend_pids,
    _stop,
    _wait_for_workers,
    prepare_database,
)

TARGET_RATIO, TARGET_P99_MS = {"sqlite": 0.30, "postgresql": 0.25}, 150.0
REPEAT_EVERY = 10  # every tenth request of a connection repeats one of its earlier phones
REDIS_URL = "redis://127.0.0.1:6379/14"
SIGNED, ALREADY = "感谢您的联名！".encode(), "您已经联名过了".encode()
BARE_PAGE = b"<!doctype html><title>ok</title><p>ok</p>"


def make_app() -> Any:
    """App factory for uvicorn: the gateway (settings from the environment, no job loop) plus `POST /bench/bare`."""
    from fastapi import Response

    from gateway.app import create_app
    from tickets.settings import Settings

    app = create_app(Settings().prepared(), run_jobs=False, own_process=True)

    @app.post("/bench/bare", include_in_schema=False)
    async def bare() -> Response:
        return Response(BARE_PAGE, media_type="text/html; charset=utf-8")

    # First in the routing table: the baseline pays no route matching beyond FastAPI's own four routes.
    app.router.routes.insert(4, app.router.routes.pop())
    return app


def start_server(env_extra: dict[str, str], work: Path, workers: int) -> Server:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("WECHAT_", "ALIPAY_", "REDIS_",
                                                                              "DATABASE_", "COSIGN_", "SURGE_"))}
    env.update(env_extra)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))
    log_path = work / f"uvicorn-{port}.log"
    cmd = [sys.executable, "-m", "uvicorn", "benchmarks.cosign_surge:make_app", "--factory", "--app-dir", str(ROOT),
           "--host", HOST, "--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level",
           "info", "--timeout-keep-alive", "300"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # _wait_for_workers counts uvicorn's "Application startup complete" lines (its info level).
        return Server(proc, port, _wait_for_workers(proc, port, workers, log_path), log_path)
    except BaseException:
        _stop(proc)
        raise


def make_petition(url: str, secret_key: str) -> tuple[int, str]:
    """A joint petition with no signer yet, and its co-sign token."""
    from zoneinfo import ZoneInfo

    from qr.links import signer_for
    from tickets import petitions, repository
    from tickets.clock import utcnow
    from tickets.repository import NewTicket
    from tickets.storage.db import create_db_engine

    engine = create_db_engine(url)
    now = utcnow()
    with engine.begin() as conn:
        new = NewTicket("web", None, "小区供暖温度长期不达标，室内只有十二度", address="和平里小区")
        ticket = repository.open_ticket(conn, new, now, ZoneInfo("Asia/Shanghai"))
        petition, _ = petitions.start(conn, ticket.id, now=now, days=30, zone="winter_heating")
    engine.dispose()
    return petition.id, signer_for(secret_key, ["k1"]).sign(petition.id, now + timedelta(days=30))


def final_counts(url: str, petition_id: int) -> tuple[int, int, int]:
    """(the petition's counter, standing trusted signatures, flagged ones) from the database."""
    import sqlalchemy as sa

    from tickets.storage.db import create_db_engine
    from tickets.storage.schema import petitions, signatures

    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            counter = conn.execute(sa.select(petitions.c.signature_count)
                                   .where(petitions.c.id == petition_id)).scalar_one()
            rows = dict(conn.execute(
                sa.select(signatures.c.flagged, sa.func.count())
                .where(signatures.c.petition_id == petition_id, signatures.c.status == "signed")
                .group_by(signatures.c.flagged)).all())
    finally:
        engine.dispose()
    return int(counter), int(rows.get(False, 0)), int(rows.get(True, 0))


class Phones:
    """One connection's signers: each request a new phone, every tenth a repeat of an earlier one."""

    def __init__(self, seal: Any, csrf: str, nonce: str, token: str, conn_index: int, host: str, backend: str) -> None:
        from gateway.cosign.identity import Identity, seal_identity

        self._seal, self._identity, self._seal_identity = seal, Identity, seal_identity
        self._csrf, self._nonce, self._token, self._host = csrf, nonce, token, host
        self._conn, self._tag = conn_index, 1 if backend == "sqlite" else 2
        self._queue: list[tuple[bytes, str, bool]] = []  # request, phone, is a repeat
        self._sent = 0
        self._made = 0
        self.signed: set[str] = set()
        self.statuses: dict[int, int] = {}
        self.wrong: list[str] = []

    def pending(self) -> int:
        return len(self._queue) - self._sent

    def top_up(self, requests: int) -> None:
        now = time.time()
        while self.pending() < requests:
            k = self._made
            self._made += 1
            repeat = k % REPEAT_EVERY == REPEAT_EVERY - 1
            index = k - REPEAT_EVERY // 2 if repeat else k
            phone = f"1{3 + self._tag}{self._conn:03d}{index:06d}"
            cookie = self._seal_identity(self._seal, self._identity("sms", phone), now + 600)
            body = urlencode({"csrf": self._csrf, "consent": "1" if index % 2 else "", "name": ""}).encode()
            # Each phone its own device and address, eight to a /24 (mobile networks spread their users):
            # through uvicorn's proxy headers, trusted from 127.0.0.1 as from a reverse proxy on the host.
            address = f"10.{self._conn}.{index // 8 % 250}.{index % 8 + 1 + 8 * (index // 2000)}"
            headers = [("Cookie", f"j_id={cookie}; j_csrf={self._nonce}; j_dev=dev{phone}"),
                       ("X-Forwarded-For", address)]
            request = _load.build_request("POST", f"/j/{self._token}", body, host=self._host,
                                          content_type="application/x-www-form-urlencoded", extra_headers=headers)
            self._queue.append((request, phone, repeat))

    def next_request(self) -> bytes | None:
        if self._sent >= len(self._queue):
            return None
        data = self._queue[self._sent][0]
        self._sent += 1
        return data

    def on_response(self, status: int, body: bytes) -> None:
        _, phone, repeat = self._queue[self._sent - 1]
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status != 200:
            return
        # A repeat whose first request is still ahead in another phase cannot happen: repeats look back 5.
        if SIGNED in body and not repeat and phone not in self.signed:
            self.signed.add(phone)
        elif ALREADY in body and repeat and phone in self.signed:
            pass
        elif len(self.wrong) < 3:
            self.wrong.append(f"{'repeat' if repeat else 'first'} answered: {body[:160]!r}")


@dataclass
class Result:
    backend: str
    bare: Totals
    full: Totals
    failures: list[str]
    notes: list[str]

    @property
    def ratio(self) -> float:
        return self.full.rate / self.bare.rate if self.bare.rate else 0.0


async def measure(backend: str, server: Server, secret_key: str, token: str, petition_id: int,
                  args: argparse.Namespace) -> tuple[Result, int]:
    from gateway.cosign.forms import csrf_token, new_nonce
    from gateway.security import CookieSeal, derive

    host = f"{HOST}:{server.port}"
    probe = f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    owner = _load.socket_owner_finder(server.port, server.workers)
    conns, spread = await _load.open_balanced(HOST, server.port, args.connections, probe, owner, server.workers)
    seal, csrf_key = CookieSeal(secret_key), derive(secret_key, "cosign-csrf/v1")
    full_sources: list[Phones] = []
    bare_sources: list[_load.Repeat] = []
    for i in range(args.connections):
        nonce = new_nonce()
        phones = Phones(seal, csrf_token(csrf_key, petition_id, nonce), nonce, token, i, host, backend)
        full_sources.append(phones)
        phones.top_up(1)
        sample = phones._queue[0][0]  # noqa: SLF001 - the bare request carries the same bytes
        bare_sources.append(_load.Repeat(sample.replace(f"POST /j/{token}".encode(), b"POST /bench/bare", 1),
                                         expect_body=BARE_PAGE))
    bare, full = Totals(), Totals()
    rate_guess = 2000.0

    async def phase(name: str, sources: Sequence[_load.Source], seconds: float, into: Totals | None) -> None:
        nonlocal rate_guess
        if sources is full_sources:
            for s in full_sources:
                s.top_up(int(rate_guess * seconds * 2 / args.connections) + 12)
        db_pids = _pg_backend_pids() if backend == "postgresql" else []
        cpu0, db0 = _cpu(server.workers), _cpu(db_pids)
        result = await _load.run_phase(name, conns, sources, seconds)
        cpu1, db1 = _cpu(server.workers), _cpu(db_pids)
        server_cpu = sum(cpu1[p] - cpu0[p] for p in server.workers)
        db_cpu = sum(db1[p] - db0.get(p, 0.0) for p in db1)
        if sources is full_sources:
            rate_guess = max(result.rate, 100.0)
        if into is not None:
            into.add(result, server_cpu, db_cpu)
        print(f"    {name:<14} {result.rate:8.0f} req/s  p50 {_ms(result.latencies, 50):6.1f} ms  "
              f"p99 {_ms(result.latencies, 99):6.1f} ms  server CPU {server_cpu / result.elapsed:4.2f} cores"
              + (f"  postgres CPU {db_cpu / result.elapsed:4.2f} cores" if db_pids else ""), flush=True)

    await phase("warm-up bare", bare_sources, args.warmup, None)
    await phase("warm-up full", full_sources, args.warmup, None)
    for r in range(1, args.rounds + 1):
        await phase(f"round {r} bare", bare_sources, args.seconds, bare)
        await phase(f"round {r} full", full_sources, args.seconds, full)
    for c in conns:
        c.close()

    failures: list[str] = []
    bare_statuses = _merge(s.statuses for s in bare_sources)
    full_statuses = _merge(s.statuses for s in full_sources)
    if set(bare_statuses) != {200} or sum(s.unexpected_bodies for s in bare_sources):
        failures.append(f"bare endpoint: statuses {bare_statuses}")
    if set(full_statuses) != {200}:
        failures.append(f"full path: statuses {full_statuses}")
    for s in full_sources:
        failures += s.wrong[: 3 - min(3, len(failures))]
    signed = sum(len(s.signed) for s in full_sources)
    notes = [f"connections per worker: {spread}",
             f"checks: {sum(full_statuses.values())} full responses {full_statuses}, {signed} phones signed"]
    if full.exhausted:
        notes.append(f"warning: {full.exhausted} connection-phases ran out of prepared requests")
    return Result(backend, bare, full, failures, notes), signed


def run_backend(backend: str, args: argparse.Namespace) -> Result:
    work = Path(tempfile.mkdtemp(prefix=f"cosign-bench-{backend}-"))
    try:
        url = prepare_database(backend, work)
        secret_key = secrets.token_urlsafe(48)
        petition_id, token = make_petition(url, secret_key)
        workers = args.workers or WORKERS[backend]
        env = {"DATABASE_URL": url, "GATEWAY_ENV": "production", "VAR_DIR": str(work / "var"),
               "SECRET_KEY": secret_key, "PUBLIC_BASE_URL": "https://12345.example.gov.cn",
               "SMS_SENDER": "http",
               "SMS_HTTP_URL": "http://127.0.0.1:9/unused"}
        if workers > 1:  # limits shared by several web processes live in Redis; one process counts alone
            env["REDIS_URL"] = REDIS_URL
        server = start_server(env, work, workers)
        try:
            print(f"\n== {backend}: uvicorn --workers {workers} on :{server.port}, {args.connections} connections",
                  flush=True)
            result, signed = asyncio.run(measure(backend, server, secret_key, token, petition_id, args))
        finally:
            server.stop()
        counter, trusted, flagged = final_counts(url, petition_id)
        result.notes.append(f"database: counter {counter}, standing signatures {trusted} (+{flagged} flagged), "
                            f"phones answered signed {signed}")
        if not counter == trusted == signed or flagged:
            result.failures.append(f"count not exact: counter {counter}, rows {trusted}, flagged {flagged}, "
                                   f"signed answers {signed}")
        errors = [line for line in server.log_path.read_text(errors="replace").splitlines()
                  if "ERROR" in line or "Traceback" in line]
        if errors:
            result.failures.append(f"server log has {len(errors)} error lines, first: {errors[0][:200]}")
        report(result)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(r: Result) -> None:
    print(f"  {'endpoint':<10}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'server µs/req':>15}{'db µs/req':>11}"
          f"{'requests':>10}")
    for name, t in (("bare", r.bare), ("full", r.full)):
        db = f"{t.per_request_us(t.db_cpu):11.0f}" if r.backend == "postgresql" else f"{'-':>11}"
        print(f"  {name:<10}{t.rate:9.0f}{t.p(50):9.1f}{t.p(99):9.1f}{t.per_request_us(t.server_cpu):15.0f}{db}"
              f"{t.requests:10d}")
    target = TARGET_RATIO[r.backend]
    met = r.ratio >= target and r.full.p(99) < TARGET_P99_MS
    print(f"  ratio full/bare: {r.ratio:.2f}, full p99 {r.full.p(99):.1f} ms "
          f"(target >= {target:.2f} and p99 < {TARGET_P99_MS:.0f} ms: {'met' if met else 'NOT met'})")
    for note in r.notes:
        print(f"  {note}")
    print(f"  correctness: {'OK' if not r.failures else 'FAILED'}")
    for f in r.failures:
        print(f"    - {f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each timed phase (default 8)")
    parser.add_argument("--rounds", type=int, default=2, help="bare/full pairs per backend (default 2)")
    parser.add_argument("--warmup", type=float, default=1.5, help="warm-up per endpoint, seconds (default 1.5)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=0, help="uvicorn workers (default: 1 SQLite, 3 PostgreSQL)")
    args = parser.parse_args(argv)
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = [run_backend(b, args) for b in backends]
    print("\n== summary")
    for r in results:
        print(f"  {r.backend:<11} bare {r.bare.rate:6.0f}/s  full {r.full.rate:6.0f}/s  ratio {r.ratio:.2f}  "
              f"full p99 {r.full.p(99):6.1f} ms  correct {'yes' if not r.failures else 'NO'}")
    return 1 if any(r.failures for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
