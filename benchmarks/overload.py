"""Overload with the workers running: more WeChat pushes than the gateway can answer in time, each deferred one
completed later by a customer-service message, never lost or doubled.

    .venv/bin/python benchmarks/overload.py [--backend sqlite|postgresql|both] [--connections 1024] [--seconds 20]
        [--latency-ms 0] [--threads N]

The web server is `wechat_intake.py`'s (1 uvicorn worker on SQLite, 3 on PostgreSQL, the gateway's default
WECHAT_ANSWER_WITHIN_SECONDS of 2 s). Beside it, as in production: a private `redis-server`, the `relay` and
two `worker` processes (`push_fanout.py`'s), sending to the fake WeChat API in its own process. The client
keeps `--connections` keep-alive connections busy (closed loop), each request a new citizen's first message
(a problem without a place, answered "问题在哪里"), sealed in safe mode. One message per citizen: a citizen
writes again only after an answer, so the order of a citizen's messages is not what this measures.

Then it waits for the outbox to drain and checks, per backend (exit status 1 if any fails):
- every push answered 200, none after WeChat's 5 s (p50, p99 and the slowest are printed);
- every reply decrypts to the short word ("收到，稍后回复您。") or to the answer the same words get when the
  gateway is idle (one push per problem before the load);
- every push kept once (inbound messages == answers);
- every citizen answered with the short word got exactly one customer-service message, carrying the step's
  answer; no other citizen got one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from benchmarks import _load, push_fanout, wechat_intake  # noqa: E402
from bots.fakes.wechat_peer import WeChatPeer  # noqa: E402
from tickets.storage.db import create_db_engine  # noqa: E402

SHORT = "收到，稍后回复您。"
DEADLINE_S = 5.0  # WeChat gives up on a passive reply after 5 s
CUSTOM_SEND = "/cgi-bin/message/custom/send"


@dataclass
class FirstMessages:
    """One connection's citizens, each sending one first message; keeps every answer to read afterwards."""

    peer: Any
    tag: str
    host: str
    msg_ids: Any
    answers: list[tuple[str, int, bytes]] = field(default_factory=list)  # (openid, status, body)
    problem_of: dict[str, str] = field(default_factory=dict)  # openid -> the problem it wrote
    _sent: list[str] = field(default_factory=list)
    _queue: list[tuple[str, bytes]] = field(default_factory=list)

    def top_up(self, n: int) -> None:
        """Seal `n` more requests (outside the timing)."""
        for _ in range(n):
            openid = f"o{self.tag}{secrets.token_hex(10)}"
            text = wechat_intake.PROBLEMS[len(self._queue) % len(wechat_intake.PROBLEMS)]
            xml = self.peer.text_xml(openid, text, next(self.msg_ids), created=datetime.now(UTC))
            query, body = self.peer.seal(xml, encrypted=True, openid=openid)
            self.problem_of[openid] = text
            self._queue.append((openid, _load.build_request("POST", "/webhooks/wechat?" + urlencode(query), body,
                                                            host=self.host)))

    def next_request(self) -> bytes | None:
        if not self._queue:
            return None
        openid, data = self._queue.pop()
        self._sent.append(openid)
        return data

    def on_response(self, status: int, body: bytes) -> None:
        self.answers.append((self._sent[-1], status, body))


@dataclass
class Outcome:
    backend: str
    requests: int
    elapsed: float
    latencies: list[float]
    short: int
    drained_s: float
    checks: list[tuple[str, bool]]


def run_backend(backend: str, args: argparse.Namespace) -> Outcome:
    work = Path(tempfile.mkdtemp(prefix=f"overload-{backend}-"))
    fake: push_fanout.FakeProcess | None = None
    procs: list[Any] = []
    server: wechat_intake.Server | None = None
    try:
        url = wechat_intake.prepare_database(backend, work)
        fake = push_fanout.FakeProcess()
        fake.ask(("latency", args.latency_ms / 1000))
        redis_proc, redis_url = push_fanout.start_redis(work)
        procs.append(redis_proc)
        # The webhook's AppID is the fake API's account, so the workers' customer-service messages go to it.
        creds = wechat_intake.credentials() | {"WECHAT_APP_ID": push_fanout.APP_ID}
        env = push_fanout.gateway_env(url, redis_url, fake.base_url, work, 100_000, args.threads)
        env.update({"WECHAT_TOKEN": creds["WECHAT_TOKEN"], "WECHAT_AES_KEY": creds["WECHAT_AES_KEY"]})
        procs += [push_fanout.start_gateway("worker", env, work, n) for n in range(2)]
        procs.append(push_fanout.start_gateway("relay", env, work, 0))
        server = wechat_intake.start_server(url, creds, work, wechat_intake.WORKERS[backend])
        print(f"\n== {backend}: {args.connections} connections for {args.seconds:.0f} s; web "
              f"{len(server.workers)} uvicorn worker(s), relay and 2 RQ workers; WeChat's API answering after "
              f"{args.latency_ms:.0f} ms", flush=True)
        peer = WeChatPeer(creds["WECHAT_TOKEN"], creds["WECHAT_APP_ID"], creds["WECHAT_AES_KEY"])
        expected = _answers_when_idle(server, peer)
        requests, elapsed, latencies, answers, problem_of = asyncio.run(_load_phase(server, peer, args))
        started = time.monotonic()
        drained = _wait_drained(url, args.drain_timeout)
        drained_s = time.monotonic() - started
        report = fake.ask("report")
        checks, short = _check(url, peer, expected, answers, problem_of, report, drained)
        return Outcome(backend, requests, elapsed, latencies, short, drained_s, checks)
    finally:
        if server is not None:
            server.stop()
        for proc in procs:
            push_fanout._stop(proc)  # noqa: SLF001 - the benchmark's own helper
        if fake is not None:
            fake.stop()
        shutil.rmtree(work, ignore_errors=True)


def _answers_when_idle(server: wechat_intake.Server, peer: WeChatPeer) -> dict[str, str]:
    """Each problem's answer to a new citizen while nothing else runs: what every answer to it, at once or
    later, must be (a first message's answer depends on its words only)."""
    import httpx

    answers = {}
    with httpx.Client(base_url=f"http://{wechat_intake.HOST}:{server.port}", timeout=10) as client:
        for n, problem in enumerate(wechat_intake.PROBLEMS):
            openid = f"oidle{n:04d}{secrets.token_hex(8)}"
            query, body = peer.seal(peer.text_xml(openid, problem, n + 1, created=datetime.now(UTC)),
                                    encrypted=True, openid=openid)
            response = client.post("/webhooks/wechat", params=query, content=body)
            response.raise_for_status()
            answers[problem] = peer.open_reply(response.content)
    return answers


async def _load_phase(server: wechat_intake.Server, peer: WeChatPeer, args: argparse.Namespace
                      ) -> tuple[int, float, list[float], list[tuple[str, int, bytes]], dict[str, str]]:
    host = f"{wechat_intake.HOST}:{server.port}"
    probe = f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    owner = _load.socket_owner_finder(server.port, server.workers)
    conns, _ = await _load.open_balanced(wechat_intake.HOST, server.port, args.connections, probe, owner,
                                         server.workers)
    msg_ids = iter(range(int(time.time()) * 1_000_000, 2**62))
    sources = [FirstMessages(peer, f"{i:04d}x", host, msg_ids) for i in range(args.connections)]
    # Enough sealed for the phase above the best rate with short words (~1,000/s; one of PostgreSQL's three web
    # workers may serve its connections twice as fast as the others), spread over the connections.
    for s in sources:
        s.top_up(int(args.seconds * 3000 / args.connections) + 4)
    result = await _load.run_phase("overload", conns, sources, args.seconds)
    for c in conns:
        c.close()
    if result.exhausted:
        print(f"  warning: {result.exhausted} connections ran out of sealed requests", flush=True)
    return (result.requests, result.elapsed, result.latencies, [a for s in sources for a in s.answers],
            {openid: problem for s in sources for openid, problem in s.problem_of.items()})


def _wait_drained(url: str, timeout: float) -> bool:
    """Until every deferred message is answered and the outbox has no unfinished row."""
    engine = create_db_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                waiting = conn.execute(sa.text("SELECT count(*) FROM deferred_messages WHERE answered_at IS NULL")
                                       ).scalar_one()
                unfinished = conn.execute(sa.text("SELECT count(*) FROM outbox WHERE status <> 'done'")).scalar_one()
            if waiting == 0 and unfinished == 0:
                return True
            time.sleep(0.5)
        return False
    finally:
        engine.dispose()


def _check(url: str, peer: WeChatPeer, expected: dict[str, str], answers: list[tuple[str, int, bytes]],
           problem_of: dict[str, str], report: dict[str, Any], drained: bool) -> tuple[list[tuple[str, bool]], int]:
    """The checks of the module's docstring; also how many pushes got the short word."""
    statuses = Counter(status for _, status, _ in answers)
    short_to: set[str] = set()
    unreadable = wrong = 0
    for openid, status, body in answers:
        if status != 200:
            continue
        try:
            text = peer.open_reply(body)
        except Exception:  # noqa: BLE001 - counted
            unreadable += 1
            continue
        if text == SHORT:
            short_to.add(openid)
        else:
            wrong += text != expected[problem_of[openid]]
    pushed: Counter[str] = Counter()
    same = 0
    for raw in report["bodies"]:
        body = json.loads(raw)
        pushed[body["touser"]] += 1
        content = body.get("text", {}).get("content", "")
        same += content == expected.get(problem_of.get(body["touser"], ""))
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            inbound = int(conn.execute(sa.text("SELECT count(*) FROM inbound_messages")).scalar_one())
    finally:
        engine.dispose()
    ok = statuses.get(200, 0)
    checks = [
        (f"statuses {dict(statuses)} (want all 200)", set(statuses) == {200}),
        (f"replies: {ok - len(short_to) - unreadable} answers at once ({wrong} not the answer when idle), "
         f"{len(short_to)} short words, {unreadable} unreadable", not unreadable and not wrong),
        (f"inbound messages kept: {inbound} (want {ok + len(expected)}, one per answered push and per idle one)",
         inbound == ok + len(expected)),
        (f"outbox drained: {drained}", drained),
        (f"customer-service messages: {sum(pushed.values())} to {len(pushed)} citizens (want {len(short_to)}, "
         "one to each citizen answered with the short word)",
         set(pushed) == short_to and all(n == 1 for n in pushed.values())),
        (f"of them the answer the same words get when idle: {same} (want {len(short_to)})", same == len(short_to)),
    ]
    return checks, len(short_to)


def print_outcome(o: Outcome) -> bool:
    ordered = sorted(o.latencies)
    late = sum(1 for t in o.latencies if t >= DEADLINE_S)
    print(f"  {o.requests} pushes in {o.elapsed:.1f} s ({o.requests / o.elapsed:.0f}/s); latency p50 "
          f"{_load.percentile(ordered, 50) * 1000:.0f} ms, p99 {_load.percentile(ordered, 99) * 1000:.0f} ms, "
          f"slowest {ordered[-1] * 1000:.0f} ms; {late} answered after {DEADLINE_S:.0f} s")
    print(f"  short word: {o.short} ({o.short / max(1, o.requests):.0%}); the outbox drained {o.drained_s:.1f} s "
          "after the load")
    checks = [*o.checks, (f"answered within {DEADLINE_S:.0f} s: {o.requests - late} of {o.requests}", late == 0)]
    for text, passed in checks:
        print(f"  [{'ok' if passed else 'FAIL'}] {text}")
    return all(passed for _, passed in checks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--connections", type=int, default=1024)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="the fake WeChat API's delay before each answer (the real one's from a city: ~20 ms)")
    parser.add_argument("--threads", type=int, default=None,
                        help="the workers' OUTBOX_JOB_THREADS (default: the gateway's)")
    parser.add_argument("--drain-timeout", type=float, default=180.0,
                        help="seconds to wait after the load for every deferred push to be answered")
    args = parser.parse_args(argv)
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    ok = True
    for backend in backends:
        ok = print_outcome(run_backend(backend, args)) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
