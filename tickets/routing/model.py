"""The routing catalogue's parts (zones, categories, districts, units, referrals), as validated values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tickets.errors import ConfigurationError

TYPES = ("help", "consultation", "complaint", "report", "suggestion")
# Out-of-scope matters the chat knows how to refer (templates/messages/out_of_scope.j2 has a text for each).
REFERRALS = ("fire", "crime", "medical", "gas_leak", "traffic_accident", "litigation", "arbitration",
             "petition_procedure")
URGENCY_LEVELS = ("urgent", "high")
ID = re.compile(r"[a-z][a-z0-9_]{0,31}")
SECTIONS = frozenset({"title", "types", "urgency", "out_of_scope", "zones", "categories", "districts", "units"})


class CatalogueError(ConfigurationError):
    """A catalogue that cannot be used; `problems` says every reason, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("routing catalogue refused: " + "; ".join(problems[:10]))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Category:
    """What a request is about, and the words that say so."""

    id: str
    name: str
    zone: str
    keywords: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class District:
    """A district and the words that place an address in it."""

    id: str
    name: str
    words: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Unit:
    """A responsible unit: what it handles, where (no districts = the whole city)."""

    id: str
    name: str
    kind: str
    zones: frozenset[str]
    categories: frozenset[str]
    districts: frozenset[str]

    def handles(self, category: Category) -> bool:
        """Whether requests of this category are this unit's business."""
        return category.id in self.categories or category.zone in self.zones


@dataclass(frozen=True, slots=True)
class Referral:
    """An out-of-scope matter: words that reveal it, words that cancel them."""

    id: str
    keywords: tuple[str, ...]
    unless: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Catalogue:
    """A validated catalogue; `body` is its JSON form, `version` the hash of it."""

    version: str
    body: Mapping[str, Any]
    zones: Mapping[str, str]  # id -> name
    hot_topics: frozenset[str]
    categories: tuple[Category, ...]
    districts: tuple[District, ...]
    units: Mapping[str, Unit]
    types: Mapping[str, tuple[str, ...]]  # type -> keywords, fallback first
    type_names: Mapping[str, str]
    urgency: Mapping[str, tuple[str, ...]]
    referrals: tuple[Referral, ...]

    def unit_id(self, value: str) -> str:
        """The unit an officer named (by id or by name), or the text itself when the catalogue has none."""
        value = value.strip()
        if value in self.units:
            return value
        return next((u.id for u in self.units.values() if u.name == value), value)
