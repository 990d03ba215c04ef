"""A learned second opinion: a danger the concepts missed becomes a safety question, never an assertion.

The concepts (decide.py) decide; a linear model over character n-grams and their sounds (language/learning.py),
trained on the labelled corpora, is asked only when the concepts found nothing and the text names something
that can be dangerous (an object or a state of a danger concept). When it is confident of a danger, the
decision becomes `unsure`: the bot asks one safety question (`现在有人被困或者受伤吗？`). A past,
hypothetical, negated, hearsay or figurative use the concepts set aside stays set aside: the model does not
read time or mood. The safety classes never rest on the model alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from language.learning import TextModel
from language.triage.concepts import Kind
from language.triage.decide import Decision, Reason, triage

DANGER, OTHER = "danger", "other"


def train(examples: Iterable[tuple[str, str]]) -> TextModel:
    """A model of danger from (text, triage label) pairs: emergency and urgent are dangers."""
    texts, labels = [], []
    for text, label in examples:
        texts.append(text)
        labels.append(DANGER if label in (Kind.EMERGENCY, Kind.URGENT) else OTHER)
    return TextModel.train(texts, labels)


def examples_from(folder: Path) -> list[tuple[str, str]]:
    """The labelled lines of a training folder: `triage*.jsonl` as labelled, `requests*.jsonl` as normal
    (requests for routing: ordinary matters, whatever danger a few of them mention is labelled there)."""
    found: list[tuple[str, str]] = []
    for path in sorted(folder.glob("triage*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                found.append((str(row["text"]), str(row["label"])))
    for path in sorted(folder.glob("requests*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                text = str(json.loads(line)["text"])
                if triage(text).kind is Kind.NORMAL:  # a request that mentions a danger now is not a negative
                    found.append((text, Kind.NORMAL.value))
    return found


class Triage:
    """The concepts, with a learned second opinion for what they miss."""

    def __init__(self, model: TextModel | None = None, threshold: float = 0.6) -> None:
        self.model = model
        self.threshold = threshold
        # A message is triaged as it arrives, with its draft, and when its ticket opens: each text once.
        self._decide = lru_cache(maxsize=2048)(self._uncached)

    def __call__(self, text: str) -> Decision:
        """The decision for `text` (see the module docstring); decisions are immutable and remembered."""
        return self._decide(text)

    def afresh(self, text: str) -> Decision:
        """The decision made anew, not remembered: what reading a text the process has not seen costs."""
        return self._uncached(text)

    def _uncached(self, text: str) -> Decision:
        decision = triage(text)
        if self.model is None or decision.kind is not Kind.NORMAL or decision.set_aside or not decision.noticed:
            return decision
        probability = self.model.probabilities(text)[DANGER]
        if probability < self.threshold:
            return decision
        words = tuple(self.model.strongest(text, DANGER))
        reason = Reason("learned", Kind.UNSURE, words, text[:80])
        return Decision(Kind.UNSURE, ("learned",), (), (reason,), decision.set_aside)
