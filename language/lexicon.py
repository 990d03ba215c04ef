"""Finding a vocabulary's terms in a text by sound as well as by spelling.

A `Lexicon` maps terms to labels (a concept's object, a state, a time cue ...). Terms of two characters
or more are matched on the phonetic key (language/phonetic.py), so homophones written by speech
recognition or a slip of the keyboard still count; one-character terms are matched as written, since a
single syllable has too many homophones. Scanning is a dictionary look-up per position and term length:
tens of microseconds for a message, whatever the size of the vocabulary.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from language import phonetic, words


@dataclass(frozen=True, slots=True)
class Hit:
    """A term found in a text: its label, the term as listed, and where it stands in the text."""

    label: str
    term: str
    start: int
    end: int


class Lexicon:
    """Terms with labels, matched by sound (two characters or more) or as written (one character)."""

    def __init__(self, vocabulary: Mapping[str, Iterable[str]], *, by_sound: bool = True) -> None:
        """`by_sound=False` matches every term as written (function words: 去年, 万一, 没有)."""
        self._by_sound = by_sound
        self._by_key: dict[str, list[tuple[str, str]]] = {}
        self._single: dict[str, list[tuple[str, str]]] = {}
        for label, terms in vocabulary.items():
            for term in terms:
                if len(term) == 1:
                    self._single.setdefault(term, []).append((label, term))
                else:
                    spelt = phonetic.key(term) if by_sound else term
                    self._by_key.setdefault(spelt, []).append((label, term))
        starts: dict[str, set[int]] = {}
        for spelt in self._by_key:
            starts.setdefault(spelt[0], set()).add(len(spelt))
        # the term lengths to try where a character stands: most characters begin no term at all
        self._starts = {first: tuple(sorted(lengths, reverse=True)) for first, lengths in starts.items()}
        self._words = words.frequencies()

    def scan(self, text: str) -> list[Hit]:
        """Every term in `text` (overlapping ones too), in order of position, longest first at a position."""
        sounds = phonetic.key(text) if self._by_sound else text
        found: list[Hit] = []
        size = len(text)
        by_key, single = self._by_key, self._single
        starts = self._starts
        for start in range(size):
            for length in starts.get(sounds[start], ()):
                end = start + length
                if end > size:
                    continue
                entries = by_key.get(sounds[start:end])
                if entries:
                    written = text[start:end]
                    found.extend(Hit(label, term, start, end) for label, term in entries
                                 if term == written or self._homophone(text, start, end, term))
            entries = single.get(text[start])
            if entries:
                found.extend(Hit(label, term, start, start + 1) for label, term in entries)
        return found


    def _homophone(self, text: str, start: int, end: int, term: str) -> bool:
        """Whether text[start:end], which sounds like `term`, is a slip for it rather than other words.

        A slip keeps part of the term as written (井概, 然气, 派出锁): at least one character of two, half
        of longer ones.
        """
        written = text[start:end]
        if 2 * sum(a == b for a, b in zip(written, term, strict=True)) < len(term) - (len(term) == 2):
            return False
        known = self._words
        if written in known:
            return False
        if end - start > 2:
            return True  # three syllables alike, two of them as written: no accident
        for boundary in (start, end):
            for left in range(max(0, boundary - 3), boundary):
                for right in range(boundary + 1, min(len(text), left + 4) + 1):
                    if text[left:right] in known:
                        return False
        return True
