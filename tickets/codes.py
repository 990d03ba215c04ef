"""Human-readable ticket numbers, unguessable tracking codes, and the rating token of the filer's link."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import date

import sqlalchemy as sa

from tickets.storage import fastsql

# No 0/O, 1/I/L: codes are read aloud and typed by elderly citizens.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TRACKING_CODE_LENGTH = 10  # 31**10 ≈ 8e14: not guessable by scanning
_NUMBER = re.compile(r"^(\d{8})-?(\d{4,6})$")


_UNBIASED = 256 - 256 % len(_ALPHABET)  # random bytes at or above this are dropped
_NEXT_NUMBER = fastsql.Sql(
    "INSERT INTO counters (name, value) VALUES (?, 1)"
    " ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value"
)


def new_tracking_code() -> str:
    """A random code for the public progress page `/t/{code}`."""
    # One read of the system's random source, not one per character as with `secrets.choice`; dropping
    # the bytes at or above `_UNBIASED` keeps every character equally likely.
    code: list[str] = []
    while len(code) < TRACKING_CODE_LENGTH:
        code += [_ALPHABET[b % len(_ALPHABET)] for b in secrets.token_bytes(16) if b < _UNBIASED]
    return "".join(code[:TRACKING_CODE_LENGTH])


def next_ticket_number(conn: sa.Connection, local_day: date) -> str:
    """The next number of the city's local day, e.g. `20261123-0042`, unique under concurrency."""
    day = f"{local_day.year:04d}{local_day.month:02d}{local_day.day:02d}"
    if conn.dialect.name != "postgresql":
        # SQLite has one writer at a time: the opening transaction holds the whole database anyway.
        [(value,)] = fastsql.fetch(conn, _NEXT_NUMBER, (f"ticket:{day}",))
        return f"{day}-{value:04d}"
    # On PostgreSQL the day's counter row is taken by a statement of its own, committed at once: held to
    # the end of the opening transaction (classification, deadline, dispatch event, the chat's own writes),
    # it made every ticket of the city wait for the one before it, and under load the waits ran out
    # (docs/performance.md). In autocommit, one round trip instead of three (BEGIN, the upsert, COMMIT).
    # An opening that rolls back leaves a gap in the day's numbers.
    with conn.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as own:
        [(value,)] = fastsql.fetch(own, _NEXT_NUMBER, (f"ticket:{day}",))
    return f"{day}-{value:04d}"


def parse_ticket_number(text: str) -> str | None:
    """The canonical number in `text` ("20261123-0042", "202611230042"), or None."""
    match = _NUMBER.match(text.strip())
    if not match:
        return None
    return f"{match.group(1)}-{int(match.group(2)):04d}"


def looks_like_tracking_code(text: str) -> bool:
    """Whether `text` has the shape of a tracking code."""
    text = text.strip().upper()
    return len(text) == TRACKING_CODE_LENGTH and all(c in _ALPHABET for c in text)


# Anyone holding a tracking code sees the progress page (co-signers get it by text message); only the citizen who
# filed the ticket rates it. Their evaluation notices carry `/t/{code}?r={token}`: an HMAC of the code under a key
# derived from SECRET_KEY, which the page checks before it shows or takes the rating form.
_RATING_LABEL = b"petition-gateway/rating-link/v1"
RATING_TOKEN_CHARS = 22  # 16 bytes of the HMAC in unpadded base64url


def rating_key(secret_key: str) -> bytes:
    """The key of rating tokens, derived from SECRET_KEY (useless for anything else derived from it)."""
    return hmac.new(secret_key.encode(), _RATING_LABEL, hashlib.sha256).digest()


def rating_token(key: bytes, tracking_code: str) -> str:
    """The token that lets the filer rate the ticket of `tracking_code` from its progress page."""
    mac = hmac.new(key, f"rate:{tracking_code.upper()}".encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def rating_token_ok(key: bytes, tracking_code: str, token: str) -> bool:
    """Whether `token` is the rating token of this tracking code (compared in constant time)."""
    if len(token) != RATING_TOKEN_CHARS:
        return False
    return hmac.compare_digest(token.encode(), rating_token(key, tracking_code).encode())
