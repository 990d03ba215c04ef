"""Human-readable ticket numbers and unguessable tracking codes."""

from __future__ import annotations

import re
import secrets
from datetime import date

import sqlalchemy as sa

from tickets.db import dialect_insert
from tickets.schema import counters

# No 0/O, 1/I/L: codes are read aloud and typed by elderly citizens.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TRACKING_CODE_LENGTH = 10  # 31**10 ≈ 8e14: not guessable by scanning
_NUMBER = re.compile(r"^(\d{8})-?(\d{4,6})$")


def new_tracking_code() -> str:
    """A random code for the public progress page `/t/{code}`."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(TRACKING_CODE_LENGTH))


def next_ticket_number(conn: sa.Connection, local_day: date) -> str:
    """The next number of the city's local day, e.g. `20261123-0042`, unique under concurrency."""
    name = f"ticket:{local_day:%Y%m%d}"
    stmt = dialect_insert(conn, counters).values(name=name, value=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[counters.c.name], set_={"value": counters.c.value + 1}
    ).returning(counters.c.value)
    value = conn.execute(stmt).scalar_one()
    return f"{local_day:%Y%m%d}-{value:04d}"


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
