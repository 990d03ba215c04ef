"""The triage of one message (or a draft's whole text): emergency, urgent, redirect, unsure or normal,
with the reasons, and what was set aside as past, hypothetical, negated, hearsay or figurative.

Order of precedence: a danger now (emergency, then urgent) before anything else; then a matter for a
court, arbitration or mediation; then a possible danger (unsure); else normal. A danger whose words the
writer doubts (`不知道是不是着火`) is asked about (unsure) rather than asserted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from language.lexicon import Hit, Lexicon
from language.text import normalise_for_reading
from language.triage import modality
from language.triage.concepts import CONCEPTS, INDOORS, OUTDOORS, WEAK_SMELLS, Concept, Kind

_RANK = {Kind.EMERGENCY: 0, Kind.URGENT: 1, Kind.REDIRECT: 2, Kind.UNSURE: 3, Kind.NORMAL: 4}
_DONE_ENDINGS = "来了倒掉断塌"
_REDIRECTS = tuple(f"{c.name}:" for c in CONCEPTS if c.kind is Kind.REDIRECT)
_DOUBTED = {"fire", "medical", "crime", "traffic_accident"}  # asserted only when the writer does not doubt them


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a concept fired: its words as found, and the clause they stand in."""

    concept: str
    kind: Kind
    words: tuple[str, ...]
    clause: str


@dataclass(frozen=True, slots=True)
class Decision:
    """The triage of a text."""

    kind: Kind
    concepts: tuple[str, ...] = ()  # the concepts of `kind`, strongest first
    services: tuple[str, ...] = ()  # emergency numbers to give, by key (110, 119, 120, 122, gas)
    reasons: tuple[Reason, ...] = ()
    set_aside: tuple[tuple[str, str], ...] = field(default=())  # (concept, why): past, hypothetical, ...
    noticed: bool = False  # the text names an object or a state of some danger, whatever was decided

    @property
    def danger(self) -> bool:
        """Emergency or urgent: someone must act now."""
        return self.kind in (Kind.EMERGENCY, Kind.URGENT)

    def to_data(self, clean: Callable[[str], str] = str) -> dict[str, object]:
        """JSON-ready, for storage and the dispatch system; `clean` is applied to the citizen's words quoted
        (the caller masks the personal numbers in them)."""
        return {"kind": self.kind.value, "concepts": list(self.concepts), "services": list(self.services),
                "reasons": [{"concept": r.concept, "words": [w for w in r.words if not any(c.isdigit() for c in w)],
                             "clause": clean(r.clause[:80])} for r in self.reasons],
                "set_aside": [{"concept": c, "why": w} for c, w in self.set_aside]}


NORMAL = Decision(Kind.NORMAL)


@lru_cache(maxsize=1)
def _lexicon() -> Lexicon:
    vocabulary: dict[str, list[str]] = {}
    for concept in CONCEPTS:
        for role, terms in (("phrase", concept.phrases), ("object", concept.objects), ("state", concept.states),
                            ("unless", concept.unless), ("now", concept.now_words)):
            vocabulary.setdefault(f"{concept.name}:{role}", []).extend(terms)
    vocabulary["place:in"] = list(INDOORS)
    vocabulary["place:out"] = list(OUTDOORS)
    return Lexicon(vocabulary)


_BY_NAME = {concept.name: concept for concept in CONCEPTS}


def triage(text: str) -> Decision:
    """Decide what `text` asks of the city: see the module docstring."""
    plain = normalise_for_reading(text)
    if not plain:
        return NORMAL
    reading = modality.read(plain)
    hits = _lexicon().scan(reading.text)
    by_label: dict[str, list[Hit]] = {}
    for hit in hits:
        by_label.setdefault(hit.label, []).append(hit)
    fired: dict[str, Reason] = {}
    set_aside: dict[str, str] = {}
    for concept in CONCEPTS:
        found = _fire(concept, by_label, reading)
        if found is None:
            continue
        words, start, end = found
        why = modality.mood_at(reading, start, end, lasting=concept.lasting)
        if concept.kind is Kind.REDIRECT and why in ("past", "resolved"):
            why = None  # a case filed before is still before the court
        if why is not None:
            set_aside.setdefault(concept.name, why)
            continue
        c_start, c_end = reading.clauses[modality.clause_of(reading, start)] if reading.clauses else (0, len(plain))
        fired[concept.name] = Reason(concept.name, concept.kind, words, plain[c_start:c_end])
    _place_gas(fired, by_label)
    if modality.uncertain(reading):
        for name in [n for n in fired if n in _DOUBTED or (n.startswith("gas_") and _weak_gas(fired[n]))]:
            reason = fired.pop(name)
            fired.setdefault(f"{name}?", Reason(f"{name}?", Kind.UNSURE, reason.words, reason.clause))
    if not fired:
        # A state or a telling phrase of some danger, or an object named in two characters or more: a bare
        # 路 or 门 is in every address and notices nothing.
        noticed = any(not label.startswith(_REDIRECTS) and (label.endswith((":state", ":phrase")) or (
            label.endswith(":object") and any(len(hit.term) >= 2 for hit in found)))
            for label, found in by_label.items())
        return Decision(Kind.NORMAL, set_aside=tuple(set_aside.items()), noticed=noticed)
    reasons = sorted(fired.values(), key=lambda r: _RANK[r.kind])
    kind = reasons[0].kind
    chosen = tuple(r for r in reasons if r.kind is kind)
    services: list[str] = []
    if kind is Kind.EMERGENCY:
        for reason in chosen:
            for service in _BY_NAME[reason.concept].services:
                if service not in services:
                    services.append(service)
    return Decision(kind, tuple(r.concept for r in chosen), tuple(services), tuple(reasons),
                    tuple(set_aside.items()), noticed=True)


def _fire(concept: Concept, hits: dict[str, list[Hit]], reading: modality.Reading
          ) -> tuple[tuple[str, ...], int, int] | None:
    """The words that make `concept` fire in the text, and their span; None when it does not."""
    name = concept.name
    if concept.unless and f"{name}:unless" in hits:
        return None
    # a two-character phrase is evidence on its own only as written: by sound it meets too many words
    phrases = [h for h in hits.get(f"{name}:phrase", [])
               if h.end - h.start > 2 or reading.text[h.start:h.end] == h.term]
    pairs: list[tuple[Hit, Hit]] = []
    objects = hits.get(f"{name}:object", [])
    states = hits.get(f"{name}:state", [])
    if objects and states:
        for obj in objects:
            if _negated_object(reading, obj):
                continue  # 没有电梯: there is no lift to be stuck in
            clause = modality.clause_of(reading, obj.start)
            for state in states:
                if state.start < obj.end and obj.start < state.end:
                    continue  # the same characters cannot be both
                if concept.ordered and state.start < obj.start:
                    continue
                if reading.text[state.end:state.end + 1] == "的" and state.term[-1] in _DONE_ENDINGS:
                    continue  # 掉下来的树枝: said of a thing, not happening
                gap = state.start - obj.end if state.start >= obj.end else obj.start - state.end
                # a burst of speech splits one thought into clauses: the next clause still counts
                if gap <= concept.window and abs(modality.clause_of(reading, state.start) - clause) <= 1:
                    pairs.append((obj, state))
    if pairs and concept.needs_now and not (_now(reading) or f"{name}:now" in hits):
        pairs = []  # an object in a state says nothing of when; a phrase (侧翻, 着火了) tells an event
    candidates: list[tuple[tuple[str, ...], int, int]] = [((h.term,), h.start, h.end) for h in phrases]
    # the state is the event: its place in the sentence decides whether it is now (要是哪天漏气了)
    candidates += [((o.term, s.term), s.start, s.end) for o, s in pairs]
    if not candidates:
        return None
    for words, start, end in candidates:  # the first one that is about now decides
        if modality.mood_at(reading, start, end, lasting=concept.lasting) is None:
            return words, start, end
    return candidates[0]


def _negated_object(reading: modality.Reading, obj: Hit) -> bool:
    before = reading.text[max(0, obj.start - 2):obj.start]
    return before.endswith(("没有", "没", "无", "木有"))


def _weak_gas(reason: Reason) -> bool:
    """A gas appliance and a smell nobody names (有一股味): gas is likely, not said."""
    return len(reason.words) == 2 and reason.words[1] in WEAK_SMELLS


def _now(reading: modality.Reading) -> bool:
    return any(cue.label == "present" for cue in reading.cues)


def _place_gas(fired: dict[str, Reason], hits: dict[str, list[Hit]]) -> None:
    """A gas smell outdoors with nothing indoors is urgent (ours); anywhere else it is an emergency."""
    indoor = "gas_indoor" in fired
    outdoor = "gas_outdoor" in fired
    if not (indoor or outdoor):
        return
    inside = "place:in" in hits
    outside = "place:out" in hits
    if outside and not inside:
        fired.pop("gas_indoor", None)
    else:
        fired.pop("gas_outdoor", None)
