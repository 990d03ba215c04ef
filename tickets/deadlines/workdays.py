"""The working-day calendar deadlines are counted on: weekends, public holidays, make-up working days (调休).

Each year's holidays and make-up working days come from a file (catalogue/holidays/<year>.toml); a year
without one counts only weekends as days off. Business hours are optional: with them, working hours count
only between opening and closing, and a moment outside them starts at the next opening.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tickets.errors import ConfigurationError

# A deadline further than this many calendar days away is a configuration mistake, not a date.
MAX_SPAN_DAYS = 800


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """Which days are worked, and when, in the city's time zone."""

    tz: ZoneInfo
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()  # weekend days worked in exchange for a holiday
    opens: time | None = None
    closes: time | None = None
    years: frozenset[int] = field(default=frozenset())  # years whose holidays were loaded

    def __post_init__(self) -> None:
        if (self.opens is None) != (self.closes is None):
            raise ConfigurationError("business hours need both an opening and a closing time")
        if self.opens is not None and self.closes is not None and self.opens >= self.closes:
            raise ConfigurationError("business hours must open before they close")

    def is_working_day(self, day: date) -> bool:
        """A make-up working day works; a holiday does not; otherwise Monday to Friday."""
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def _window(self, day: date) -> tuple[datetime, datetime]:
        """The day's working hours as aware datetimes (the whole day without business hours)."""
        if self.opens is None or self.closes is None:
            start = datetime.combine(day, time(0), self.tz)
            return start, datetime.combine(day + timedelta(days=1), time(0), self.tz)
        return datetime.combine(day, self.opens, self.tz), datetime.combine(day, self.closes, self.tz)

    def next_working_moment(self, moment: datetime) -> datetime:
        """`moment` if it falls in working hours, else the start of the next working hours."""
        day = moment.astimezone(self.tz).date()
        for _ in range(MAX_SPAN_DAYS):
            if self.is_working_day(day):
                start, end = self._window(day)
                if moment < end:
                    return max(moment, start)
            day += timedelta(days=1)
        raise ConfigurationError("no working day within the calendar's span")

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The same clock time `days` working days after the first working moment from `start`.

        Friday 10:00 + 3 is Wednesday 10:00; a ticket received on a holiday starts counting when work
        resumes.
        """
        first = self.next_working_moment(start).astimezone(self.tz)
        day, clock = first.date(), first.timetz().replace(tzinfo=None)
        for _ in range(days):
            day += timedelta(days=1)
            for _ in range(MAX_SPAN_DAYS):
                if self.is_working_day(day):
                    break
                day += timedelta(days=1)
        return datetime.combine(day, clock, self.tz)

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The moment `hours` of working time after `start` (time off does not count)."""
        remaining = timedelta(hours=hours)
        moment = self.next_working_moment(start)
        for _ in range(MAX_SPAN_DAYS):
            _, end = self._window(moment.astimezone(self.tz).date())
            if remaining <= end - moment:
                return moment + remaining
            remaining -= end - moment
            moment = self.next_working_moment(end)
        raise ConfigurationError("working hours beyond the calendar's span")


def _dates(value: object, where: str) -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ConfigurationError(f"{where}: expected a date like 2026-10-01, got {value!r}")
    return value


def read_year(path: Path) -> tuple[int, set[date], set[date]]:
    """(year, holidays, make-up working days) from one holidays file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"holidays file {path.name}: {exc}") from exc
    year = data.get("year")
    if not isinstance(year, int):
        raise ConfigurationError(f"holidays file {path.name}: `year` must be a number")
    holidays: set[date] = set()
    for entry in data.get("holidays", []):
        first = _dates(entry.get("first"), f"{path.name} {entry.get('name', '')}")
        last = _dates(entry.get("last", first), f"{path.name} {entry.get('name', '')}")
        if last < first or (last - first).days > 31:
            raise ConfigurationError(f"holidays file {path.name}: range {first}..{last} is not a holiday")
        holidays.update(first + timedelta(days=n) for n in range((last - first).days + 1))
    workdays = {_dates(d, f"{path.name} workdays") for d in data.get("workdays", [])}
    if any(d.year != year for d in holidays | workdays):
        raise ConfigurationError(f"holidays file {path.name}: every date must be in {year}")
    if holidays & workdays:
        raise ConfigurationError(f"holidays file {path.name}: a day is both a holiday and a working day")
    return year, holidays, workdays


def load_calendar(tz: ZoneInfo, holiday_files: Iterable[Path], business_hours: tuple[str, str] | None = None
                  ) -> WorkCalendar:
    """A calendar from holidays files and optional business hours ("09:00", "18:00")."""
    holidays: set[date] = set()
    workdays: set[date] = set()
    years: set[int] = set()
    for path in sorted(holiday_files):
        year, days_off, days_on = read_year(path)
        if year in years:
            raise ConfigurationError(f"holidays of {year} given twice")
        years.add(year)
        holidays |= days_off
        workdays |= days_on
    opens = closes = None
    if business_hours is not None:
        try:
            opens, closes = (time.fromisoformat(t) for t in business_hours)
        except ValueError as exc:
            raise ConfigurationError(f"business hours {business_hours!r}: {exc}") from exc
    return WorkCalendar(tz, frozenset(holidays), frozenset(workdays), opens, closes, frozenset(years))
