"""Triage: is someone in danger now, and is this the city's to handle at all?

    concepts.py   the dangers and the matters that are not ours, as objects, states and phrases
    modality.py   whether words describe now: past, hypothetical, negated, hearsay, figurative
    decide.py     the decision for a text, with its reasons: `triage(text) -> Decision`
    learned.py    `Triage`: the same, with a learned second opinion that turns a missed danger into a question
"""

from language.triage.concepts import Kind
from language.triage.decide import Decision, Reason, triage
from language.triage.learned import Triage

__all__ = ["Decision", "Kind", "Reason", "Triage", "triage"]
