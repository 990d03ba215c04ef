"""Constants and payload helpers of the Alipay gateway tests (fixtures: tests/gateway/alipay_world.py)."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlencode

from PIL import Image
from sqlalchemy.engine import make_url

from tickets.storage.db import create_db_engine, normalise_url

APP_ID = "2021000000000001"
CONSENT_METHOD = "alipay.open.mini.subscription.changed"
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def form_body(params: dict[str, str]) -> bytes:
    """The form body Alipay posts, percent-encoded in the message's own charset."""
    return urlencode(params, encoding=params.get("charset", "utf-8")).encode("ascii")


def jpeg(size: tuple[int, int] = (64, 48), quality: int = 80) -> bytes:
    """A real JPEG, as a phone camera would send."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def png(size: tuple[int, int] = (32, 32)) -> bytes:
    """A real PNG."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 240)).save(buffer, "PNG")
    return buffer.getvalue()


@contextmanager
def database_held(url: str, table: str) -> Iterator[None]:
    """Another client holds the write lock (SQLite) or an exclusive lock on `table` (PostgreSQL)."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() == "sqlite":
        holder = sqlite3.connect(str(parsed.database), isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn, conn.begin():
            conn.exec_driver_sql(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            yield
    finally:
        engine.dispose()
