"""The loopback HTTP server under the platform fakes (fake_wechat.py, fake_alipay.py).

A fake is a real HTTP server on 127.0.0.1 in a daemon thread, so tests and the dev mode reach it
exactly as they would reach the platform. Subclasses answer `handle(method, target, content_type,
body) -> (status, content type, payload)`; one that needs the request headers or sends extra
ones (a redirect's Location) overrides `respond` instead.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, cast


class LoopbackFake:
    """Start, stop and serve; the platform's behaviour lives in `handle`."""

    thread_name = "fake-platform"

    def __init__(self) -> None:
        self._server: _Server | None = None

    def handle(self, method: str, target: str, content_type: str, body: bytes) -> tuple[int, str, bytes]:
        """Answer one request."""
        raise NotImplementedError

    def respond(self, method: str, target: str, headers: Mapping[str, str],
                body: bytes) -> tuple[int, str, bytes, dict[str, str]]:
        """Answer one request with extra response headers; `headers` has lower-case names."""
        status, content_type, payload = self.handle(method, target, headers.get("content-type", ""), body)
        return status, content_type, payload, {}

    def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1 (`port` 0: any free one) in a daemon thread; returns `entry_url`."""
        if self._server is None:
            self._server = _Server(("127.0.0.1", port), _Handler)
            self._server.fake = self
            threading.Thread(target=self._server.serve_forever, args=(0.05,), name=self.thread_name,
                             daemon=True).start()
        return self.entry_url

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def entry_url(self) -> str:
        """The URL clients are configured with (the platform's API root or gateway)."""
        return self.root_url

    @property
    def root_url(self) -> str:
        """`http://127.0.0.1:<port>` of the running server."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: LoopbackFake

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and hung up is what latency tests do on purpose.
        if not isinstance(sys.exception(), ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two sends: without it each answer waits ~40 ms

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fake = cast(_Server, self.server).fake
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, content_type, payload, extra = fake.respond(self.command, self.path, headers, body)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass
