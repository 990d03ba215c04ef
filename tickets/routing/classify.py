"""Classification and routing of a request, as pure functions of the catalogue and past tickets.

type (咨询/求助/投诉/举报/建议) and urgency from marker words; the category (and so the zone) from the
catalogue's keywords; the district from the address or location label; then up to three units, scored by

    rule     the units that handle the matched categories, the local (属地) one first when the district is known
    similar  past tickets close in text, voting for the unit each ended with (an office of the same kind in
             the ticket's own district when theirs was elsewhere)

and a confidence (0..1) from how clearly the best unit leads. Every recommendation says why.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tickets.routing.model import Catalogue, Category, District, Unit
from tickets.routing.similar import Neighbour, Precedent, PrecedentIndex, nearest

LEARNED_WEIGHT = 1.0  # a neighbour at similarity 1.0 weighs as a fully matched rule
FULL_MATCH = 4  # characters of matched keywords that make a category certain
OTHER_CATEGORY = 0.6  # the runner-up categories' units, relative to their match
ZONE_ONLY = 0.5  # a unit that handles the whole zone, next to one named for the category
NOT_LOCAL = 0.5  # a city-wide unit, when a local one covers the ticket's district
UNPLACED = 0.4  # a district office, when the ticket's district is not known


@dataclass(frozen=True, slots=True)
class Recommendation:
    """A recommended unit, its score and the reasons for it."""

    unit: str
    name: str
    score: float
    reasons: tuple[dict[str, Any], ...]

    def to_data(self) -> dict[str, Any]:
        """JSON-ready form (stored, and sent to the dispatch system)."""
        return {"unit": self.unit, "name": self.name, "score": self.score, "reasons": list(self.reasons)}


@dataclass(frozen=True, slots=True)
class Classification:
    """What the classifier says of one request."""

    kind: str
    zone: str
    category: str
    urgency: str
    district: str
    out_of_scope: tuple[str, ...]
    recommendations: tuple[Recommendation, ...]
    confidence: float
    catalogue_version: str

    @property
    def top_unit(self) -> str:
        """The best unit's id ("" when nothing matched)."""
        return self.recommendations[0].unit if self.recommendations else ""


@dataclass(slots=True)
class _Candidate:
    unit: str
    name: str
    score: float = 0.0
    reasons: list[dict[str, Any]] = field(default_factory=list)


def classify(catalogue: Catalogue, description: str, place: str = "",
             precedents: Sequence[Precedent] | PrecedentIndex = ()) -> Classification:
    """Classify a request (its description and its address or location label) and recommend units."""
    text = description.strip()
    matched = _categories(catalogue, text)
    district, district_word = _district(catalogue.districts, place, text)
    candidates: dict[str, _Candidate] = {}
    _rule_votes(catalogue, matched, district, candidates)
    _learned_votes(catalogue, nearest(text, precedents), district, candidates)
    ranked = sorted(candidates.values(), key=lambda c: (-c.score, c.unit))[:3]
    if district and district_word:
        for cand in ranked:
            unit = catalogue.units.get(cand.unit)
            if unit is not None and district in unit.districts:
                cand.reasons.append({"kind": "district", "district": district, "word": district_word})
    category = _category_of(catalogue, matched, ranked)
    referrals = out_of_scope(catalogue, text)
    return Classification(
        kind=_kind(catalogue, text), zone=category.zone if category else _zone_of(catalogue, ranked),
        category=category.id if category else "", urgency=_urgency(catalogue, text, referrals),
        district=district, out_of_scope=referrals,
        recommendations=tuple(Recommendation(c.unit, c.name, round(c.score, 3), tuple(c.reasons)) for c in ranked),
        confidence=_confidence(ranked, matched), catalogue_version=catalogue.version,
    )


def out_of_scope(catalogue: Catalogue, text: str) -> tuple[str, ...]:
    """The out-of-scope matters the text names (an emergency, a case already in court ...), in catalogue order."""
    return tuple(r.id for r in catalogue.referrals
                 if any(w in text for w in r.keywords) and not any(w in text for w in r.unless))


def _categories(catalogue: Catalogue, text: str) -> list[tuple[Category, float, list[str]]]:
    """Categories whose keywords occur, with a strength (0..1) and the words; strongest first."""
    found = []
    for category in catalogue.categories:
        words = [w for w in category.keywords if w in text]
        if words:
            found.append((category, min(1.0, sum(len(w) for w in words) / FULL_MATCH), words))
    found.sort(key=lambda m: -m[1])
    return found[:3]


def _district(districts: Sequence[District], place: str, text: str) -> tuple[str, str]:
    """The district named in the place (else in the description), by its longest matching word."""
    for source in (place, text):
        best = max(((len(w), d.id, w) for d in districts for w in d.words if w in source), default=None)
        if best is not None:
            return best[1], best[2]
    return "", ""


def _rule_votes(catalogue: Catalogue, matched: list[tuple[Category, float, list[str]]], district: str,
                candidates: dict[str, _Candidate]) -> None:
    for rank, (category, strength, words) in enumerate(matched):
        handlers = [u for u in catalogue.units.values() if u.handles(category)]
        if district:
            handlers = [u for u in handlers if not u.districts or district in u.districts]
        named = any(category.id in u.categories for u in handlers)
        # A local office outranks a city-wide one of the same specificity (named for the category, or not).
        local = {category.id in u.categories for u in handlers if u.districts} if district else set()
        for unit in handlers:
            specific = category.id in unit.categories
            score = strength * (1.0 if rank == 0 else OTHER_CATEGORY)
            if named and not specific:
                score *= ZONE_ONLY
            if not unit.districts and specific in local:
                score *= NOT_LOCAL
            if unit.districts and not district:
                score *= UNPLACED
            cand = candidates.setdefault(unit.id, _Candidate(unit.id, unit.name))
            if score > cand.score:
                cand.score = score
            cand.reasons.append({"kind": "rule", "category": category.id, "words": words})


def _local(catalogue: Catalogue, unit: Unit, district: str) -> Unit | None:
    """The unit itself, or its office of the same kind in the ticket's district (None if there is none)."""
    if not unit.districts or not district or district in unit.districts:
        return unit
    return next((u for u in catalogue.units.values() if u.kind == unit.kind and district in u.districts), None)


def _learned_votes(catalogue: Catalogue, neighbours: list[Neighbour], district: str,
                   candidates: dict[str, _Candidate]) -> None:
    votes: dict[str, list[Neighbour]] = defaultdict(list)
    for nb in neighbours:
        unit = catalogue.units.get(nb.precedent.unit)
        if unit is None:  # a unit the catalogue does not know yet: recommend it by the name officers gave
            votes[nb.precedent.unit].append(nb)
            continue
        local = _local(catalogue, unit, district)
        if local is not None:
            votes[local.id].append(nb)
    total = sum(nb.similarity for nb in neighbours)
    best = max((nb.similarity for nb in neighbours), default=0.0)
    for unit_id, backing in votes.items():
        unit = catalogue.units.get(unit_id)
        cand = candidates.setdefault(unit_id, _Candidate(unit_id, unit.name if unit else unit_id))
        # The unit's share of the neighbours' votes, as sure as the closest neighbour is similar.
        cand.score += LEARNED_WEIGHT * best * sum(nb.similarity for nb in backing) / total
        cand.reasons.append({"kind": "similar", "tickets": [nb.precedent.ticket_id for nb in backing],
                             "similarity": max(nb.similarity for nb in backing)})


def _category_of(catalogue: Catalogue, matched: list[tuple[Category, float, list[str]]],
                 ranked: list[_Candidate]) -> Category | None:
    """The matched category the best unit handles (the strongest match when it handles none)."""
    if not matched:
        return None
    top = catalogue.units.get(ranked[0].unit) if ranked else None
    if top is not None:
        for category, _, _ in matched:
            if top.handles(category):
                return category
    return matched[0][0]


def _zone_of(catalogue: Catalogue, ranked: list[_Candidate]) -> str:
    """Without a matched keyword: the zone of the best unit, when it handles exactly one."""
    top = catalogue.units.get(ranked[0].unit) if ranked else None
    if top is None:
        return ""
    zones = set(top.zones) | {c.zone for c in catalogue.categories if c.id in top.categories}
    return zones.pop() if len(zones) == 1 else ""


def _kind(catalogue: Catalogue, text: str) -> str:
    """The request type whose marker words weigh most; the catalogue's first type when none occur."""
    order = list(catalogue.types)
    scores = {kind: sum(len(w) for w in words if w in text) for kind, words in catalogue.types.items()}
    best = max(order, key=lambda k: (scores[k], -order.index(k)))
    return best if scores[best] else order[0]


def _urgency(catalogue: Catalogue, text: str, referrals: tuple[str, ...]) -> str:
    if referrals or any(w in text for w in catalogue.urgency["urgent"]):
        return "urgent"
    return "high" if any(w in text for w in catalogue.urgency["high"]) else "normal"


def _confidence(ranked: list[_Candidate], matched: list[tuple[Category, float, list[str]]]) -> float:
    """How clearly the best unit leads: its share of the top two scores, times how sure its evidence is."""
    if not ranked:
        return 0.0
    first = ranked[0].score
    second = ranked[1].score if len(ranked) > 1 else 0.0
    evidence = max([first, matched[0][1] if matched else 0.0])
    return round(min(1.0, evidence) * first / (first + second), 3) if first > 0 else 0.0
