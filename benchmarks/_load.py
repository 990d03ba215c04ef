"""A small closed-loop HTTP/1.1 load generator, and CPU accounting of the processes under test.

Raw `asyncio.open_connection` streams, persistent keep-alive connections, pre-built request bytes:
the client shares the machine's cores with the server, so it must cost as little per request as
possible (no httpx/aiohttp). Each connection sends its next request as soon as the previous
response is read; latency is per request, from the first byte written to the last byte read.

Used by `benchmarks/wechat_intake.py`; usable by any other benchmark of the gateway.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

_HEAD_END = b"\r\n\r\n"
_CONTENT_LENGTH = b"\r\ncontent-length:"


def build_request(method: str, target: str, body: bytes, *, host: str,
                  content_type: str = "text/xml", extra_headers: Sequence[tuple[str, str]] = ()) -> bytes:
    """The bytes of one HTTP/1.1 request (keep-alive, explicit Content-Length)."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", "User-Agent: Mozilla/4.0",
             "Accept: */*", f"Content-Type: {content_type}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in extra_headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body


class Source(Protocol):
    """What one connection sends next, and what it makes of the answer."""

    def next_request(self) -> bytes | None:
        """The next request's bytes, or None when this connection has nothing more to send."""

    def on_response(self, status: int, body: bytes) -> None:
        """The response to the request last returned by `next_request`."""


@dataclass
class Repeat:
    """Sends the same request forever; counts statuses and bodies that differ from `expect_body`."""

    request: bytes
    expect_body: bytes | None = None
    statuses: dict[int, int] = field(default_factory=dict)
    unexpected_bodies: int = 0

    def next_request(self) -> bytes | None:
        return self.request

    def on_response(self, status: int, body: bytes) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if self.expect_body is not None and body != self.expect_body:
            self.unexpected_bodies += 1


class Conn:
    """One persistent HTTP/1.1 connection."""

    __slots__ = ("local_port", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.local_port: int = writer.get_extra_info("sockname")[1]

    async def roundtrip(self, data: bytes) -> tuple[int, bytes]:
        """Send one request and read its response (Content-Length framed)."""
        self.writer.write(data)
        head = await self.reader.readuntil(_HEAD_END)
        return int(head[9:12]), await self._body(head)

    async def _body(self, head: bytes) -> bytes:
        at = head.lower().find(_CONTENT_LENGTH)
        if at < 0:
            raise RuntimeError(f"response without Content-Length: {head[:200]!r}")
        start = at + len(_CONTENT_LENGTH)
        length = int(head[start:head.index(b"\r\n", start)])
        return await self.reader.readexactly(length) if length else b""

    def close(self) -> None:
        self.writer.close()


async def connect(host: str, port: int, probe: bytes) -> Conn:
    """A connection that the server has accepted (one `probe` request answered on it)."""
    reader, writer = await asyncio.open_connection(host, port)
    conn = Conn(reader, writer)
    status, _ = await conn.roundtrip(probe)
    if status != 200:
        raise RuntimeError(f"probe answered {status}")
    return conn


async def open_balanced(host: str, port: int, n: int, probe: bytes, owner: Callable[[int], int | None],
                        workers: Sequence[int], max_attempts: int = 600) -> tuple[list[Conn], dict[int, int]]:
    """`n` connections spread evenly over the server's worker processes.

    The kernel hands each new connection to whichever worker accepts first, which can leave one
    worker with most of them; a connection landing on a worker that has its share is closed and
    opened again. `owner(local_port)` names the worker pid serving a connection. Returns the
    connections and how many each worker got.
    """
    quota = {pid: n // len(workers) + (1 if i < n % len(workers) else 0) for i, pid in enumerate(workers)}
    counts = dict.fromkeys(workers, 0)
    kept: list[Conn] = []
    for _ in range(max_attempts):
        if len(kept) == n:
            break
        conn = await connect(host, port, probe)
        pid = owner(conn.local_port)
        if pid in counts and counts[pid] < quota[pid]:
            counts[pid] += 1
            kept.append(conn)
        else:
            conn.close()
    while len(kept) < n:  # give up balancing, keep what the kernel gives
        conn = await connect(host, port, probe)
        pid = owner(conn.local_port)
        counts[pid if pid is not None else -1] = counts.get(pid if pid is not None else -1, 0) + 1
        kept.append(conn)
    return kept, counts


@dataclass
class PhaseResult:
    """One timed phase over all connections."""

    name: str
    requests: int
    elapsed: float
    latencies: list[float]
    client_cpu: float
    exhausted: int  # connections that ran out of pre-built requests before the deadline

    @property
    def rate(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0


async def _drive(conn: Conn, source: Source, deadline: float, latencies: list[float]) -> bool:
    """Closed loop on one connection until the deadline; True if the source ran dry first."""
    clock = time.perf_counter
    reader, writer = conn.reader, conn.writer
    body_of = conn._body  # noqa: SLF001
    while clock() < deadline:
        data = source.next_request()
        if data is None:
            return True
        started = clock()
        writer.write(data)
        head = await reader.readuntil(_HEAD_END)
        body = await body_of(head)
        latencies.append(clock() - started)
        source.on_response(int(head[9:12]), body)
    return False


async def _drive_paced(conn: Conn, source: Source, first_at: float, interval: float, deadline: float,
                      latencies: list[float]) -> bool:
    """Open loop on one connection: a request every `interval` seconds from `first_at`, each timed from when
    it was due (a late answer delays the next send, and that delay counts: no coordinated omission)."""
    clock = time.perf_counter
    reader, writer = conn.reader, conn.writer
    body_of = conn._body  # noqa: SLF001
    due = first_at
    while due < deadline:
        wait = due - clock()
        if wait > 0:
            await asyncio.sleep(wait)
        data = source.next_request()
        if data is None:
            return True
        writer.write(data)
        head = await reader.readuntil(_HEAD_END)
        body = await body_of(head)
        latencies.append(clock() - due)
        source.on_response(int(head[9:12]), body)
        due += interval
    return False


async def run_phase(name: str, conns: Sequence[Conn], sources: Sequence[Source], seconds: float, *,
                    rate: float | None = None) -> PhaseResult:
    """Drive every connection with its source for `seconds`; requests in flight at the deadline finish
    and count (the elapsed time runs to the last of them). With `rate` (requests per second in all) the
    connections send on a schedule, spread evenly, instead of each as soon as its last answer came."""
    latencies: list[float] = []
    gc.collect()
    gc.disable()
    try:
        cpu0 = time.process_time()
        start = time.perf_counter()
        deadline = start + seconds
        if rate:
            interval = len(conns) / rate
            dry = await asyncio.gather(*(_drive_paced(c, s, start + i * interval / len(conns), interval, deadline,
                                                      latencies)
                                         for i, (c, s) in enumerate(zip(conns, sources, strict=True))))
        else:
            dry = await asyncio.gather(*(_drive(c, s, deadline, latencies)
                                         for c, s in zip(conns, sources, strict=True)))
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu0
    finally:
        gc.enable()
    return PhaseResult(name, len(latencies), elapsed, latencies, cpu, sum(dry))


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) of already sorted values, nearest rank."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


# --- processes and sockets, from /proc (Linux) -------------------------------------------------

_CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK  # utime, stime (fields 14, 15)


def children(pid: int) -> list[int]:
    """Direct child processes of `pid`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if ppid == pid:
            found.append(int(entry))
    return sorted(found)


def cmdline(pid: int) -> str:
    """The command line of a process, spaces between arguments."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except FileNotFoundError:
        return ""


def socket_owner_finder(server_port: int, pids: Sequence[int]) -> Callable[[int], int | None]:
    """A function naming which of `pids` serves the connection from a local (client) port."""

    def owner(client_port: int) -> int | None:
        inodes: dict[int, int] = {}
        for pid in pids:
            fd_dir = f"/proc/{pid}/fd"
            for fd in os.listdir(fd_dir):
                try:
                    link = os.readlink(f"{fd_dir}/{fd}")
                except FileNotFoundError:
                    continue
                if link.startswith("socket:["):
                    inodes[int(link[8:-1])] = pid
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                with open(table) as f:
                    rows = f.readlines()[1:]
            except FileNotFoundError:
                continue
            for row in rows:
                parts = row.split()
                local_port = int(parts[1].rsplit(":", 1)[1], 16)
                remote_port = int(parts[2].rsplit(":", 1)[1], 16)
                if local_port == server_port and remote_port == client_port and int(parts[9]) in inodes:
                    return inodes[int(parts[9])]
        return None

    return owner
