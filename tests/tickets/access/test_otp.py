"""One-time codes on both backends: hashed storage, expiry, tries, single use, only the newest counts."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tickets.access import otp
from tickets.access.otp import Check, CheckResult
from tickets.clock import utcnow
from tickets.storage.schema import one_time_codes

KEY = otp.otp_key("y" * 40)
PHONE = "13912345678"


def issue(engine: Engine, phone: str = PHONE, at: timedelta = timedelta(0)) -> str:
    with engine.begin() as conn:
        return otp.issue(conn, KEY, phone, purpose=otp.COSIGN, now=utcnow() + at)


def check(engine: Engine, code: str, phone: str = PHONE, at: timedelta = timedelta(0)) -> CheckResult:
    with engine.begin() as conn:
        return otp.check(conn, KEY, phone, code, purpose=otp.COSIGN, now=utcnow() + at)


def other_than(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


@pytest.mark.parametrize(("text", "phone"), [
    ("13912345678", "13912345678"), (" 139 1234 5678 ", "13912345678"), ("+86 139-1234-5678", "13912345678"),
    ("008613912345678", "13912345678"), ("8613912345678", "13912345678"), ("12912345678", None),
    ("1391234567", None), ("139123456789", None), ("１３９１２３４５６７８", None), ("", None), ("phone", None),
])
def test_mainland_mobile_numbers(text: str, phone: str | None) -> None:
    assert otp.normalise_phone(text) == phone


def test_codes_are_six_digits() -> None:
    assert otp.normalise_code(" 123 456 ") == "123456"
    assert [otp.normalise_code(t) for t in ("12345", "1234567", "12a456", "１２３４５６")] == [None] * 4


def test_only_keyed_hashes_are_stored_and_a_right_code_works_once(engine: Engine) -> None:
    code = issue(engine)
    assert len(code) == 6 and code.isdigit()
    with engine.connect() as conn:
        row = conn.execute(sa.select(one_time_codes)).one()
    assert PHONE not in row.phone_hash and code not in row.code_hash and row.purpose == "cosign"
    assert row.expires_at - row.created_at == timedelta(minutes=5)
    assert check(engine, code) == CheckResult(Check.OK)
    assert check(engine, code).check is Check.USED  # replayed


def test_wrong_codes_use_up_five_tries(engine: Engine) -> None:
    code = issue(engine)
    assert [check(engine, other_than(code)) for _ in range(5)] == [
        CheckResult(Check.WRONG, 4), CheckResult(Check.WRONG, 3), CheckResult(Check.WRONG, 2),
        CheckResult(Check.WRONG, 1), CheckResult(Check.TOO_MANY)]
    assert check(engine, code).check is Check.TOO_MANY  # the right one is refused now too


def test_expiry_other_numbers_and_no_code(engine: Engine) -> None:
    assert check(engine, "123456").check is Check.NONE
    code = issue(engine)
    assert check(engine, code, phone="13800000000").check is Check.NONE
    assert check(engine, code, at=timedelta(minutes=5)).check is Check.EXPIRED
    assert check(engine, code, at=timedelta(minutes=4, seconds=59)).check is Check.OK


def test_a_new_code_replaces_the_old_one(engine: Engine) -> None:
    old = issue(engine)
    new = issue(engine, at=timedelta(seconds=1))
    if old != new:
        assert check(engine, old, at=timedelta(seconds=2)).check is Check.WRONG
    assert check(engine, new, at=timedelta(seconds=2)).check is Check.OK


def test_a_code_submitted_twice_at_once_passes_once(engine: Engine) -> None:
    code = issue(engine)
    results: list[Check] = []
    barrier = threading.Barrier(4)

    def submit() -> None:
        barrier.wait()
        results.append(check(engine, code).check)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == sorted([Check.OK, Check.USED, Check.USED, Check.USED])


def test_purge_keeps_recent_codes(engine: Engine) -> None:
    issue(engine, at=-timedelta(days=2))
    issue(engine)
    with engine.begin() as conn:
        assert otp.purge(conn, utcnow()) == 1
        assert conn.execute(sa.select(sa.func.count()).select_from(one_time_codes)).scalar_one() == 1
