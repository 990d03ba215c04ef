"""The routing catalogue's parts (types, zones, kinds of body, districts, units), as validated values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from language.routing.classifier import Cues
from tickets.errors import ConfigurationError

TYPES = ("consultation", "help", "complaint", "report", "suggestion")
ID = re.compile(r"[a-z][a-z0-9_]{0,31}")
SECTIONS = frozenset({"title", "examples", "types", "zones", "kinds", "districts"})


class CatalogueError(ConfigurationError):
    """A catalogue that cannot be used; `problems` says every reason, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("routing catalogue refused: " + "; ".join(problems[:10]))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class District:
    """A district, development zone, county or county-level city."""

    id: str
    name: str
    short: str  # the name offices use (郑州市公安局金水分局)
    county: bool = False


@dataclass(frozen=True, slots=True)
class Kind:
    """A kind of body a 12345 centre dispatches to: its offices, its usual zone, its cue words."""

    id: str
    name: str
    zone: str
    keywords: tuple[str, ...]
    city_office: str
    district_office: str = ""  # "{district}城市管理局": an office per district ("" = one body for the city)
    county_office: str = ""  # the same in counties and county-level cities, when it is named otherwise


@dataclass(frozen=True, slots=True)
class Unit:
    """A responsible body: one kind's office, for some districts (none = the whole city)."""

    id: str
    name: str
    kind: str
    districts: frozenset[str]


@dataclass(frozen=True, slots=True)
class Catalogue:
    """A validated catalogue; `body` is its JSON form, `version` the hash of it."""

    version: str
    body: Mapping[str, object]
    types: Mapping[str, tuple[str, tuple[str, ...]]]  # id -> (name, cue words)
    zones: Mapping[str, str]  # id -> name
    hot_topics: frozenset[str]
    zone_keywords: Mapping[str, tuple[str, ...]]
    kinds: Mapping[str, Kind]
    districts: tuple[District, ...]
    units: Mapping[str, Unit]
    examples: tuple[str, ...]  # files of labelled requests, relative to the catalogue folder

    @property
    def type_names(self) -> Mapping[str, str]:
        """Type id -> its Chinese name (咨询 ...)."""
        return {t: name for t, (name, _) in self.types.items()}

    def cues(self) -> Cues:
        """The cue words the classifier reads the catalogue's clear cases with."""
        return Cues({k.id: k.keywords for k in self.kinds.values()},
                    {t: words for t, (_, words) in self.types.items()}, dict(self.zone_keywords))

    def district_named(self, name: str | None) -> District | None:
        """The district of this name (as places give it), if the catalogue has it."""
        return next((d for d in self.districts if d.name == name), None) if name else None

    def unit_for(self, kind: str, district: str | None) -> Unit:
        """The body of `kind` for a district's name: its office there, else the city-wide one."""
        found = self.district_named(district)
        if found is not None and f"{found.id}_{kind}" in self.units:
            return self.units[f"{found.id}_{kind}"]
        return self.units[kind]

    def unit_id(self, value: str) -> str:
        """The unit an officer named (by id or by name), or the text itself when the catalogue has none."""
        value = value.strip()
        if value in self.units:
            return value
        return next((u.id for u in self.units.values() if u.name == value), value)

    def kind_of(self, unit: str) -> str:
        """The kind of a unit id (or of a name), "" for a unit the catalogue does not know."""
        found = self.units.get(self.unit_id(unit))
        return found.kind if found is not None else ""
