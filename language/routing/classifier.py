"""What a request is about: its type, its hot-topic zone and the kinds of body that handle it, ranked.

Three linear models over character n-grams and their sounds (language/learning.py) are trained on
labelled requests (the catalogue's examples, the corpus's dev part, officers' corrections) and on the
catalogue's cue words as short examples of their own. At reading time the model's probabilities are
raised for the kinds (types, zones) whose cue words the text holds: clear cases are decided by the
catalogue, the long tail by the model. Each kind's reasons are its cue words found and the n-grams that
spoke most for it. The probabilities stay calibrated: a cue is worth a fixed factor, fitted on held-apart
requests like the model's temperature.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from language.learning import TextModel
from language.lexicon import Lexicon
from language.routing.vague import is_vague
from language.text import normalise_for_reading

NO_ZONE = "none"  # the zone label of a request outside every hot-topic zone ("" outside this module)
CUE_FACTOR = 4.0  # how much more likely a kind (type, zone) becomes for each of its cue words in the text


@dataclass(frozen=True, slots=True)
class Example:
    """A labelled request: `kind` is the body's kind, `type` one of the five types, `zone` "" for none."""

    text: str
    kind: str | None = None
    type: str | None = None
    zone: str | None = None


@dataclass(frozen=True, slots=True)
class Cues:
    """The catalogue's cue words: per kind of body, per type, per hot-topic zone."""

    kinds: Mapping[str, Sequence[str]] = field(default_factory=dict)
    types: Mapping[str, Sequence[str]] = field(default_factory=dict)
    zones: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reading:
    """The understanding of one request."""

    kinds: tuple[tuple[str, float], ...]  # every kind with its probability, most likely first
    type: tuple[str, float]
    zone: tuple[str, float]  # ("", p) outside every hot-topic zone
    reasons: Mapping[str, tuple[str, ...]]  # kind -> cue words found, then the n-grams that spoke for it
    vague: bool

    @property
    def kind(self) -> str:
        """The most likely kind of body."""
        return self.kinds[0][0]

    @property
    def confidence(self) -> float:
        """The probability of the most likely kind."""
        return self.kinds[0][1]


class RequestModel:
    """The three models and the cue words they are read with."""

    def __init__(self, kind: TextModel, type_: TextModel, zone: TextModel, cues: Cues) -> None:
        self.kind_model, self.type_model, self.zone_model, self.cues = kind, type_, zone, cues
        self._lexicon = Lexicon({f"{role}:{label}": words for role, table in
                                 (("kind", cues.kinds), ("type", cues.types), ("zone", cues.zones))
                                 for label, words in table.items()})

    @classmethod
    def train(cls, examples: Iterable[Example], cues: Cues) -> RequestModel:
        """Fit the three models on `examples` and on the cue words (each a short example of its label)."""
        rows = list(examples)

        def fit(pairs: list[tuple[str, str]], table: Mapping[str, Sequence[str]], c: float) -> TextModel:
            pairs += [(word, label) for label, words in table.items() for word in words]
            return TextModel.train([t for t, _ in pairs], [y for _, y in pairs], method="svm", c=c)

        kind = fit([(r.text, r.kind) for r in rows if r.kind], cues.kinds, 0.5)
        type_ = fit([(r.text, r.type) for r in rows if r.type], cues.types, 0.5)
        zone = fit([(r.text, r.zone or NO_ZONE) for r in rows if r.zone is not None and r.kind],
                   {**cues.zones}, 0.5)
        return cls(kind, type_, zone, cues)

    def read(self, text: str) -> Reading:
        """Type, zone and kinds of body of `text`, with reasons."""
        plain = normalise_for_reading(text)
        found: dict[str, list[str]] = {}
        for hit in self._lexicon.scan(plain):
            found.setdefault(hit.label, [])
            if hit.term not in found[hit.label]:
                found[hit.label].append(hit.term)
        kinds = _boosted(self.kind_model, text, found, "kind")
        type_ = _boosted(self.type_model, text, found, "type")[0]
        zone_label, zone_p = _boosted(self.zone_model, text, found, "zone")[0]
        reasons = {}
        for name, _ in kinds[:3]:
            learned = [g for g in self.kind_model.strongest(text, name, 3) if g not in found.get(f"kind:{name}", [])]
            reasons[name] = tuple(found.get(f"kind:{name}", [])[:3]) + tuple(learned)
        return Reading(tuple(kinds), type_, ("" if zone_label == NO_ZONE else zone_label, zone_p), reasons,
                       is_vague(text))

    def dumps(self) -> bytes:
        """The models and cues as bytes, for storage (tickets/routing/store.py)."""
        parts = {"kind": self.kind_model.dumps(), "type": self.type_model.dumps(), "zone": self.zone_model.dumps()}
        buffer = io.BytesIO()
        cues = json.dumps({"kinds": dict(self.cues.kinds), "types": dict(self.cues.types),
                           "zones": dict(self.cues.zones)}, ensure_ascii=False).encode()
        arrays = {name: np.frombuffer(data, dtype=np.uint8) for name, data in parts.items()}
        arrays["cues"] = np.frombuffer(cues, dtype=np.uint8)
        np.savez(buffer, **arrays)  # type: ignore[arg-type]
        return buffer.getvalue()

    @classmethod
    def loads(cls, data: bytes) -> RequestModel:
        """A model from `dumps` (arrays only: nothing is executed)."""
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            cues = json.loads(arrays["cues"].tobytes().decode())
            models = {name: TextModel.loads(arrays[name].tobytes()) for name in ("kind", "type", "zone")}
        return cls(models["kind"], models["type"], models["zone"],
                   Cues(cues["kinds"], cues["types"], cues["zones"]))


def _boosted(model: TextModel, text: str, found: Mapping[str, list[str]], role: str) -> list[tuple[str, float]]:
    """The model's probabilities, each label raised by CUE_FACTOR per cue word of it found, renormalised."""
    probabilities = model.probabilities(text)
    weights = {label: p * math.pow(CUE_FACTOR, len(found.get(f"{role}:{label}", ()))) for label, p in
               probabilities.items()}
    total = sum(weights.values()) or 1.0
    return sorted(((label, w / total) for label, w in weights.items()), key=lambda item: item[1], reverse=True)
