"""Classification and routing of a request: what it is, where it is, and which three bodies should take it.

    type, zone and the ranked kinds of body   language/routing (the learned models read with the catalogue's cues)
    the place and its district                language/places (the gazetteer; the pin's label and coordinates)
    similar past tickets                      tickets/routing/similar.py: a unit officers gave a close request
                                              counts for its kind at once, before the models are retrained

Top-3 are three different kinds of body; the district decides which office of a kind (a city-wide body
when the district is not known). A vague request (`有个情况想反映一下`) gets no recommendation: the
conversation asks. Every recommendation says why: the catalogue's cue words, the words the model weighed,
the district and where it came from, the similar tickets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from language.places import Place
from language.routing.classifier import Reading, RequestModel
from tickets.routing.model import Catalogue
from tickets.routing.similar import PrecedentIndex, nearest

PRECEDENT_SIMILARITY = 0.45  # a past ticket this close in words votes for the kind of unit it ended with
PRECEDENT_SPAN = 0.35  # its weight grows from 0 there to PRECEDENT_MAX this much closer
PRECEDENT_MAX = 0.9
TOP = 3


@dataclass(frozen=True, slots=True)
class Recommendation:
    """A recommended unit, its probability and the reasons for it."""

    unit: str
    name: str
    kind: str
    score: float
    reasons: tuple[dict[str, Any], ...]

    def to_data(self) -> dict[str, Any]:
        """JSON-ready form (stored, and sent to the dispatch system)."""
        return {"unit": self.unit, "name": self.name, "kind": self.kind, "score": self.score,
                "reasons": list(self.reasons)}


@dataclass(frozen=True, slots=True)
class Classification:
    """What the classifier says of one request."""

    kind: str  # the type: consultation / help / complaint / report / suggestion
    zone: str  # the hot-topic zone, "" for none
    category: str  # the most likely kind of body
    district: str  # "" when not known
    district_source: str  # named / street_office / place / label / coordinates / ""
    place: str  # the place as the gazetteer normalised it ("" for none)
    recommendations: tuple[Recommendation, ...]
    confidence: float  # the calibrated probability of the best kind of body
    catalogue_version: str
    model_version: str
    vague: bool = False

    @property
    def top_unit(self) -> str:
        """The best recommended unit, "" when there is none."""
        return self.recommendations[0].unit if self.recommendations else ""


def classify(catalogue: Catalogue, model: RequestModel, description: str, place: Place, *,
             precedents: PrecedentIndex | None = None, model_version: str = "") -> Classification:
    """Classify one request (pure: no I/O)."""
    reading = model.read(description)
    district = place.district or ""
    type_ = reading.type[0] if reading.type[0] in catalogue.types else "complaint"
    if reading.vague:
        return Classification(type_, "", "", district, place.district_source or "", place.address, (), 0.0,
                              catalogue.version, model_version, vague=True)
    kinds, precedent = _with_precedent(reading, description, precedents, catalogue)
    zone = reading.zone[0] if reading.zone[0] in catalogue.zones else ""
    recommendations = []
    for kind, probability in kinds[:TOP]:
        if kind not in catalogue.kinds:
            continue
        unit = catalogue.unit_for(kind, district or None)
        reasons: list[dict[str, Any]] = []
        cues = [w for w in reading.reasons.get(kind, ()) if w in catalogue.kinds[kind].keywords]
        learned = _readable([w for w in reading.reasons.get(kind, ()) if w not in cues])
        if cues:
            reasons.append({"kind": "keywords", "words": cues})
        if learned:
            reasons.append({"kind": "learned", "words": learned})
        if precedent is not None and precedent[0] == kind:
            reasons.append({"kind": "similar", "tickets": [precedent[1]], "similarity": precedent[2]})
        if unit.districts:
            reasons.append({"kind": "district", "district": district, "source": place.district_source or ""})
        recommendations.append(Recommendation(unit.id, unit.name, kind, round(probability, 4), tuple(reasons)))
    return Classification(type_, zone, kinds[0][0], district, place.district_source or "", place.address,
                          tuple(recommendations), round(kinds[0][1], 4), catalogue.version, model_version)


def _readable(words: list[str]) -> list[str]:
    """The model's weighed n-grams an officer can read: Chinese only, none inside another one shown."""
    kept = [w for w in words if len(w) >= 2 and all("\u4e00" <= c <= "\u9fff" for c in w)]
    return [w for w in kept if not any(w != other and w in other for other in kept)]


def _with_precedent(reading: Reading, description: str, precedents: PrecedentIndex | None,
                    catalogue: Catalogue) -> tuple[list[tuple[str, float]], tuple[str, int, float] | None]:
    """The kinds, raised for the kind of unit the closest corrected past ticket ended with."""
    kinds = list(reading.kinds)
    if precedents is None:
        return kinds, None
    found = nearest(description, precedents, k=1, floor=PRECEDENT_SIMILARITY)
    if not found or found[0].similarity < PRECEDENT_SIMILARITY:
        return kinds, None
    best = found[0]
    kind = catalogue.kind_of(best.precedent.unit)
    if not kind:
        return kinds, None
    # A mixture: the closer the corrected ticket, the more its unit's kind weighs against the model's reading
    # (the model is sure of its cue words; an officer who decided a near-identical request knows better).
    weight = min(PRECEDENT_MAX, (best.similarity - PRECEDENT_SIMILARITY) / PRECEDENT_SPAN)
    raised = [(k, (1 - weight) * p + (weight if k == kind else 0.0)) for k, p in kinds]
    if kind not in dict(kinds):
        raised.append((kind, weight))
    total = sum(p for _, p in raised) or 1.0
    ranked = sorted(((k, p / total) for k, p in raised), key=lambda item: item[1], reverse=True)
    return ranked, (kind, best.precedent.ticket_id, round(best.similarity, 3))
