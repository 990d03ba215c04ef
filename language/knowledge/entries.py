"""An entry of the knowledge base, and reading the entries from the catalogue's TOML files."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

# An answer must fit one phone screen with the office and number after it (docs/design.md section 1).
MAX_ANSWER = 110
_FIELDS = ("id", "topic", "title", "questions", "answer", "office", "phone", "source")


@dataclass(frozen=True, slots=True)
class Entry:
    """One common question of the city and its answer."""

    id: str
    topic: str
    title: str
    questions: tuple[str, ...]
    answer: str
    office: str
    phone: str
    source: str


def read_entries(folder: Path) -> list[Entry]:
    """Every entry of every `*.toml` file in `folder` (files and entries in order); ValueError on a bad one."""
    entries: list[Entry] = []
    seen: set[str] = set()
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise ValueError(f"no knowledge files (*.toml) in {folder}")
    for path in files:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        for n, raw in enumerate(data.get("entry", []), start=1):
            entry = _entry(raw, f"{path.name} entry {n}")
            if entry.id in seen:
                raise ValueError(f"{path.name} entry {n}: id {entry.id!r} is used twice")
            if entry.topic != path.stem:
                raise ValueError(f"{path.name} entry {n}: topic {entry.topic!r} is not the file's name")
            seen.add(entry.id)
            entries.append(entry)
    return entries


def _entry(raw: dict[str, object], where: str) -> Entry:
    """One entry from its TOML table, checked."""
    missing = [name for name in _FIELDS if not raw.get(name)]
    if missing:
        raise ValueError(f"{where}: missing {', '.join(missing)}")
    unknown = sorted(set(raw) - set(_FIELDS))
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(unknown)}")
    questions = raw["questions"]
    if not isinstance(questions, list) or not all(isinstance(q, str) and q.strip() for q in questions):
        raise ValueError(f"{where}: questions must be a list of texts")
    text = {name: raw[name] for name in _FIELDS if name != "questions"}
    if not all(isinstance(value, str) for value in text.values()):
        raise ValueError(f"{where}: every field but questions is a text")
    entry = Entry(questions=tuple(q.strip() for q in questions), **{k: str(v).strip() for k, v in text.items()})
    if len(entry.answer) > MAX_ANSWER:
        raise ValueError(f"{where}: the answer has {len(entry.answer)} characters, at most {MAX_ANSWER}")
    return entry


def read_terms(path: Path) -> list[tuple[str, ...]]:
    """The word groups of a terms file: one a line, words that mean the same separated by spaces (the first
    is the one they stand for); blank lines and `#` comments skipped."""
    groups = []
    for line in path.read_text(encoding="utf-8").splitlines():
        words = tuple(line.split("#", 1)[0].split())
        if words:
            groups.append(words)
    return groups
