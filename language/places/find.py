"""The place a text is about: its mentions, the address to store, and the district when it is unambiguous."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from language.places import shapes
from language.places.gazetteer import Gazetteer
from language.places.geo import district_near
from language.places.mentions import PlaceMention, find_mentions
from language.places.normal import normalise_place_text

# How specific each kind of mention is: the address is the most specific run of mentions.
_WEIGHT = {
    "road_number": 6, "intersection": 5, "compound": 5, "landmark": 4, "building": 3, "village": 3,
    "road": 2, "area": 2, "street_office": 2, "district": 1,
}
# Mentions further apart than this, or across the end of a sentence, are two places (not one address).
_MAX_GAP = 4
_SENTENCE_END = re.compile(r"[。！？!?；;\n]")
# How a pin's label begins before the address proper (河南省郑州市金水区... keeps 金水区...).
_LABEL_PREFIX = re.compile(r"^\s*(?:中国)?\s*(?:河南省|河南)?\s*(?:郑州市|郑州)?\s*")


@dataclass(frozen=True, slots=True)
class Place:
    """The place of a text: every mention, the address to store, and its district with where that came from."""

    mentions: tuple[PlaceMention, ...]
    address: str  # the most specific mentions in reading order (金水区花园路139号绿城百合3号楼东门); "" when none
    district: str | None  # a district's name, only when unambiguous
    district_source: str | None  # "named" | "street_office" | "place" | "label" | "coordinates" | None
    pinned: tuple[PlaceMention, ...] = ()  # the mentions of a location pin's label (offsets into the label)

    @property
    def keys(self) -> frozenset[str]:
        """The keys of the mentions (the text's and the pin's), for matching one place written differently."""
        return frozenset(m.key for m in self.mentions + self.pinned)


def find_place(
    text: str, gazetteer: Gazetteer, *, label: str = "", lat: float | None = None, lon: float | None = None
) -> Place:
    """The place `text` is about, helped by a location pin's label and coordinates when the citizen sent one."""
    mentions = tuple(find_mentions(text, gazetteer))
    best = _best_run(text, mentions)
    address = _address(best)
    district, source = _district(mentions, best)
    pinned: tuple[PlaceMention, ...] = ()
    if label:
        label = _LABEL_PREFIX.sub("", label).strip()
        pin = find_place(label, gazetteer)
        pinned = pin.mentions
        if district is None and pin.district is not None:
            district, source = pin.district, "label"
        if not address:  # the pin's place, and where exactly the citizen says it is from there
            address = (pin.address or label) + _from_pin(text, pin.address or label)
    if district is None and lat is not None and lon is not None:
        district = district_near(lat, lon, gazetteer.points)
        source = "coordinates" if district else None
    return Place(mentions, address, district, source, pinned)


def relative_part(text: str) -> str:
    """Where exactly, in words (东门, 门口, 对面, 路口往南几十米), so the chat can keep it with a pinned place."""
    match = shapes.RELATIVE_ANYWHERE.search(normalise_place_text(text))
    return match.group("relative") if match else ""


def _from_pin(text: str, address: str) -> str:
    """The position a message gives next to a pin (就在这 路口往南几十米), as it follows the pin's address."""
    relative = relative_part(text)
    if address.endswith("口") and relative.startswith("路口"):
        relative = relative[2:]
    return relative


def _runs(text: str, mentions: Iterable[PlaceMention]) -> list[list[PlaceMention]]:
    """The mentions grouped into runs that read as one address (close together, in one sentence)."""
    runs: list[list[PlaceMention]] = []
    for mention in mentions:
        if runs:
            last = runs[-1][-1]
            gap = text[last.relative_end : mention.start]
            if len(gap.strip(" ，,、")) <= _MAX_GAP and not _SENTENCE_END.search(gap):
                runs[-1].append(mention)
                continue
        runs.append([mention])
    return runs


def _best_run(text: str, mentions: tuple[PlaceMention, ...]) -> list[PlaceMention]:
    """The most specific run of mentions (the first of equals)."""
    runs = _runs(text, mentions)
    if not runs:
        return []
    return max(runs, key=lambda run: sum(_WEIGHT.get(m.kind, 1) for m in run))


def _address(run: list[PlaceMention]) -> str:
    """The run as an address: each mention as it is stored, with the position words said after it."""
    parts: list[str] = []
    for mention in run:
        part = mention.form + mention.relative
        if part not in parts:
            parts.append(part)
    return "".join(parts).replace(" ", "")


def _district(mentions: tuple[PlaceMention, ...], best: list[PlaceMention]) -> tuple[str | None, str | None]:
    """The district the mentions agree on: named first, then a street office's, then a place's."""
    for source, kinds in (("named", ("district",)), ("street_office", ("street_office",)), ("place", None)):
        pool = [m for m in mentions if (m.kind in kinds if kinds else m.kind not in ("district", "street_office"))]
        found = _agreed(pool, best)
        if found is not None:
            return found, source
    return None, None


def _agreed(pool: list[PlaceMention], best: list[PlaceMention]) -> str | None:
    """The one district of the mentions in the address, else of all of them; None when they disagree."""
    for candidates in ([m for m in pool if m in best], pool):
        districts = {m.district for m in candidates if m.district}
        if len(districts) == 1:
            return next(iter(districts))
        if len(districts) > 1:
            return None
    return None
