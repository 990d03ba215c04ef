"""Text messages to phones: one-time codes for co-signers, and progress for those who consented.

Two senders behind one interface (SMS_SENDER):

- `console` (dev): writes the text to the log with the number masked; in dev that is how the code
  is read. Outside dev the text is left out of the log (it carries a code), so no code leaks.
- `http`: POSTs `{"phone", "text"}` as JSON to SMS_HTTP_URL, the city's SMS gateway or a relay in
  front of a provider, signed `X-Gateway-Signature: sha256=<hex HMAC-SHA256 of the body>` with
  SMS_HTTP_SECRET (the same scheme as the gateway's outgoing webhooks).

    GatewayError
    └── SmsError        the text was not accepted; `retryable` for network trouble and 5xx/429
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Protocol

import httpx

from tickets.errors import GatewayError
from tickets.masking import mask_phone
from tickets.settings import Settings

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Gateway-Signature"
DEFAULT_TIMEOUT = httpx.Timeout(5.0, connect=2.0)


class SmsError(GatewayError):
    """The SMS gateway did not take the text; never carries the number or the text."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class SmsSender(Protocol):
    """Sends one text to one mainland mobile number."""

    def send(self, phone: str, text: str) -> None:
        """Send `text` to `phone` (11 digits); raises SmsError."""


def signature(secret: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the body>`, what the SMS gateway checks."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class ConsoleSmsSender:
    """Logs the text instead of sending it (the number masked); `reveal` False leaves the text out."""

    def __init__(self, *, reveal: bool) -> None:
        self.reveal = reveal

    def send(self, phone: str, text: str) -> None:
        """Log the text."""
        if self.reveal:
            log.info("sms to %s (console sender): %s", mask_phone(phone), text)
        else:  # outside dev nobody reads the log: say so, rather than let a citizen wait for a code
            log.error("sms to %s not sent: SMS_SENDER=console outside dev; set SMS_SENDER=http", mask_phone(phone))
            raise SmsError("no SMS gateway configured (SMS_SENDER=console outside dev)", retryable=False)


class HttpSmsSender:
    """Posts texts to an HTTP SMS gateway, signed with the shared secret."""

    def __init__(self, url: str, secret: str, http: httpx.Client, *, timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> None:
        self._url = url
        self._secret = secret
        self._http = http
        self._timeout = timeout

    def send(self, phone: str, text: str) -> None:
        """POST the text; 2xx is sent, 5xx/429/network are retryable, other answers are not."""
        body = json.dumps({"phone": phone, "text": text}, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self._secret:
            headers[SIGNATURE_HEADER] = signature(self._secret, body)
        try:
            response = self._http.post(self._url, content=body, headers=headers, timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise SmsError(f"sms gateway: {type(exc).__name__}", retryable=True) from exc
        if response.status_code < 300:
            log.info("sms to %s accepted", mask_phone(phone))
            return
        retryable = response.status_code >= 500 or response.status_code in (408, 429)
        raise SmsError(f"sms gateway: HTTP {response.status_code}", retryable=retryable)


def build_sender(settings: Settings, http: httpx.Client) -> SmsSender:
    """The sender SMS_SENDER names."""
    if settings.sms_sender == "http":
        return HttpSmsSender(settings.sms_http_url, settings.sms_http_secret, http)
    return ConsoleSmsSender(reveal=settings.is_dev)
