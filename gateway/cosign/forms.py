"""The co-sign forms: a capped form reader, CSRF tokens, OAuth `state` bound to the browser, field checks.

CSRF follows gateway/tracking.py: a random nonce in a cookie, and in the form an HMAC of the
nonce and the petition, compared in constant time. An OAuth `state` is the same idea across the trip
to WeChat or Alipay and back: an HMAC over the provider, the petition, a nonce kept in a cookie
scoped to the callback's path and the time it was issued. A callback whose state does not match the
browser's cookie (forged, or replayed after the cookie was spent) is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from urllib.parse import parse_qsl

from fastapi import Request

from gateway.deps import read_capped
from tickets.errors import PayloadTooLarge

FORM_MAX_BYTES = 2048  # the largest honest form (name, CSRF token, consent) is a few hundred bytes
MAX_FIELDS = 8
NAME_MAX_CHARS = 20
STATE_SECONDS = 10 * 60


async def read_form(request: Request) -> dict[str, str] | None:
    """The urlencoded form, or None when it is too large, repeats a field or is not a form at all."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return None
    try:
        body = await read_capped(request, FORM_MAX_BYTES)
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except (PayloadTooLarge, UnicodeDecodeError, ValueError):
        return None
    form = dict(pairs)
    return form if len(form) == len(pairs) else None


def clean_name(text: str) -> str | None:
    """The optional 称呼: trimmed, one line, at most 20 characters; None when it cannot be taken."""
    name = " ".join(text.split())
    if len(name) > NAME_MAX_CHARS or any(unicodedata.category(ch) == "Cc" for ch in name):
        return None
    return name


def new_nonce() -> str:
    """A fresh random nonce for a cookie."""
    return secrets.token_urlsafe(16)


def csrf_token(key: bytes, petition_id: int, nonce: str) -> str:
    """The token the forms of one petition carry for the browser holding `nonce`."""
    return hmac.new(key, f"cosign:{petition_id}:{nonce}".encode(), hashlib.sha256).hexdigest()


def csrf_ok(key: bytes, petition_id: int, nonce: str | None, given: str | None) -> bool:
    """Whether a form's token matches the browser's nonce cookie."""
    if not nonce or not given:
        return False
    return hmac.compare_digest(given.encode(), csrf_token(key, petition_id, nonce).encode())


def oauth_cookie(now: float) -> str:
    """The value of the cookie that binds an OAuth trip to this browser: a nonce and the time."""
    return f"{new_nonce()}.{int(now)}"


def oauth_state(key: bytes, provider: str, petition_id: int, cookie: str) -> str:
    """The `state` sent to the provider (hex: WeChat allows a-zA-Z0-9 only, 128 at most)."""
    return hmac.new(key, f"oauth:{provider}:{petition_id}:{cookie}".encode(), hashlib.sha256).hexdigest()[:40]


def oauth_state_ok(key: bytes, provider: str, petition_id: int, cookie: str | None, state: str | None,
                   now: float) -> bool:
    """Whether a callback's `state` was issued to this browser, for this petition, within 10 minutes."""
    if not cookie or not state or len(state) > 128:
        return False
    _, _, issued = cookie.rpartition(".")
    if not issued.isdigit() or not 0 <= now - int(issued) <= STATE_SECONDS:
        return False
    return hmac.compare_digest(state.encode(), oauth_state(key, provider, petition_id, cookie).encode())
