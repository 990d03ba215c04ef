"""Deadlines on the working-day calendar: China's 2026 holidays and make-up working days (调休)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tickets.deadlines.policy import CATALOGUE, Rule, load_policy
from tickets.deadlines.workdays import load_calendar
from tickets.errors import ConfigurationError

TZ = ZoneInfo("Asia/Shanghai")
HOLIDAYS = sorted((CATALOGUE / "holidays").glob("*.toml"))
DAYS = load_calendar(TZ, HOLIDAYS)  # whole working days, no business hours
HOURS = load_calendar(TZ, HOLIDAYS, ("09:00", "18:00"))


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def test_the_2026_file_knows_holidays_and_make_up_days() -> None:
    assert not DAYS.is_working_day(date(2026, 10, 1))  # National Day, a Thursday
    assert not DAYS.is_working_day(date(2026, 2, 16))  # Spring Festival, a Monday
    assert DAYS.is_working_day(date(2026, 10, 10))  # make-up working Saturday
    assert DAYS.is_working_day(date(2026, 1, 4))  # make-up working Sunday
    assert not DAYS.is_working_day(date(2026, 3, 7))  # an ordinary Saturday
    assert DAYS.is_working_day(date(2026, 3, 9))  # an ordinary Monday
    assert DAYS.years == frozenset({2026})


@pytest.mark.parametrize(("start", "days", "due"), [
    # An ordinary week: Friday + 3 working days is Wednesday, same clock time.
    (at(3, 6, 10), 3, at(3, 11, 10)),
    # Across National Day: Tue 29 Sep + 3 -> Wed 30 Sep, then the holiday 1-7 Oct, Thu 8, Fri 9 Oct.
    (at(9, 29, 15), 3, at(10, 9, 15)),
    # Into the make-up Saturday 10 Oct: Fri 9 Oct + 1 is Saturday 10 Oct.
    (at(10, 9, 11), 1, at(10, 10, 11)),
    # Received on a holiday: counting starts when work resumes (Thu 8 Oct 00:00) -> Fri 9, Sat 10, Mon 12.
    (at(10, 3, 20), 3, at(10, 12, 0)),
    # Make-up Sunday 20 Sep counts: Fri 18 Sep + 1 is Sunday 20 Sep.
    (at(9, 18, 9), 1, at(9, 20, 9)),
    # Spring Festival: Fri 13 Feb + 1 is the make-up Saturday 14 Feb; + 2 jumps the 15-23 Feb holiday.
    (at(2, 13, 16), 1, at(2, 14, 16)),
    (at(2, 13, 16), 2, at(2, 24, 16)),
])
def test_working_days(start: datetime, days: int, due: datetime) -> None:
    assert DAYS.add_working_days(start, days) == due


@pytest.mark.parametrize(("start", "hours", "due"), [
    (at(3, 9, 10), 1, at(3, 9, 11)),  # inside business hours
    (at(3, 9, 17, 30), 1, at(3, 10, 9, 30)),  # half an hour today, half tomorrow morning
    (at(3, 9, 20), 1, at(3, 10, 10)),  # after closing: from next opening
    (at(9, 30, 17, 45), 1, at(10, 8, 9, 45)),  # the eve of National Day: the rest when work resumes on 8 Oct
])
def test_working_hours_with_business_hours(start: datetime, hours: float, due: datetime) -> None:
    assert HOURS.add_working_hours(start, hours) == due


def test_working_hours_across_a_make_up_saturday() -> None:
    # Friday 9 Oct 17:00 + 2 working hours: one hour Friday, one hour on the make-up Saturday 10 Oct.
    assert HOURS.add_working_hours(at(10, 9, 17), 2) == at(10, 10, 10)
    # Without business hours a working hour on a holiday eve spills into the next working day at midnight.
    assert DAYS.add_working_hours(at(9, 30, 23, 30), 1) == at(10, 8, 0, 30)


def test_policy_picks_the_most_specific_rule() -> None:
    policy = load_policy(TZ)
    assert policy.rule_for("unpaid_wages", "consultation").hours == 1
    assert policy.rule_for("unpaid_wages", "complaint").working_days == 3
    assert policy.rule_for("", "consultation").working_days == 1
    assert policy.rule_for("nowhere", "").name == "/"
    opened = datetime(2026, 9, 30, 9, 30, tzinfo=UTC)  # 17:30 in Shanghai, the eve of National Day
    assert policy.due(Rule(hours=1), opened) == at(10, 8, 9, 30)


def test_bad_files_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "2027.toml"
    bad.write_text('year = 2027\nholidays = [{ name = "x", first = 2026-01-01, last = 2026-01-02 }]\n')
    with pytest.raises(ConfigurationError, match="every date must be in 2027"):
        load_calendar(TZ, [bad])
    bad.unlink()
    rules = tmp_path / "rules.txt"  # beside the (now empty) holidays folder
    rules.write_text('[[rule]]\nzone = "x"\ntype = ""\nhours = 1\nworking_days = 2\n')
    with pytest.raises(ConfigurationError, match="either hours or working_days"):
        load_policy(TZ, rules, tmp_path)
    rules.write_text('[[rule]]\nzone = "x"\ntype = ""\nhours = 1\n')
    with pytest.raises(ConfigurationError, match="default"):
        load_policy(TZ, rules, tmp_path)
    with pytest.raises(ConfigurationError, match="open before"):
        load_calendar(TZ, [], ("18:00", "09:00"))
