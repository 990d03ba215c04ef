"""The city's gazetteer: districts, street offices and named places, read once from the deployment's TOML files."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from language.places.normal import normalise_place_text, number_value
from language.places.trie import trie_pattern

# The gazetteer's own kinds (places.toml `kind`) and the kind of mention each one makes.
MENTION_KIND = {
    "road": "road",
    "area": "area",
    "village": "village",
    "compound": "compound",
    "landmark": "landmark",
    "station": "landmark",
    "metro_station": "landmark",
    "hospital": "landmark",
    "school": "landmark",
    "university": "landmark",
    "park": "landmark",
    "market": "landmark",
    "mall": "landmark",
    "scenic": "landmark",
    "government": "landmark",
    "developer": "developer",  # begins the names of compounds; never a place alone
}
SEVERAL = "several"
# The country, province and city, as pins and formal letters write them before an address: skipped.
_CITY = ("中国", "河南省", "河南", "郑州市", "郑州")
# Everyday words that begin with a place's short name (省医保 is not 省医 + 保, 家中工作 not 中工): read as
# words, so that the short name inside them is never matched.
_WORDS = ("省医保", "市医保", "中工作", "中工资", "上街买", "上街去", "上街逛", "上街转", "东区域", "机场费", "绿城通")
# A road's direction inside its name (花园北路, 航海中路): a stretch of the road, not another road.
_DIRECTED = re.compile(r"^.{2,}[东西南北中](?:路|街|大街|大道)$")
_OFFICE_SUFFIX = re.compile(r"(?:街道办事处|街道办|街道|办事处)$")
# How far from a point a location pin is still taken to lie in the point's district.
_PLACE_RADIUS_M = 1200.0
_CENTRE_RADIUS_M = {"district": 1500.0, "development_zone": 3000.0, "county": 6000.0, "county_city": 6000.0}
# When one written form has several meanings, the one it is read as.
_KIND_ORDER = (
    "district", "street_office", "road", "landmark", "compound", "area", "village", "developer", "city", "word",
)


@dataclass(frozen=True, slots=True)
class District:
    """A district, development zone, county or county-level city."""

    id: str
    name: str
    full_name: str
    kind: str
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Entry:
    """One named thing: a place, a street office, a district, the city, or a word read only to be skipped."""

    name: str
    kind: str  # the mention it makes (road, landmark, street_office, district, ...), or city, word
    districts: frozenset[str]  # where it lies: one district, the listed several, or empty when unknown


@dataclass(frozen=True, slots=True)
class Surface:
    """A written form (a name or an alias) and what it means."""

    entries: tuple[Entry, ...]
    kind: str
    key: str  # the same for every way of writing one place (郑大一附院 and 郑州大学第一附属医院)
    base: str  # the road itself, without the direction its written form may add (for intersections)
    district: str | None  # the one district it implies, or None (several, or unknown)
    districts: frozenset[str]  # every district it may lie in (empty when unknown)
    ambiguous: bool  # also an everyday word or a part of other names: counts only right before another place


@dataclass(frozen=True, slots=True)
class Point:
    """A point of the gazetteer in one district, for placing a location pin."""

    lat: float
    lon: float
    district: str
    radius_m: float  # how far from it a pin is still taken to lie in its district


@dataclass(frozen=True, slots=True)
class Gazetteer:
    """Everything the place finder knows of the city (built by `load_gazetteer`)."""

    districts: Mapping[str, District]
    surfaces: Mapping[str, Surface]
    pattern: re.Pattern[str]  # every written form; the longest one at each position
    points: tuple[Point, ...]


_Meaning = tuple[Entry, str, str, bool]  # entry, key, base, ambiguous


def load_gazetteer(places: Path, districts: Path) -> Gazetteer:
    """Read `places.toml` and `districts.toml` into a Gazetteer (parse once; cheap to keep and share)."""
    district_rows: list[dict[str, Any]] = tomllib.loads(districts.read_text(encoding="utf-8"))["district"]
    place_rows: list[dict[str, Any]] = tomllib.loads(places.read_text(encoding="utf-8"))["place"]
    by_name = {
        row["name"]: District(row["id"], row["name"], row["full_name"], row["kind"], row["lat"], row["lon"])
        for row in district_rows
    }
    forms: dict[str, list[_Meaning]] = {}

    def add(form: str, entry: Entry, key: str, base: str, ambiguous: bool = False) -> None:
        forms.setdefault(normalise_place_text(form), []).append((entry, key, base, ambiguous))

    for row in district_rows:
        entry = Entry(row["name"], "district", frozenset({row["name"]}))
        ambiguous = set(row.get("ambiguous_aliases", []))
        for form in (row["name"], row["full_name"], *row.get("aliases", [])):
            add(form, entry, f"district:{row['name']}", row["name"], form in ambiguous)
        for street in row.get("streets", []):
            _add_office(add, street, row["name"])
    for row in place_rows:
        _add_place(add, row, by_name)
    for stem, (entry, key) in _town_stems(district_rows).items():
        if normalise_place_text(stem) not in forms:  # 薛店 for 薛店镇, unless the stem names something else
            add(stem, entry, key, stem, True)  # ambiguous: 高山, 竹林, 张庄 are also words and other towns' names
    for form in _CITY:
        add(form, Entry(form, "city", frozenset()), "", "")
    for form in _WORDS:
        add(form, Entry(form, "word", frozenset()), "", "")

    surfaces = {form: _surface(meanings) for form, meanings in forms.items()}
    pattern = re.compile(trie_pattern(surfaces))
    return Gazetteer(by_name, surfaces, pattern, _points(place_rows, by_name.values()))


class _Add(Protocol):
    """The signature of `add` inside `load_gazetteer`."""

    def __call__(self, form: str, entry: Entry, key: str, base: str, ambiguous: bool = False) -> None: ...


def _add_office(add: _Add, name: str, district: str) -> None:
    """A street office (街道) or a township (镇, 乡) under every name citizens give it."""
    if name.endswith(("镇", "乡")):
        add(name, Entry(name, "street_office", frozenset({district})), f"street_office:{name}", name)
        return
    stem = _OFFICE_SUFFIX.sub("", name)
    entry = Entry(name, "street_office", frozenset({district}))
    for suffix in ("街道", "街道办", "街道办事处", "办事处"):
        add(stem + suffix, entry, f"street_office:{stem}", stem)


def _town_stems(rows: Iterable[dict[str, Any]]) -> dict[str, tuple[Entry, str]]:
    """The names of townships without 镇 or 乡 (薛店, 马寨), each of one district only."""
    stems: dict[str, list[tuple[Entry, str]]] = {}
    for row in rows:
        for name in row.get("streets", []):
            if name.endswith(("镇", "乡")) and len(name) >= 3 and number_value(name[:-1]) is None:
                entry = Entry(name, "street_office", frozenset({row["name"]}))
                stems.setdefault(name[:-1], []).append((entry, f"street_office:{name}"))
    return {stem: found[0] for stem, found in stems.items() if len(found) == 1}


def _add_place(add: _Add, row: dict[str, Any], known: Mapping[str, District]) -> None:
    """A place of places.toml under its name and its aliases."""
    name: str = row["name"]
    if row["kind"] not in MENTION_KIND:
        raise ValueError(f"places.toml: {name} has an unknown kind {row['kind']!r}")
    listed = row.get("districts", []) if row["district"] == SEVERAL else [row["district"]]
    unknown = [d for d in listed if d not in known]
    if unknown:
        raise ValueError(f"places.toml: {name} lies in unknown districts {unknown}")
    if row["kind"] == "government" and _OFFICE_SUFFIX.search(name):  # a street office listed as a building
        _add_office(add, name, row["district"])
        for alias in row.get("aliases", []):
            _add_office(add, alias, row["district"])
        return
    kind = MENTION_KIND[row["kind"]]
    entry = Entry(name, kind, frozenset(listed))
    ambiguous = set(row.get("ambiguous_aliases", []))
    for form in (name, *row.get("aliases", [])):
        # 花园北路 is a stretch of 花园路: the same road for an intersection, not the same address.
        directed = kind == "road" and form != name and _DIRECTED.match(form) is not None
        key = f"{kind}:{normalise_place_text(form if directed else name)}"
        add(form, entry, key, name, form in ambiguous)


def _surface(meanings: list[_Meaning]) -> Surface:
    """What one written form means, its meanings merged (西大街 is a street in two districts)."""
    meanings.sort(key=lambda m: _KIND_ORDER.index(m[0].kind))
    entries = tuple(dict.fromkeys(m[0] for m in meanings))
    kind = entries[0].kind
    same = [m for m in meanings if m[0].kind == kind]
    districts: frozenset[str] = frozenset().union(*(e.districts for e in entries))
    unknown = any(not e.districts for e in entries if e.kind not in ("city", "word"))
    district = next(iter(districts)) if len(districts) == 1 and not unknown else None
    return Surface(entries, kind, same[0][1], same[0][2], district, districts, any(m[3] for m in meanings))


def _points(rows: Iterable[dict[str, Any]], districts: Iterable[District]) -> tuple[Point, ...]:
    """The places with coordinates in one district, and the centres of the districts."""
    points = [
        Point(row["lat"], row["lon"], row["district"], _PLACE_RADIUS_M)
        for row in rows
        if "lat" in row and "lon" in row and row["district"] != SEVERAL
    ]
    points += [Point(d.lat, d.lon, d.name, _CENTRE_RADIUS_M.get(d.kind, 1500.0)) for d in districts]
    return tuple(points)
