"""The routing catalogue (派单目录): zones, categories, keywords, districts and responsible units.

The repository's `catalogue/routing.toml` is the first version; admins save new ones (validated, then
kept in `routing_catalogues`, the newest in force). A version is the hash of the catalogue's content,
stored with every recommendation so that an officer can tell which rules made it.
"""

from __future__ import annotations

import hashlib
import json
import time
import tomllib
import weakref
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tickets.routing.checks import parse_body
from tickets.routing.model import Catalogue, CatalogueError
from tickets.settings import CATALOGUE_DIR
from tickets.storage.schema import routing_catalogues

__all__ = ["DEFAULT_PATH", "Catalogue", "CatalogueError", "current", "history", "load_file", "parse", "save",
           "version_of"]

DEFAULT_PATH = CATALOGUE_DIR / "routing.toml"


def version_of(body: Mapping[str, Any]) -> str:
    """The content hash of a catalogue (key order and spacing do not matter)."""
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def load_file(path: Path = DEFAULT_PATH) -> Catalogue:
    """Read and validate a TOML catalogue file; raises CatalogueError."""
    try:
        body = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogueError([f"{path.name}: {exc}"]) from None
    return parse(body)


@lru_cache(maxsize=4)
def _file(path: Path) -> Catalogue:
    return load_file(path)


_SAVED: dict[str, Catalogue] = {}  # by version: a content hash, so the same on every database
_SAVED_MAX = 16


_RECHECK_S = 5.0  # how long a process trusts the version it last looked up (the chat asks on every message)
_CHECKED: weakref.WeakKeyDictionary[sa.Engine, tuple[float, Catalogue]] = weakref.WeakKeyDictionary()  # per engine


def current(conn: sa.Connection, path: Path = DEFAULT_PATH) -> Catalogue:
    """The catalogue in force: the newest saved version, else the repository's file (both cached).

    The newest version's hash is looked up at most every 5 seconds per engine (a new version saved by
    another process is in force here within that time; one saved by this process at once); the body is
    read only for a version not seen yet.
    """
    key = conn.engine
    checked = _CHECKED.get(key)
    if checked is not None and time.monotonic() - checked[0] < _RECHECK_S:
        return checked[1]
    found = _newest(conn, path)
    _CHECKED[key] = (time.monotonic(), found)
    return found


def _newest(conn: sa.Connection, path: Path) -> Catalogue:
    newest = sa.select(routing_catalogues.c.id, routing_catalogues.c.version).order_by(
        routing_catalogues.c.id.desc()).limit(1)
    row = conn.execute(newest).one_or_none()
    if row is None:
        return _file(path)
    cached = _SAVED.get(row.version)
    if cached is not None:
        return cached
    body = conn.execute(sa.select(routing_catalogues.c.body).where(routing_catalogues.c.id == row.id)).scalar_one()
    found = parse(body)
    if len(_SAVED) >= _SAVED_MAX:
        _SAVED.pop(next(iter(_SAVED)))
    _SAVED[row.version] = found
    return found


def save(conn: sa.Connection, body: Mapping[str, Any], *, actor: str, now: datetime) -> Catalogue:
    """Validate a new catalogue and put it in force; raises CatalogueError and saves nothing if it is bad."""
    catalogue = parse(body)
    conn.execute(sa.insert(routing_catalogues).values(version=catalogue.version, body=dict(catalogue.body),
                                                      created_by=actor[:64], created_at=now))
    _CHECKED.pop(conn.engine, None)  # in force in this process at once
    return catalogue


def history(conn: sa.Connection, limit: int = 20) -> list[tuple[str, str, datetime]]:
    """(version, saved by, when) of the saved versions, newest first."""
    rows = conn.execute(sa.select(routing_catalogues.c.version, routing_catalogues.c.created_by,
                                  routing_catalogues.c.created_at)
                        .order_by(routing_catalogues.c.id.desc()).limit(limit)).all()
    return [(r.version, r.created_by, r.created_at) for r in rows]


def parse(body: Mapping[str, Any]) -> Catalogue:
    """Check a catalogue's structure and references; raises CatalogueError listing every problem."""
    return parse_body(body, version_of(body))
