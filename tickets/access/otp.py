"""One-time codes texted to a phone to prove it (co-signers outside WeChat and Alipay).

Only keyed hashes are stored: of the phone number, and of the code bound to that number and
purpose, so the table holds neither. A code is 6 digits, lives 5 minutes, allows 5 tries, and is
used once; only the newest code of a number and purpose counts (asking again replaces the old
one). Every check is one conditional UPDATE, so two submissions of the same code cannot both pass.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa

from tickets.storage.schema import one_time_codes

CODE_DIGITS = 6
LIFETIME = timedelta(minutes=5)
MAX_TRIES = 5
KEEP = timedelta(days=1)  # rows older than this past their expiry are purged
COSIGN = "cosign"

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_PHONE_NOISE = re.compile(r"[\s\-()（）]")
_CODE = re.compile(r"[0-9]{6}")


class Check(StrEnum):
    """What checking a code found."""

    OK = "ok"
    WRONG = "wrong"  # a try used up; `tries_left` says how many remain
    EXPIRED = "expired"
    USED = "used"  # the newest code was used already: a replay
    TOO_MANY = "too_many"  # the code's tries are used up
    NONE = "none"  # no code was asked for this number


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of a check."""

    check: Check
    tries_left: int = 0


def otp_key(secret_key: str) -> bytes:
    """The key of the stored hashes, derived from SECRET_KEY (useless for anything else derived from it)."""
    return hmac.new(secret_key.encode(), b"petition-gateway/one-time-code/v1", hashlib.sha256).digest()


def normalise_phone(text: str) -> str | None:
    """A mainland mobile number as 11 digits (spaces, dashes and a +86 prefix allowed), or None."""
    digits = _PHONE_NOISE.sub("", text.strip())
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == 11 + len(prefix):
            digits = digits[len(prefix):]
            break
    return digits if _MOBILE.fullmatch(digits) else None


def normalise_code(text: str) -> str | None:
    """Six digits (spaces allowed between them), or None."""
    digits = re.sub(r"\s", "", text)
    return digits if _CODE.fullmatch(digits) else None


def phone_hash(key: bytes, phone: str) -> str:
    """The stored form of a phone number."""
    return hmac.new(key, f"phone\x00{phone}".encode(), hashlib.sha256).hexdigest()


def _code_hash(key: bytes, phone: str, purpose: str, code: str) -> str:
    return hmac.new(key, f"code\x00{purpose}\x00{phone}\x00{code}".encode(), hashlib.sha256).hexdigest()


def issue(conn: sa.Connection, key: bytes, phone: str, *, purpose: str, now: datetime) -> str:
    """Store a new code for `phone` and return it (to be texted, never logged)."""
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    conn.execute(sa.insert(one_time_codes).values(
        phone_hash=phone_hash(key, phone), code_hash=_code_hash(key, phone, purpose, code), purpose=purpose,
        attempts=0, created_at=now, expires_at=now + LIFETIME,
    ))
    return code


def check(conn: sa.Connection, key: bytes, phone: str, code: str, *, purpose: str, now: datetime) -> CheckResult:
    """Check `code` against the newest code of `phone`; a right one is used up, a wrong one costs a try."""
    row = conn.execute(
        sa.select(one_time_codes.c.id, one_time_codes.c.code_hash, one_time_codes.c.attempts,
                  one_time_codes.c.expires_at, one_time_codes.c.used_at)
        .where(one_time_codes.c.phone_hash == phone_hash(key, phone), one_time_codes.c.purpose == purpose)
        .order_by(one_time_codes.c.id.desc()).limit(1)
    ).one_or_none()
    if row is None:
        return CheckResult(Check.NONE)
    if row.used_at is not None:
        return CheckResult(Check.USED)
    if now >= row.expires_at:
        return CheckResult(Check.EXPIRED)
    if row.attempts >= MAX_TRIES:
        return CheckResult(Check.TOO_MANY)
    right = hmac.compare_digest(_code_hash(key, phone, purpose, code), row.code_hash)
    # The conditions repeat what was read: a concurrent check that got there first wins, this one loses.
    open_code = sa.and_(one_time_codes.c.id == row.id, one_time_codes.c.used_at.is_(None),
                        one_time_codes.c.attempts < MAX_TRIES)
    values: dict[str, object] = {"attempts": one_time_codes.c.attempts + 1}
    if right:
        values["used_at"] = now
    updated = conn.execute(sa.update(one_time_codes).where(open_code).values(values)
                           .returning(one_time_codes.c.attempts)).one_or_none()
    if updated is None:  # used or tried out meanwhile
        return CheckResult(Check.USED if right else Check.TOO_MANY)
    if right:
        return CheckResult(Check.OK)
    left = MAX_TRIES - int(updated.attempts)
    return CheckResult(Check.WRONG, left) if left > 0 else CheckResult(Check.TOO_MANY)


def purge(conn: sa.Connection, now: datetime) -> int:
    """Delete codes long past their expiry; returns how many."""
    result = conn.execute(sa.delete(one_time_codes).where(one_time_codes.c.expires_at < now - KEEP))
    return int(result.rowcount)
