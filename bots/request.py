"""The plain request object adapters take, so they are tested from fixture files without HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class PlainRequest:
    """Method, query parameters (one value each), lower-case headers and the raw body."""

    method: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
