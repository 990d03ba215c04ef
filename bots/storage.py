"""Where uploaded photos are kept: one interface, a local folder by default (UPLOAD_DIR, else VAR_DIR/uploads).

Keys are ours (`YYYY/MM/<32 hex>.<jpg|png>`), never a client's file name, so nothing a citizen sends can
name a path. A photo is written to a temporary file, flushed to disk and renamed into place before the
ticket that refers to it is committed.
"""

from __future__ import annotations

import os
import re
import secrets
from datetime import datetime
from pathlib import Path
from typing import Protocol

from tickets.errors import NotFound

EXTENSIONS = frozenset({"jpg", "png"})
KEY = re.compile(r"[0-9]{4}/[0-9]{2}/[0-9a-f]{32}\.(?:jpg|png)")


class PhotoStore(Protocol):
    """What the gateway asks of a store of uploaded photos."""

    def put(self, data: bytes, extension: str, now: datetime) -> str:
        """Keep `data`; returns its new key."""
        ...

    def read(self, key: str) -> bytes:
        """The bytes under `key`; raises NotFound."""
        ...

    def delete(self, key: str) -> None:
        """Remove `key` if it is there."""
        ...


class LocalFolderStore:
    """Photos as files under one folder (created on first use)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, data: bytes, extension: str, now: datetime) -> str:
        """Write durably under a fresh random key."""
        if extension not in EXTENSIONS:
            raise ValueError(f"extension {extension!r} is not stored")
        key = f"{now:%Y/%m}/{secrets.token_hex(16)}.{extension}"
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.part")
        with temporary.open("xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
        return key

    def read(self, key: str) -> bytes:
        """The file's bytes; NotFound for a malformed or missing key."""
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, ValueError):
            raise NotFound("stored photo") from None

    def delete(self, key: str) -> None:
        """Remove the file (a missing one is fine)."""
        try:
            self._path(key).unlink(missing_ok=True)
        except ValueError:
            return

    def _path(self, key: str) -> Path:
        if not KEY.fullmatch(key):
            raise ValueError("not a store key")
        return self.root / key
