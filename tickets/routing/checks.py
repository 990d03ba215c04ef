"""Validation of a routing catalogue: every section's shape, unique ids, references that resolve, offices.

All problems are gathered before refusing, so an admin fixes a catalogue in one round. The units are not
written in the catalogue: each kind's offices are made from its name templates, one per district for a
kind with `district_office` (`{district}`: the district's name, `{short}`: the name offices use).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tickets.routing.model import ID, SECTIONS, TYPES, Catalogue, CatalogueError, District, Kind, Unit

MAX_WORDS = 200  # per list: a catalogue is edited by hand, not generated


class _Checker:
    def __init__(self, body: Mapping[str, Any]) -> None:
        self.body = body
        self.problems: list[str] = []

    def fail(self, problem: str) -> None:
        self.problems.append(problem)

    def entries(self, section: str) -> list[Mapping[str, Any]]:
        raw = self.body.get(section)
        if not isinstance(raw, list) or not raw:
            self.fail(f"{section}: a non-empty list is required")
            return []
        good: list[Mapping[str, Any]] = []
        seen: set[str] = set()
        for n, entry in enumerate(raw, 1):
            where = f"{section}[{n}]"
            if not isinstance(entry, Mapping):
                self.fail(f"{where}: must be a table")
                continue
            ident = entry.get("id")
            if not isinstance(ident, str) or not ID.fullmatch(ident):
                self.fail(f"{where}: id must be lower-case letters, digits and _ (at most 32)")
                continue
            if ident in seen:
                self.fail(f"{section}: id {ident!r} appears twice")
                continue
            seen.add(ident)
            good.append(entry)
        return good

    def words(self, where: str, value: Any, *, required: bool = True) -> tuple[str, ...]:
        if value is None and not required:
            return ()
        if not isinstance(value, list) or not all(isinstance(w, str) and w.strip() for w in value):
            self.fail(f"{where}: must be a list of non-empty words")
            return ()
        if required and not value:
            self.fail(f"{where}: needs at least one word")
        if len(value) > MAX_WORDS:
            self.fail(f"{where}: more than {MAX_WORDS} words")
        return tuple(w.strip() for w in value)

    def text(self, where: str, value: Any, *, required: bool = True, limit: int = 64) -> str:
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            self.fail(f"{where}: must be a text of 1 to {limit} characters")
            return ""
        return value.strip()

    def build(self, version: str) -> Catalogue:
        for extra in sorted(set(self.body) - SECTIONS):
            self.fail(f"unknown section {extra!r}")
        types = self.types()
        zones: dict[str, str] = {}
        keywords: dict[str, tuple[str, ...]] = {}
        hot: set[str] = set()
        for z in self.entries("zones"):
            zones[z["id"]] = self.text(f"zones.{z['id']}.name", z.get("name"))
            keywords[z["id"]] = self.words(f"zones.{z['id']}.keywords", z.get("keywords"), required=False)
            if not isinstance(z.get("hot_topic", False), bool):
                self.fail(f"zones.{z['id']}: hot_topic must be true or false")
            elif z.get("hot_topic"):
                hot.add(z["id"])
        districts = tuple(self.district(d) for d in self.entries("districts"))
        kinds = {k["id"]: self.kind(k, zones) for k in self.entries("kinds")}
        units = self.units(kinds, districts)
        examples = self.words("examples", self.body.get("examples"), required=False)
        for path in examples:
            if path.startswith("/") or ".." in path.split("/"):
                self.fail(f"examples: {path!r} must be a path inside the catalogue folder")
        if self.problems:
            raise CatalogueError(self.problems)
        return Catalogue(version=version, body=dict(self.body), types=types, zones=zones, hot_topics=frozenset(hot),
                         zone_keywords=keywords, kinds=kinds, districts=districts, units=units, examples=examples)

    def types(self) -> dict[str, tuple[str, tuple[str, ...]]]:
        entries = self.entries("types")
        ids = [t["id"] for t in entries]
        if entries and sorted(ids) != sorted(TYPES):
            self.fail(f"types: exactly {', '.join(TYPES)} are required")
        return {t["id"]: (self.text(f"types.{t['id']}.name", t.get("name")),
                          self.words(f"types.{t['id']}.keywords", t.get("keywords"))) for t in entries}

    def district(self, entry: Mapping[str, Any]) -> District:
        where = f"districts.{entry['id']}"
        name = self.text(f"{where}.name", entry.get("name"))
        short = self.text(f"{where}.short", entry.get("short"), required=False) or name
        county = entry.get("county", False)
        if not isinstance(county, bool):
            self.fail(f"{where}.county must be true or false")
            county = False
        return District(entry["id"], name, short, county)

    def kind(self, entry: Mapping[str, Any], zones: Mapping[str, str]) -> Kind:
        where = f"kinds.{entry['id']}"
        zone = entry.get("zone", "")
        if zone and zone not in zones:
            self.fail(f"{where}: unknown zone {zone!r}")
        offices = {}
        for field in ("city_office", "district_office", "county_office"):
            offices[field] = self.text(f"{where}.{field}", entry.get(field), required=field == "city_office",
                                       limit=64)
            if field != "city_office" and offices[field] and "{district}" not in offices[field] \
                    and "{short}" not in offices[field]:
                self.fail(f"{where}.{field}: must name the district with {{district}} or {{short}}")
        return Kind(entry["id"], self.text(f"{where}.name", entry.get("name")), str(zone or ""),
                    self.words(f"{where}.keywords", entry.get("keywords")), offices["city_office"],
                    offices["district_office"], offices["county_office"])

    def units(self, kinds: Mapping[str, Kind], districts: tuple[District, ...]) -> dict[str, Unit]:
        units: dict[str, Unit] = {}
        for kind in kinds.values():
            units[kind.id] = Unit(kind.id, kind.city_office, kind.id, frozenset())
            if not kind.district_office:
                continue
            for district in districts:
                template = (kind.county_office or kind.district_office) if district.county else kind.district_office
                try:
                    name = template.format(district=district.name, short=district.short)[:128]
                except (KeyError, ValueError, IndexError):
                    self.fail(f"kinds.{kind.id}: office {template!r} names nothing but {{district}} and {{short}}")
                    break
                units[f"{district.id}_{kind.id}"] = Unit(f"{district.id}_{kind.id}", name, kind.id,
                                                         frozenset({district.id}))
        return units


def parse_body(body: Mapping[str, Any], version: str) -> Catalogue:
    """Check a catalogue's structure and references; raises CatalogueError listing every problem."""
    if not isinstance(body, Mapping):
        raise CatalogueError(["the catalogue must be a table (a JSON object)"])
    return _Checker(body).build(version)
