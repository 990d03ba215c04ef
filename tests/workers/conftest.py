"""Fixtures of the worker tests: the local fake of WeChat's API and a worker context wired to it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bots.fakes.wechat import FakeWeChat
from tests.conftest import WECHAT_API_SECRET
from tickets.settings import Settings
from workers.context import WorkerContext, install

SECRET = WECHAT_API_SECRET


@pytest.fixture
def fake(wechat_api: FakeWeChat) -> FakeWeChat:
    """WeChat's API on loopback; the settings point at it (tests/conftest.py)."""
    return wechat_api


@pytest.fixture
def context(settings: Settings, engine: Engine, fake: FakeWeChat) -> Iterator[WorkerContext]:
    """The jobs' context for this test's database and fake."""
    ctx = WorkerContext.build(settings, engine)
    install(ctx)
    yield ctx
    ctx.close()


@dataclass
class Receiver:
    """A webhook endpoint on loopback: what it received (path, headers, body), and the status it answers."""

    url: str = ""
    status: int = 200
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """The dispatch system's (or any) webhook endpoint, as a real HTTP server."""
    got = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.received.append((self.path, dict(self.headers), body))
            self.send_response(got.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    got.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield got
    server.shutdown()
    server.server_close()
