"""Validation of a routing catalogue: every section's shape, unique ids, and references that resolve.

All problems are gathered before refusing, so an admin fixes a catalogue in one round.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tickets.routing.model import (
    ID,
    REFERRALS,
    SECTIONS,
    TYPES,
    URGENCY_LEVELS,
    Catalogue,
    CatalogueError,
    Category,
    District,
    Referral,
    Unit,
)

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

    def name(self, where: str, entry: Mapping[str, Any]) -> str:
        value = entry.get("name")
        if not isinstance(value, str) or not value.strip() or len(value) > 64:
            self.fail(f"{where}: name must be a text of 1 to 64 characters")
            return ""
        return value.strip()

    def refs(self, where: str, value: Any, known: Mapping[str, object] | set[str], what: str) -> frozenset[str]:
        if value is None:
            return frozenset()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(f"{where}: must be a list of {what} ids")
            return frozenset()
        for missing in sorted(set(value) - set(known)):
            self.fail(f"{where}: unknown {what} {missing!r}")
        return frozenset(v for v in value if v in known)

    def build(self, version: str) -> Catalogue:
        for extra in sorted(set(self.body) - SECTIONS):
            self.fail(f"unknown section {extra!r}")
        types, type_names = self.types()
        zones: dict[str, str] = {}
        hot: set[str] = set()
        for z in self.entries("zones"):
            zones[z["id"]] = self.name(f"zones.{z['id']}", z)
            if not isinstance(z.get("hot_topic", False), bool):
                self.fail(f"zones.{z['id']}: hot_topic must be true or false")
            elif z.get("hot_topic"):
                hot.add(z["id"])
        categories = tuple(self.category(c, zones) for c in self.entries("categories"))
        districts = tuple(District(d["id"], self.name(f"districts.{d['id']}", d),
                                  self.words(f"districts.{d['id']}.words", d.get("words")))
                          for d in self.entries("districts"))
        known_districts = {d.id for d in districts}
        by_category = {c.id: c for c in categories}
        units = {u["id"]: self.unit(u, zones, by_category, known_districts) for u in self.entries("units")}
        for category in categories:
            if not any(u.handles(category) for u in units.values()):
                self.fail(f"categories.{category.id}: no unit handles it")
        urgency = self.urgency()
        referrals = tuple(self.referral(r) for r in self.entries("out_of_scope"))
        if self.problems:
            raise CatalogueError(self.problems)
        return Catalogue(version=version, body=dict(self.body), zones=zones, hot_topics=frozenset(hot),
                         categories=categories, districts=districts, units=units, types=types,
                         type_names=type_names, urgency=urgency, referrals=referrals)

    def types(self) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
        entries = self.entries("types")
        ids = [t["id"] for t in entries]
        if entries and sorted(ids) != sorted(TYPES):
            self.fail(f"types: exactly {', '.join(TYPES)} are required")
        return ({t["id"]: self.words(f"types.{t['id']}.keywords", t.get("keywords")) for t in entries},
                {t["id"]: self.name(f"types.{t['id']}", t) for t in entries})

    def category(self, entry: Mapping[str, Any], zones: Mapping[str, str]) -> Category:
        where = f"categories.{entry['id']}"
        zone = entry.get("zone")
        if zone not in zones:
            self.fail(f"{where}: unknown zone {zone!r}")
        return Category(entry["id"], self.name(where, entry), str(zone),
                        self.words(f"{where}.keywords", entry.get("keywords")))

    def unit(self, entry: Mapping[str, Any], zones: Mapping[str, str], categories: Mapping[str, Category],
             districts: set[str]) -> Unit:
        where = f"units.{entry['id']}"
        kind = entry.get("kind", entry["id"])
        if not isinstance(kind, str) or not ID.fullmatch(kind):
            self.fail(f"{where}: kind must look like an id")
            kind = entry["id"]
        unit = Unit(entry["id"], self.name(where, entry), kind,
                    self.refs(f"{where}.zones", entry.get("zones"), zones, "zone"),
                    self.refs(f"{where}.categories", entry.get("categories"), categories, "category"),
                    self.refs(f"{where}.districts", entry.get("districts"), districts, "district"))
        if not unit.zones and not unit.categories:
            self.fail(f"{where}: handles no zone and no category")
        return unit

    def urgency(self) -> dict[str, tuple[str, ...]]:
        raw = self.body.get("urgency")
        if not isinstance(raw, Mapping) or set(raw) != set(URGENCY_LEVELS):
            self.fail(f"urgency: a table with exactly {' and '.join(URGENCY_LEVELS)} is required")
            return {level: () for level in URGENCY_LEVELS}
        return {level: self.words(f"urgency.{level}", raw[level]) for level in URGENCY_LEVELS}

    def referral(self, entry: Mapping[str, Any]) -> Referral:
        where = f"out_of_scope.{entry['id']}"
        if entry["id"] not in REFERRALS:
            self.fail(f"{where}: not one the chat can refer ({', '.join(REFERRALS)})")
        return Referral(entry["id"], self.words(f"{where}.keywords", entry.get("keywords")),
                        self.words(f"{where}.unless", entry.get("unless"), required=False))


def parse_body(body: Mapping[str, Any], version: str) -> Catalogue:
    """Check a catalogue's structure and references; raises CatalogueError listing every problem."""
    if not isinstance(body, Mapping):
        raise CatalogueError(["the catalogue must be a table (a JSON object)"])
    return _Checker(body).build(version)
