"""Uploaded photos: the checks on what a citizen sends, and the folder they are kept in.

A photo is checked: JPEG or PNG by its magic bytes, decoded by Pillow, within limits.

The type a client declares is ignored: the bytes decide. A file that is not what its first bytes say,
does not decode, or would decode to more than `MAX_PIXELS` (`MAX_PNG_PIXELS` for PNG; a decompression
bomb) is refused. What is kept is the picture alone, turned upright, at most `KEPT_PIXELS`, and encoded
again: EXIF (the phone's GPS position, its owner's name, the device serial) and PNG text chunks are
personal data the ticket does not need.

Decoding is what costs memory (a 38-megapixel JPEG is 115 MB as pixels, and every copy as much again;
six at once took a web process to 2.8 GB). So a JPEG is decoded through a draft: libjpeg scales it by
1/2, 1/4 or 1/8 while decoding, to no less than the size kept, and the rest is one resize; the picture
is turned upright in place; and at most `DECODE_SLOTS` photos decode at once in a process (`DecodeSlots`),
the others waiting their turn (a busy answer after `DECODE_WAIT` seconds). PNG has no draft, hence its
lower cap. tests/gateway/test_uploads.py keeps the budget.

Photos are kept in a local folder (UPLOAD_DIR, else VAR_DIR/uploads).
Keys are ours (`YYYY/MM/<32 hex>.<jpg|png>`), never a client's file name, so nothing a citizen sends can
name a path. A photo is written to a temporary file, flushed to disk and renamed into place before the
ticket that refers to it is committed.
"""

from __future__ import annotations

import io
import math
import os
import re
import secrets
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from tickets.errors import GatewayError, NotFound

MAX_PIXELS = 40_000_000  # a 48-megapixel phone photo is 8000x6000; anything bigger is not a snapshot
MAX_PNG_PIXELS = 24_000_000  # decoded whole (no draft): a long screenshot, 1080 wide, is 22 000 high at most
KEPT_PIXELS = 8_000_000  # 3264x2448: more than an officer needs to see what is wrong
DECODE_SLOTS = 2  # photos decoding at once in one process
DECODE_WAIT = 20.0  # seconds a photo waits for a slot before the upload is answered "busy"
_MAGIC = {b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG"}
_EXTENSION = {"JPEG": "jpg", "PNG": "png"}
_CONTENT_TYPE = {"jpg": "image/jpeg", "png": "image/png"}
EXTENSIONS = frozenset(_EXTENSION.values())
KEY = re.compile(r"[0-9]{4}/[0-9]{2}/[0-9a-f]{32}\.(?:jpg|png)")


class PhotoRefused(GatewayError):
    """An upload that is not kept; `reason` is `too_large`, `not_image` or `busy` (safe to log)."""

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


class DecodeSlots:
    """At most `slots` photos decoding at once; a photo that waits `wait` seconds for a slot is refused busy."""

    def __init__(self, slots: int = DECODE_SLOTS, wait: float = DECODE_WAIT) -> None:
        self._slots = threading.BoundedSemaphore(slots)
        self._wait = wait

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold a slot for the block; raises PhotoRefused("busy") when none frees up in time."""
        if not self._slots.acquire(timeout=self._wait):
            raise PhotoRefused("busy", f"no decode slot within {self._wait:.0f} s")
        try:
            yield
        finally:
            self._slots.release()


DECODES = DecodeSlots()  # one per process: memory is the process's


def kept_size(width: int, height: int, most: int = KEPT_PIXELS) -> tuple[int, int]:
    """The size a picture is kept at: as it is, or scaled down to at most `most` pixels."""
    if width * height <= most:
        return width, height
    scale = math.sqrt(most / (width * height))
    return max(1, int(width * scale)), max(1, int(height * scale))


def _kept(data: bytes, kind: str) -> tuple[bytes, int, int]:
    """Decode (a JPEG through a draft), scale down to KEPT_PIXELS, turn upright, encode without metadata."""
    with Image.open(io.BytesIO(data), formats=[kind]) as image:
        size = kept_size(*image.size)
        if kind == "JPEG":
            image.draft("RGB", size)  # scaled by libjpeg while decoding, never below the size kept
        image.load()  # verify() does not decode JPEG scan data; a truncated file fails here
        if image.size != size:
            image.thumbnail(size, Image.Resampling.LANCZOS)  # in place
        ImageOps.exif_transpose(image, in_place=True)  # the orientation tag goes with the rest of EXIF
        out = io.BytesIO()
        if kind == "JPEG":
            (image if image.mode == "RGB" else image.convert("RGB")).save(out, "JPEG", quality=90, optimize=True)
        else:
            image.save(out, "PNG", optimize=True)
        return out.getvalue(), image.width, image.height


def content_type(extension: str) -> str:
    """The media type of a stored photo's extension."""
    return _CONTENT_TYPE.get(extension, "application/octet-stream")


def check_photo(data: bytes, max_bytes: int, slots: DecodeSlots | None = None) -> Photo:
    """The photo as kept, if `data` is a JPEG or PNG of at most `max_bytes`; raises PhotoRefused.

    The decoding takes one of `slots` (the process's DECODES when not given).
    """
    if len(data) > max_bytes:
        raise PhotoRefused("too_large", f"{len(data)} bytes, at most {max_bytes}")
    expected = next((kind for magic, kind in _MAGIC.items() if data.startswith(magic)), None)
    if expected is None:
        raise PhotoRefused("not_image", "not a JPEG or PNG file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[expected]) as image:  # reads the header only
                width, height = image.size
                if width * height > (MAX_PIXELS if expected == "JPEG" else MAX_PNG_PIXELS):
                    raise PhotoRefused("too_large", f"{width}x{height} pixels")
                image.verify()
            with (slots or DECODES).held():
                data, width, height = _kept(data, expected)
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
