"""Uploaded photos: the checks on what a citizen sends, and the folder they are kept in.

A photo is checked: JPEG or PNG by its magic bytes, decoded by Pillow, within limits.

The type a client declares is ignored: the bytes decide. A file that is not what its first bytes say,
does not decode, or would decode to more than `MAX_PIXELS` (a decompression bomb) is refused. What is
kept is the picture alone, turned upright and encoded again: EXIF (the phone's GPS position, its
owner's name, the device serial) and PNG text chunks are personal data the ticket does not need.

Photos are kept in a local folder (UPLOAD_DIR, else VAR_DIR/uploads).
Keys are ours (`YYYY/MM/<32 hex>.<jpg|png>`), never a client's file name, so nothing a citizen sends can
name a path. A photo is written to a temporary file, flushed to disk and renamed into place before the
ticket that refers to it is committed.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from tickets.errors import GatewayError, NotFound

MAX_PIXELS = 40_000_000  # a 48-megapixel phone photo is 8000x6000; anything bigger is not a snapshot
_MAGIC = {b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG"}
_EXTENSION = {"JPEG": "jpg", "PNG": "png"}
_CONTENT_TYPE = {"jpg": "image/jpeg", "png": "image/png"}
EXTENSIONS = frozenset(_EXTENSION.values())
KEY = re.compile(r"[0-9]{4}/[0-9]{2}/[0-9a-f]{32}\.(?:jpg|png)")


class PhotoRefused(GatewayError):
    """An upload that is not kept; `reason` is `too_large` or `not_image` (safe to log)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Photo:
    """A checked photo."""

    data: bytes
    extension: str  # jpg / png
    width: int
    height: int


def _without_metadata(image: Image.Image, kind: str) -> bytes:
    upright = ImageOps.exif_transpose(image)  # the orientation tag goes with the rest of EXIF
    out = io.BytesIO()
    if kind == "JPEG":
        upright.convert("RGB").save(out, "JPEG", quality=90, optimize=True)
    else:
        upright.save(out, "PNG", optimize=True)
    return out.getvalue()


def content_type(extension: str) -> str:
    """The media type of a stored photo's extension."""
    return _CONTENT_TYPE.get(extension, "application/octet-stream")


def check_photo(data: bytes, max_bytes: int) -> Photo:
    """The photo, if `data` is a JPEG or PNG of at most `max_bytes`; raises PhotoRefused."""
    if len(data) > max_bytes:
        raise PhotoRefused("too_large", f"{len(data)} bytes, at most {max_bytes}")
    expected = next((kind for magic, kind in _MAGIC.items() if data.startswith(magic)), None)
    if expected is None:
        raise PhotoRefused("not_image", "not a JPEG or PNG file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[expected]) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise PhotoRefused("too_large", f"{width}x{height} pixels")
                image.verify()
            with Image.open(io.BytesIO(data), formats=[expected]) as image:
                image.load()  # verify() does not decode JPEG scan data; a truncated file fails here
                data = _without_metadata(image, expected)
    except PhotoRefused:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombWarning,
            Image.DecompressionBombError) as exc:
        raise PhotoRefused("not_image", f"{expected} does not decode ({type(exc).__name__})") from None
    return Photo(data=data, extension=_EXTENSION[expected], width=width, height=height)

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
