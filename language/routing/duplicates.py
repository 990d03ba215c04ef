"""Duplicates are the same problem at the same place within a window, never one without the other.

The place: the keys of the mentions language/places found (a compound, a junction, a landmark, a road
and number, a village, a street office; a road alone is weaker), and the distance when both requests
carry coordinates. The problem: the objects the requests name (language/routing/problem.py), or, when one
names none, the kind of body the classifier chose for both. Different problems at one compound stay apart;
one problem at two compounds of one road stays apart. Each verdict says why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from types import MappingProxyType

from language.places import distance_m

SPECIFIC = ("compound", "landmark", "intersection", "road_number", "village", "street_office")
# Words in names that say what a place is, not which: two names sharing only these are not one place.
GENERIC = frozenset("小区花园家园新村社区公寓大厦广场市场菜市场超市商场医院学校公园院楼号苑府城里庄村镇街路道口门"
                    "东西南北中新老大小一二三四五六七八九十")
_SIDES = re.compile(r"([东西南北])(?:段|头|边|侧|门|口|面|半|端)")
_VILLAGE = re.compile(r"(?<![我俺咱你他她们])([\u4e00-\u9fff]{2}村)(?!委|民|里|口|子)")
_ELSEWHERE = ("隔壁", "旁边", "对面", "附近另", "边上那个", "那边那个")
NEAR_M = 300.0  # two pins this close are one place
FAR_M = 1500.0  # two pins this far apart are not


@dataclass(frozen=True, slots=True)
class Matter:
    """What duplicate matching reads of a request."""

    keys: frozenset[str]  # place keys, each "kind:name" (language/places PlaceMention.key)
    objects: tuple[str, ...]  # canonical objects (language/routing/problem.py)
    kind: str  # the kind of body the classifier chose
    at: datetime
    latitude: float | None = None
    longitude: float | None = None
    text: str = ""  # the request's words, for names written differently and for sides (东门 / 西门)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether two requests are one matter, and why (or why not)."""

    same: bool
    why: tuple[str, ...] = field(default=())


@lru_cache(maxsize=8192)
def _by_kind(keys: frozenset[str]) -> Mapping[str, frozenset[str]]:
    # A request's keys are grouped once per process: it is compared with every recent request.
    found: dict[str, set[str]] = {}
    for key in keys:
        kind, _, name = key.partition(":")
        found.setdefault(kind, set()).add(name)
    return MappingProxyType({kind: frozenset(names) for kind, names in found.items()})


def _roads(keys: Mapping[str, frozenset[str]]) -> set[str]:
    roads = set(keys.get("road", ()))
    for junction in keys.get("intersection", ()):
        roads.update(junction.split("|"))
    for numbered in keys.get("road_number", ()):
        roads.add(numbered.split(":")[0])
    return roads


def same_place(a: Matter, b: Matter) -> tuple[bool, str]:
    """Whether two requests are at one place, with the reason."""
    if None not in (a.latitude, a.longitude, b.latitude, b.longitude):
        metres = distance_m(a.latitude, a.longitude, b.latitude, b.longitude)  # type: ignore[arg-type]
        if metres <= NEAR_M:
            return True, f"相距约{round(metres / 10) * 10:.0f}米"
        if metres > FAR_M:
            return False, f"相距约{metres / 1000:.1f}公里"
    ka, kb = _by_kind(a.keys), _by_kind(b.keys)
    sides_a, sides_b = _sides(a.text), _sides(b.text)
    if sides_a and sides_b and not sides_a & sides_b:
        return False, "方位不同"
    villages_a, villages_b = _villages(a.text), _villages(b.text)
    if villages_a and villages_b and not villages_a & villages_b:
        return False, "村不同"
    roads_a, roads_b = _roads(ka), _roads(kb)
    if roads_a and roads_b and not roads_a & roads_b:
        return False, "道路不同"
    buildings_a, buildings_b = _numbers(ka.get("building", frozenset())), _numbers(kb.get("building", frozenset()))
    if buildings_a and buildings_b and not buildings_a & buildings_b:
        return False, "楼栋不同"
    shared = _shared_name(ka, a.text, kb, b.text)
    if shared:
        return True, f"同一地点：{shared}"
    for kind in ("compound", "landmark", "village"):
        if ka.get(kind) and kb.get(kind):
            return False, "地点不同"
    if ka.get("intersection") and kb.get("intersection"):
        return False, "路口不同"
    shared_roads = _roads(ka) & _roads(kb)
    specific_a = any(ka.get(kind) for kind in SPECIFIC)
    specific_b = any(kb.get(kind) for kind in SPECIFIC)
    if shared_roads and not (specific_a and specific_b):
        return True, f"同在{min(shared_roads)}"
    return False, "地点不同" if (a.keys and b.keys) else "地点不明"


def _shared_name(ka: Mapping[str, frozenset[str]], text_a: str, kb: Mapping[str, frozenset[str]], text_b: str) -> str:
    """A specific place both name, even written differently (陈砦菜市场 / 陈砦市场), and not as a neighbour
    of theirs (`就在锦华苑隔壁`); "" when there is none."""
    for kind in SPECIFIC:
        for name in ka.get(kind, set()) & kb.get(kind, set()):
            if not _elsewhere(name, text_a) and not _elsewhere(name, text_b):
                return name.replace("|", "与")
    for names, other, own in ((ka, text_b, text_a), (kb, text_a, text_b)):
        for kind in ("compound", "landmark", "village", "street_office"):
            for name in names.get(kind, set()):
                core = _core(name)
                if len(core) >= 2 and core in other and not _elsewhere(core, other) and not _elsewhere(core, own):
                    return name
    return ""


# A request is compared with every recent one (the chat's offer, the cluster sweep): what is read of its words
# alone is read once per process.
@lru_cache(maxsize=8192)
def _sides(text: str) -> frozenset[str]:
    """The sides a text names (东门, 西边)."""
    return frozenset(_SIDES.findall(text))


@lru_cache(maxsize=8192)
def _villages(text: str) -> frozenset[str]:
    """The villages a text names (东王村), not `俺们村`."""
    return frozenset(v for v in _VILLAGE.findall(text) if v[0] not in "我俺咱你他她" and v[1] != "们")


@lru_cache(maxsize=8192)
def _numbers(buildings: frozenset[str]) -> frozenset[str]:
    """The building numbers of building keys (`3`, `3|2` for building 3 unit 2: the building counts)."""
    return frozenset(re.split(r"[|:#]", b)[0] for b in buildings)


@lru_cache(maxsize=8192)
def _core(name: str) -> str:
    """The distinctive part of a place's name: its longest run of characters that are not generic."""
    runs = re.split("[" + "".join(sorted(GENERIC)) + "]", name)
    return max(runs, key=len) if runs else ""


def _elsewhere(name: str, text: str) -> bool:
    """Whether `text` names the place only to say the matter is next to it."""
    at = text.find(name)
    return at >= 0 and any(mark in text[at + len(name):at + len(name) + 6] for mark in _ELSEWHERE)


def same_problem(a: Matter, b: Matter, *, strong_place: bool) -> tuple[bool, str]:
    """Whether two requests are about one problem, with the reason: a shared object, or, at a place both
    name exactly, the same kind of body when one of them names no object."""
    shared = set(a.objects) & set(b.objects)
    if shared:
        return True, f"同一问题：{'、'.join(sorted(shared))}"
    if a.objects and b.objects:
        return False, "问题不同"  # both say what is wrong, and it is not the same thing
    if strong_place and a.kind and a.kind == b.kind:
        return True, "同类问题"
    return False, "问题不同"


def same_matter(a: Matter, b: Matter, *, window_hours: float = 72.0) -> Verdict:
    """The verdict on two requests: same place, same problem, within the window."""
    hours = abs((a.at - b.at).total_seconds()) / 3600
    if hours > window_hours:
        return Verdict(False, (f"相隔{hours / 24:.0f}天",))
    place, where = same_place(a, b)
    if not place:
        return Verdict(False, (where,))
    problem, what = same_problem(a, b, strong_place=where.startswith(("同一地点", "相距")))
    return Verdict(problem, (where, what))
