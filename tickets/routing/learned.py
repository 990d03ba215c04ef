"""The learned routing models: trained on the catalogue's examples, then again with officers' corrections.

- The base model of a catalogue version is trained from the catalogue's example files and cue words. It is
  the same on every machine for the same files, so it is trained once and kept in a file cache keyed by
  their hash (the system's temporary folder): a process loads it in milliseconds instead of training.
- A sweep (`retrain`, workers/sweeps.py) trains again when officers have corrected enough tickets since the
  last model, and keeps the model as a row of `routing_models` for that catalogue version; every process
  uses the newest row of the catalogue in force (looked up at most every 30 seconds), else the base.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from language.routing.classifier import Example, RequestModel
from tickets.routing.model import Catalogue
from tickets.settings import CATALOGUE_DIR
from tickets.storage.schema import routing_corrections, routing_models

FORMAT = "routing-model/1"  # bumped when features or training change, so cached files are not reused
RETRAIN_AFTER = 20  # corrections since the last model that make the sweep train again
_CHECK_S = 30.0
_CACHE = Path(tempfile.gettempdir()) / "petition-gateway" / "models"


@dataclass(frozen=True, slots=True)
class Learned:
    """A model and its version (the hash of what it was trained on)."""

    model: RequestModel
    version: str


def examples(catalogue: Catalogue, folder: Path = CATALOGUE_DIR) -> list[Example]:
    """The labelled requests of the catalogue's example files."""
    names = {name: t for t, (name, _) in catalogue.types.items()}
    found: list[Example] = []
    for relative in catalogue.examples:
        for line in (folder / relative).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if row.get("vague") or row.get("unit") not in catalogue.kinds:
                continue
            found.append(Example(str(row["text"]), str(row["unit"]), names.get(str(row.get("type")), row.get("type")),
                                 str(row.get("zone") or "")))
    return found


def _version(catalogue: Catalogue, rows: Iterable[Example]) -> str:
    digest = hashlib.sha256(f"{FORMAT}|{catalogue.version}".encode())
    for row in rows:
        digest.update(f"\x00{row.text}\x01{row.kind}\x01{row.type}\x01{row.zone}".encode())
    return digest.hexdigest()[:24]


_BASE: dict[tuple[str, Path], Learned] = {}


def base(catalogue: Catalogue, folder: Path = CATALOGUE_DIR) -> Learned:
    """The model of the catalogue's own examples (from the file cache when it holds it), once per process."""
    key = (catalogue.version, folder)
    if key not in _BASE:
        _BASE[key] = _base(catalogue, folder)
    return _BASE[key]


def _base(catalogue: Catalogue, folder: Path) -> Learned:
    rows = examples(catalogue, folder)
    version = _version(catalogue, rows)
    path = _CACHE / f"{version}.npz"
    try:
        return Learned(RequestModel.loads(path.read_bytes()), version)
    except (OSError, ValueError, KeyError):
        pass
    model = RequestModel.train(rows, catalogue.cues())
    _CACHE.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.part")
    temporary.write_bytes(model.dumps())
    temporary.replace(path)  # atomic: two processes training at once both write a whole file
    return Learned(model, version)


_CURRENT: weakref.WeakKeyDictionary[sa.Engine, tuple[float, str, Learned]] = weakref.WeakKeyDictionary()
_LOADED: dict[str, Learned] = {}


def current(conn: sa.Connection, catalogue: Catalogue) -> Learned:
    """The model in force for the catalogue: its newest trained row, else its base model."""
    cached = _CURRENT.get(conn.engine)
    if cached is not None and cached[1] == catalogue.version and time.monotonic() - cached[0] < _CHECK_S:
        return cached[2]
    row = conn.execute(sa.select(routing_models.c.id, routing_models.c.version)
                       .where(routing_models.c.catalogue_version == catalogue.version)
                       .order_by(routing_models.c.id.desc()).limit(1)).one_or_none()
    if row is None:
        found = base(catalogue)
    elif row.version in _LOADED:
        found = _LOADED[row.version]
    else:
        body = conn.execute(sa.select(routing_models.c.body).where(routing_models.c.id == row.id)).scalar_one()
        found = _LOADED.setdefault(row.version, Learned(RequestModel.loads(body), row.version))
    _CURRENT[conn.engine] = (time.monotonic(), catalogue.version, found)
    return found


@dataclass(frozen=True, slots=True)
class Lessons:
    """What a new model would be trained on: the catalogue's examples and officers' corrections."""

    examples: list[Example]
    corrections: int
    last_correction_id: int


def lessons(conn: sa.Connection, catalogue: Catalogue, *, after: int = RETRAIN_AFTER) -> Lessons | None:
    """The lessons for a new model when `after` or more corrections arrived since the last one, else None.
    Each corrected ticket teaches the kind of the unit it ended with (its last correction)."""
    last = conn.execute(sa.select(sa.func.max(routing_models.c.last_correction_id))
                        .where(routing_models.c.catalogue_version == catalogue.version)).scalar() or 0
    newest = conn.execute(sa.select(sa.func.max(routing_corrections.c.id))).scalar() or 0
    if newest - last < after:
        return None
    corrections = conn.execute(sa.select(routing_corrections.c.ticket_id, routing_corrections.c.unit,
                                         routing_corrections.c.text).order_by(routing_corrections.c.id)).all()
    final: dict[int, Example] = {}
    for ticket_id, unit, text in corrections:
        kind = catalogue.kind_of(unit)
        if kind:
            final[ticket_id] = Example(text, kind)
    return Lessons(examples(catalogue) + list(final.values()), len(final), int(newest))


def train(catalogue: Catalogue, taught: Lessons) -> Learned:
    """A model trained on the lessons (seconds of CPU: outside any transaction)."""
    model = RequestModel.train(taught.examples, catalogue.cues())
    return Learned(model, _version(catalogue, taught.examples))


def save(conn: sa.Connection, catalogue: Catalogue, learned: Learned, taught: Lessons, now: datetime) -> None:
    """Keep a trained model; it is in force from the next ticket on."""
    conn.execute(sa.insert(routing_models).values(
        catalogue_version=catalogue.version, version=learned.version,
        examples=len(taught.examples) - taught.corrections, corrections=taught.corrections,
        last_correction_id=taught.last_correction_id, figures={}, body=learned.model.dumps(), trained_at=now))
    _CURRENT.pop(conn.engine, None)


def retrain(conn: sa.Connection, catalogue: Catalogue, now: datetime, *, after: int = RETRAIN_AFTER) -> bool:
    """Train again with the officers' corrections when `after` or more arrived since the last model; True when
    a model was saved (in one transaction: the sweep uses `lessons`, `train` and `save` apart)."""
    taught = lessons(conn, catalogue, after=after)
    if taught is None:
        return False
    save(conn, catalogue, train(catalogue, taught), taught, now)
    return True
