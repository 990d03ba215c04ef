"""Every place a text mentions, in reading order: the gazetteer's names, then the shapes it does not know."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from language.places import shapes
from language.places.gazetteer import Gazetteer
from language.places.normal import NUMERAL_CHARS, normalise_place_text, number_value


@dataclass(frozen=True, slots=True)
class PlaceMention:
    """One place in a text: what was written (`text`, at `start`:`end`), what kind of place, and its key."""

    text: str
    kind: str  # road_number, intersection, compound, building, landmark, area, road, village, street_office, district
    key: str  # the same for one place written differently (郑大一附院 and 郑州大学第一附属医院)
    start: int
    end: int
    district: str | None  # the one district it lies in, when the gazetteer (or its name) says so
    form: str = ""  # as an address stores it: digits for numbers, misheard words fixed (十二号楼 -> 12号楼)
    districts: frozenset[str] = frozenset()  # every district it may lie in, when known
    relative: str = ""  # where exactly, said right after it (东门, 对面, 往北一百米)
    relative_end: int = -1  # where that ends in the text (`end` when there is none)


@dataclass(slots=True)
class _Atom:
    """A piece found before the pieces are put together (a road, then 139号 after it, ...)."""

    start: int
    end: int
    kind: str
    key: str
    base: str = ""  # a road's own name, for junctions
    district: str | None = None
    districts: frozenset[str] = field(default_factory=frozenset)
    ambiguous: bool = False
    form: str = ""


_SKIPPED = ("city", "word")
# The known places a compound or facility may be named after (郑大家属院, 二七万达广场, 建业森林半岛小区).
_NAMED_AFTER = ("landmark", "area", "village", "compound", "developer")
_NUMERAL_RUN = re.compile(f"[{NUMERAL_CHARS}]+")
_FILLERS = re.compile(r"那个|这个|\s")


def find_mentions(text: str, gazetteer: Gazetteer) -> list[PlaceMention]:
    """The places `text` mentions, in reading order, each once (花园路139号 is one mention, not a road and a number)."""
    norm = normalise_place_text(text)
    known = _known(norm, gazetteer)
    atoms = _merge(norm, known, _shaped(norm, gazetteer), gazetteer)
    atoms = _confirm_ambiguous(norm, atoms)
    return [_mention(text, norm, atom, nxt) for atom, nxt in _with_next(_combine(norm, atoms))]


def _known(norm: str, gazetteer: Gazetteer) -> list[_Atom]:
    """The gazetteer's names in the text, the longest at each position."""
    atoms = []
    for match in gazetteer.pattern.finditer(norm):
        surface = gazetteer.surfaces[match.group()]
        atoms.append(
            _Atom(
                match.start(), match.end(), surface.kind, surface.key, surface.base, surface.district,
                surface.districts, ambiguous=surface.ambiguous,
            )
        )
    return atoms


def _shaped(norm: str, gazetteer: Gazetteer) -> list[_Atom]:
    """The places found by their shape alone: roads, named compounds and facilities, buildings."""
    atoms = []
    for match in shapes.ROAD_SUFFIX.finditer(norm):
        start = shapes.name_start(norm, match.start(), shapes.ROAD_NAME_STOPS, shapes.ROAD_NAME_LONGEST)
        road = _road_atom(norm, start, match.start(), match.end(), gazetteer)
        if road is not None:
            atoms.append(road)
    for match in shapes.NAME_SUFFIX.finditer(norm):
        start = shapes.name_start(norm, match.start(), shapes.NAME_STOPS, shapes.NAME_LONGEST)
        named = _named_atom(norm, start, match.start(), match.end())
        if named is not None and not shapes.INDEFINITE_BEFORE.search(norm, 0, start):
            atoms.append(named)
    if any(word in norm for word in ("号", "栋", "幢", "座", "单元", "门洞")):
        atoms.extend(_building_atom(match) for match in shapes.BUILDING.finditer(norm))
    return atoms


def _road_atom(norm: str, start: int, name_end: int, end: int, gazetteer: Gazetteer) -> _Atom | None:
    """A road the gazetteer does not know, or None when the words are not a road's name (过马路, 水泥路).

    A known road with a direction it does not list (文化北路) is a stretch of that road: its base and districts.
    """
    name = norm[start:name_end]
    if len(name) < 2 or shapes.NOT_ROAD_NAMES.match(name):
        return None
    written = norm[start:end]
    if not _may_follow_a_road(norm, end) and written not in gazetteer.surfaces:
        return None
    directed = shapes.DIRECTED_ROAD.match(written)
    road = gazetteer.surfaces.get(directed["stem"] + directed["suffix"]) if directed else None
    if road is not None and road.kind == "road":
        return _Atom(start, end, "road", f"road:{written}", road.base, road.district, road.districts, form=written)
    return _Atom(start, end, "road", f"road:{written}", written, form=written)


def _may_follow_a_road(norm: str, end: int) -> bool:
    """True when what follows a road's name at `end` may follow a road (139号, 口, 上, 菜市场, another road)."""
    follower = norm[end : end + 1]
    if not "\u4e00" <= follower <= "\u9fff" or follower in shapes.ROAD_FOLLOWERS:
        return True
    if shapes.FACILITY_AFTER_ROAD.match(norm, end):
        return True
    ahead = norm[end : end + shapes.NAME_LONGEST + 3]  # the name of another road or place begins here
    for pattern, stops, longest in (
        (shapes.ROAD_SUFFIX, shapes.ROAD_NAME_STOPS, shapes.ROAD_NAME_LONGEST),
        (shapes.NAME_SUFFIX, shapes.NAME_STOPS, shapes.NAME_LONGEST),
    ):
        for match in pattern.finditer(ahead, 2):
            if shapes.name_start(ahead, match.start(), stops, longest) == 0:
                return True
    return False


def _named_atom(norm: str, start: int, name_end: int, end: int) -> _Atom | None:
    """A compound, facility, street office or village named by its ending, or None when the name is a word."""
    for breaker in shapes.NAME_BREAKERS.finditer(norm, start, name_end):
        start = breaker.end()  # the last one
    name = norm[start:name_end]
    if len(name) < 2 or name in shapes.NOT_NAMES or name.endswith(shapes.NOT_NAME_ENDS):
        return None
    written = norm[start:end]
    kind = shapes.SUFFIX_KIND[norm[name_end:end]]
    if kind == "landmark" and name[-1] in shapes.VERB_BEFORE:
        return None
    return _Atom(start, end, kind, _key(kind, written), form=written)


def _key(kind: str, written: str) -> str:
    """The key of a place found by its shape: its kind and its name, without the endings that vary."""
    if kind == "compound" and written.endswith("小区"):
        written = written[:-2]
    elif kind == "village" and written.endswith("村"):
        written = written[:-1]
    elif kind == "street_office":
        written = re.sub(r"(?:街道办事处|街道办|街道|办事处)$", "", written)
    return f"{kind}:{written}"


def _building_atom(match: re.Match[str]) -> _Atom:
    """A building, entrance, floor and flat (3号楼2单元), its numbers in digits."""
    parts = [_number_text(match.group("building")), _number_text(match.group("unit") or match.group("unit_only"))]
    key = "building:" + "-".join(p for p in parts if p)
    form = _NUMERAL_RUN.sub(lambda m: str(number_value(m.group()) or m.group()), match.group())
    return _Atom(match.start(), match.end(), "building", key, form=form)


def _number_text(written: str | None) -> str:
    """A number written in digits or Chinese numerals, as digits ("" when absent; 东 stays 东)."""
    if not written:
        return ""
    value = number_value(written)
    return written if value is None else str(value)


def _merge(norm: str, known: list[_Atom], shaped: list[_Atom], gazetteer: Gazetteer) -> list[_Atom]:
    """The gazetteer's names and the shapes together, without overlaps; the gazetteer wins where they cross."""
    strong = [a for a in known if a.kind not in _SKIPPED and not a.ambiguous]
    weak = [a for a in known if a.kind in _SKIPPED or a.ambiguous]
    found: list[tuple[_Atom, _Atom | None]] = []
    for atom in shaped:
        around = _around_known(norm, atom, strong, weak, gazetteer)
        if around is not None:
            found.append(around)
    found.sort(key=lambda pair: (pair[0].start, -(pair[0].end - pair[0].start)))
    kept: list[tuple[_Atom, _Atom | None]] = []
    for pair in found:  # two shapes over the same words: the one that starts first, the longer
        if not kept or pair[0].start >= kept[-1][0].end:
            kept.append(pair)
    named_after = {id(prefix) for _, prefix in kept if prefix is not None}
    shaped_kept = [atom for atom, _ in kept]
    strong = [a for a in strong if id(a) not in named_after]
    free_weak = [w for w in weak if not any(_overlap(w, s) for s in shaped_kept)]
    return _developers(norm, sorted(strong + free_weak + shaped_kept, key=lambda a: a.start))


def _around_known(
    norm: str, atom: _Atom, strong: list[_Atom], weak: list[_Atom], gazetteer: Gazetteer
) -> tuple[_Atom, _Atom | None] | None:
    """A shape that runs into a gazetteer name: named after it (二七万达广场, 郑大家属院), cut after it, or dropped.

    Returns the shape and the name it is named after (which it replaces), or None when nothing is left of it.
    """
    prefix = None
    for name in strong:
        if not _overlap(atom, name):
            continue
        if name.start <= atom.start and name.end < atom.end:
            if name.kind in _NAMED_AFTER and name.start == atom.start:
                # A compound or facility named after a known place or its developer: it lies where that lies.
                atom.district, atom.districts, prefix = name.district, name.districts, name
                continue
            cut = _reshape(norm, atom, name.end, gazetteer)
            if cut is None:
                return None
            atom = cut
            continue
        return None
    for name in weak:  # the city, or an ambiguous name, before a shape: cut off; inside it: gives way
        if name.kind in _SKIPPED and name.start <= atom.start < name.end < atom.end:
            cut = _reshape(norm, atom, name.end, gazetteer)
            if cut is None:
                return None
            atom = cut
    return atom, prefix


def _developers(norm: str, atoms: list[_Atom]) -> list[_Atom]:
    """A developer's name begins a compound's name (建业森林半岛, 绿城百合): the compound; alone it is no place."""
    out = []
    for i, atom in enumerate(atoms):
        if atom.kind != "developer":
            out.append(atom)
            continue
        limit = atoms[i + 1].start if i + 1 < len(atoms) else len(norm)
        end = shapes.name_end(norm, atom.end, min(limit, atom.end + shapes.NAME_LONGEST - 2))
        if end > atom.end:
            written = norm[atom.start : end]
            out.append(_Atom(atom.start, end, "compound", _key("compound", written), form=written))
    return out


def _reshape(norm: str, atom: _Atom, start: int, gazetteer: Gazetteer) -> _Atom | None:
    """The same shape read again from `start` to its old end (金水区|锦江花园), or None when too little is left."""
    if atom.kind == "road":
        suffix = shapes.ROAD_SUFFIX.search(norm, start, atom.end)
        return None if suffix is None else _road_atom(norm, start, suffix.start(), atom.end, gazetteer)
    if atom.kind in ("compound", "landmark", "street_office", "village"):
        written = norm[start : atom.end]
        ending = next((s for s in shapes.SUFFIXES_LONGEST_FIRST if written.endswith(s)), "")
        return _named_atom(norm, start, atom.end - len(ending), atom.end) if ending else None
    return None


def _overlap(a: _Atom, b: _Atom) -> bool:
    return a.start < b.end and b.start < a.end


def _confirm_ambiguous(norm: str, atoms: list[_Atom]) -> list[_Atom]:
    """Ambiguous names (二七, 上街, 东区) count only where they name a place; the skipped words go.

    Either right before another place of the same district (上街许昌路, 新郑龙湖镇), or on their own after a
    word boundary and before a word that places them (俺在上街。 二七这边, 新郑的, 我们东区那个小区).
    """
    kept = []
    for i, atom in enumerate(atoms):
        if atom.kind in _SKIPPED:
            continue
        if atom.ambiguous:
            nxt = next((a for a in atoms[i + 1 :] if a.kind not in _SKIPPED), None)
            before_place = nxt is not None and not norm[atom.end : nxt.start].strip()
            if before_place and atom.district and nxt is not None and nxt.district not in (None, atom.district):
                before_place = False
            alone = shapes.WORD_BOUNDARY_BEFORE.search(norm, 0, atom.start) is not None and (
                shapes.PLACED_AFTER.match(norm, atom.end) is not None
            )
            if not (before_place or alone):
                continue
        kept.append(atom)
    return kept


def _combine(norm: str, atoms: list[_Atom]) -> list[_Atom]:
    """Roads put together with what follows them: a number, a second road (a junction), 街道, a facility, 口."""
    out: list[_Atom] = []
    i = 0
    while i < len(atoms):
        atom = atoms[i]
        if atom.kind != "road":
            out.append(atom)
            i += 1
            continue
        nxt = atoms[i + 1] if i + 1 < len(atoms) else None
        if nxt is not None and nxt.kind == "road" and shapes.JOIN.fullmatch(norm, atom.end, nxt.start):
            out.append(_junction(norm, atom, nxt))
            i += 2
            continue
        out.append(_after_road(norm, atom, nxt))
        i += 1
    return out


def _junction(norm: str, first: _Atom, second: _Atom) -> _Atom:
    """Two roads that cross (文化路与农业路交叉口 and 农业路文化路口 are one junction)."""
    end = second.end
    suffix = shapes.JUNCTION.match(norm, end)
    if suffix is not None:
        end = suffix.end()
    bases = sorted({first.base or first.key, second.base or second.key})
    district, districts = _crossing(first, second)
    form = _FILLERS.sub("", norm[first.start : end])  # 淮河路那个跟大学路那个十字路口 -> 淮河路跟大学路十字路口
    return _Atom(first.start, end, "intersection", "intersection:" + "|".join(bases), "", district, districts,
                 form=form)


def _crossing(first: _Atom, second: _Atom) -> tuple[str | None, frozenset[str]]:
    """Where two roads cross: in the district of a road that lies in one, or the one district both pass through."""
    singles = {a.district for a in (first, second) if a.district}
    if len(singles) == 1:
        only = next(iter(singles))
        return only, frozenset({only})
    if singles or not first.districts or not second.districts:
        return None, frozenset()
    common = first.districts & second.districts
    return (next(iter(common)) if len(common) == 1 else None), common


def _after_road(norm: str, road: _Atom, nxt: _Atom | None) -> _Atom:
    """A road with what is written right after it: 139号, 街道, 菜市场, 口; or the road alone."""
    limit = nxt.start if nxt is not None else len(norm)
    number = shapes.NUMBER_AFTER_ROAD.match(norm, road.end, limit)
    if number is not None:
        value = _number_text(number.group("number"))
        yard = number.group("yard") or ""
        name = road.key.removeprefix("road:")
        form = f"{norm[road.start : road.end]}{value}号{yard}"
        return _Atom(road.start, number.end(), "road_number", f"road_number:{name}:{value}", road.base,
                     road.district, road.districts, form=form)
    office = shapes.OFFICE_AFTER_ROAD.match(norm, road.end, limit)
    if office is not None:
        form = norm[road.start : office.end()]
        return _Atom(road.start, office.end(), "street_office", f"street_office:{norm[road.start : road.end]}",
                     "", road.district, road.districts, form=form)
    facility = shapes.FACILITY_AFTER_ROAD.match(norm, road.end, limit)
    if facility is not None:
        form = norm[road.start : facility.end()]
        kind = shapes.SUFFIX_KIND.get(facility.group(), "landmark")
        return _Atom(road.start, facility.end(), kind, _key(kind, form), "", road.district, road.districts,
                     form=form)
    junction = shapes.JUNCTION.match(norm, road.end, limit)
    if junction is not None:
        road.end = junction.end()
    road.form = norm[road.start : road.end]
    return road


def _with_next(atoms: list[_Atom]) -> list[tuple[_Atom, _Atom | None]]:
    return [(atom, atoms[i + 1] if i + 1 < len(atoms) else None) for i, atom in enumerate(atoms)]


def _mention(text: str, norm: str, atom: _Atom, nxt: _Atom | None) -> PlaceMention:
    """The public mention of an atom, with the position words written right after it (东门, 往北一百米)."""
    limit = nxt.start if nxt is not None else len(norm)
    relative, relative_end = "", atom.end
    match = shapes.RELATIVE.match(norm, atom.end, limit)
    if match is not None:
        relative, relative_end = _FILLERS.sub("", match.group("relative")), match.end()
    district = atom.district
    districts = atom.districts or (frozenset({district}) if district else frozenset())
    return PlaceMention(
        text[atom.start : atom.end], atom.kind, atom.key, atom.start, atom.end, district,
        atom.form or norm[atom.start : atom.end], districts, relative, relative_end,
    )
