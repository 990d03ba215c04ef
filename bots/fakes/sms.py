"""A fake of the HTTP SMS gateway (SMS_SENDER=http): a real HTTP server on loopback, for tests and dev.

It checks the body's signature (`X-Gateway-Signature`, bots/sms.py) when it has a secret, takes
`{"phone": "1xxxxxxxxxx", "text": "..."}`, records what it accepted (`sent`) and lets a test inject
HTTP failures (`fail_next`). `entry_url` is what SMS_HTTP_URL is set to.
"""

from __future__ import annotations

import hmac
import json
import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from bots.fakes.server import LoopbackFake
from bots.sms import signature
from tickets.clock import utcnow

PATH = "/sms/send"
_MOBILE = re.compile(r"1[3-9][0-9]{9}")


def _json(status: int, payload: dict[str, Any]) -> tuple[int, str, bytes]:
    return status, "application/json; charset=utf-8", json.dumps(payload, ensure_ascii=False).encode()


class FakeSmsGateway(LoopbackFake):
    """An SMS gateway that accepts signed texts. Thread-safe."""

    thread_name = "fake-sms"

    def __init__(self, secret: str = "") -> None:
        super().__init__()
        self.secret = secret
        self.sent: list[dict[str, Any]] = []  # accepted: phone, text, at
        self.refused = 0
        self._lock = threading.Lock()
        self._failures: list[list[int]] = []  # [HTTP status, times left]

    @property
    def entry_url(self) -> str:
        """The URL to configure as SMS_HTTP_URL."""
        return self.root_url + PATH

    def fail_next(self, status: int, times: int = 1) -> None:
        """Answer the next `times` texts with HTTP `status`."""
        with self._lock:
            self._failures.append([status, times])

    def texts_to(self, phone: str) -> list[str]:
        """Texts accepted for `phone`, oldest first."""
        with self._lock:
            return [m["text"] for m in self.sent if m["phone"] == phone]

    def last_code(self, phone: str) -> str:
        """The 6-digit code in the newest text to `phone`."""
        texts = self.texts_to(phone)
        found = re.search(r"(?<!\d)\d{6}(?!\d)", texts[-1]) if texts else None
        if found is None:
            raise LookupError("no code was texted to this number")
        return found.group(0)

    def handle(self, method: str, target: str, content_type: str, body: bytes) -> tuple[int, str, bytes]:
        """Answer one request without its headers: as an unsigned text."""
        status, ctype, payload, _ = self.respond(method, target, {"content-type": content_type}, body)
        return status, ctype, payload

    def respond(self, method: str, target: str, headers: Mapping[str, str],
                body: bytes) -> tuple[int, str, bytes, dict[str, str]]:
        """Check and record one text."""
        return (*self._answer(method, target, headers, body), {})

    def _answer(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> tuple[int, str, bytes]:
        if method != "POST" or urlsplit(target).path != PATH:
            return _json(404, {"error": "not found"})
        with self._lock:
            if self._failures:
                failure = self._failures[0]
                failure[1] -= 1
                if failure[1] <= 0:
                    self._failures.pop(0)
                return _json(failure[0], {"error": "injected failure"})
            if self.secret and not hmac.compare_digest(headers.get("x-gateway-signature", ""),
                                                       signature(self.secret, body)):
                self.refused += 1
                return _json(403, {"error": "bad signature"})
            try:
                message = json.loads(body)
            except ValueError:
                return _json(400, {"error": "body is not JSON"})
            if (not isinstance(message, dict) or not _MOBILE.fullmatch(str(message.get("phone", "")))
                    or not isinstance(message.get("text"), str) or not message["text"]):
                return _json(400, {"error": "phone and text required"})
            self.sent.append({"phone": message["phone"], "text": message["text"], "at": utcnow()})
            return _json(200, {"ok": True})
