"""What the city tells a citizen in danger, or with a matter that is not its own: numbers, advice, where to go.

The triage (language/triage) decides what a message is; this book, read from catalogue/triage.toml, says
what to answer: the emergency numbers first with one line of advice, the advice for an urgent danger, the
safety question when a danger is possible, and where a court case, an arbitration or a private dispute goes.
Another city edits that file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from language.triage import Decision, Kind, Triage
from language.triage.learned import examples_from, train
from tickets.errors import ConfigurationError
from tickets.settings import CATALOGUE_DIR

DEFAULT_PATH = CATALOGUE_DIR / "triage.toml"


@dataclass(frozen=True, slots=True)
class Service:
    """An emergency service: its name, its number ("" when the city has not set one), the advice to give."""

    key: str
    name: str
    number: str
    advice: str
    fallback: str = ""  # what to say instead of a number the city has not set

    @property
    def call(self) -> str:
        """The number to call, or where to find it."""
        return self.number or self.fallback


@dataclass(frozen=True, slots=True)
class Advice:
    """What to tell the citizen about a decision: the services to call, in order, and the lines of advice."""

    services: tuple[Service, ...]
    lines: tuple[str, ...]
    question: str = ""  # the one safety question of an unsure decision
    referral: str = ""  # where a matter that is not ours goes


@dataclass(frozen=True, slots=True)
class SafetyBook:
    """The city's emergency numbers and advice."""

    services: dict[str, Service]
    urgent: dict[str, str]
    urgent_default: str
    question: str
    referrals: dict[str, str]
    urgent_hours: float
    urgent_zones: dict[str, float]

    def advice(self, decision: Decision) -> Advice:
        """What to answer a decision with (empty for a normal one)."""
        if decision.kind is Kind.EMERGENCY:
            services = tuple(self.services[key] for key in decision.services if key in self.services)
            lines = tuple(dict.fromkeys(s.advice for s in services[:1]))
            return Advice(services, lines)
        if decision.kind is Kind.URGENT:
            lines = tuple(dict.fromkeys(self.urgent.get(c, self.urgent_default) for c in decision.concepts[:1]))
            return Advice((), lines)
        if decision.kind is Kind.UNSURE:
            return Advice((), (), question=self.question)
        if decision.kind is Kind.REDIRECT:
            concept = decision.concepts[0] if decision.concepts else "private"
            return Advice((), (), referral=self.referrals.get(concept, self.referrals.get("private", "")))
        return Advice((), ())

    def urgent_deadline_hours(self, zone: str) -> float:
        """How many clock hours an urgent ticket of `zone` has."""
        return self.urgent_zones.get(zone, self.urgent_hours)


def load(path: Path = DEFAULT_PATH) -> SafetyBook:
    """Read the book; raises ConfigurationError on a file that cannot work."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        services = {key: Service(key, str(v["name"]), str(v.get("number", "")), str(v["advice"]),
                                 str(v.get("fallback", ""))) for key, v in data["service"].items()}
        urgent = data["urgent"]
        deadlines = data.get("deadlines", {})
        book = SafetyBook(
            services=services, urgent={k: str(v) for k, v in urgent.get("advice", {}).items()},
            urgent_default=str(urgent["default"]), question=str(data["unsure"]["question"]),
            referrals={k: str(v["where"]) for k, v in data["referral"].items()},
            urgent_hours=float(deadlines.get("urgent_hours", 1.0)),
            urgent_zones={k: float(v) for k, v in deadlines.get("urgent_zones", {}).items()},
        )
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ConfigurationError(f"safety book {path}: {exc}") from exc
    for key in ("110", "119", "120", "122", "gas"):
        if key not in book.services:
            raise ConfigurationError(f"safety book {path}: service {key} is missing")
    if book.urgent_hours <= 0:
        raise ConfigurationError(f"safety book {path}: urgent_hours must be positive")
    for service in book.services.values():
        if not service.call:
            raise ConfigurationError(f"safety book {path}: service {service.key} needs a number or a fallback")
    return book


@cache
def book(path: Path = DEFAULT_PATH) -> SafetyBook:
    """The book of this file, read once per process."""
    return load(path)


@cache
def triager(training: Path = CATALOGUE_DIR / "training") -> Triage:
    """The triage with its learned second opinion, trained once per process on the catalogue's labelled lines
    (a second or two; a process builds it at start-up, not while a citizen waits)."""
    return Triage(train(examples_from(training)))
