"""GeoReport v2 responses in JSON and XML, and the spec's error arrays.

http://wiki.open311.org/GeoReport_v2: a list in JSON is an array of objects; in XML a root element
(`<services>`, `<service_requests>`) holds one element per item (`<service>`, `<request>`). Errors are
`[{"code": 400, "description": "..."}]`, or `<errors><error><code/><description/></error></errors>`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree import ElementTree as ET  # noqa: S405 (building XML only; nothing is parsed)

from fastapi.responses import Response

from tickets.errors import GatewayError

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


class Open311Error(GatewayError):
    """A request the spec answers with an error array."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _element(parent: ET.Element, tag: str, value: Any) -> None:
    child = ET.SubElement(parent, tag)
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _element(child, key, inner)
    elif isinstance(value, list | tuple):
        singular = tag[:-1] if tag.endswith("s") else "item"
        for inner in value:
            _element(child, singular, inner)
    else:
        child.text = _text(value)


def to_xml(root: str, item: str | None, body: Sequence[Mapping[str, Any]] | Mapping[str, Any]) -> bytes:
    """`<root><item>..</item>..</root>` for a list, or `<root>..</root>` for one object."""
    top = ET.Element(root)
    items = [body] if isinstance(body, Mapping) else list(body)
    for entry in items:
        holder = ET.SubElement(top, item) if item else top
        for key, value in entry.items():
            _element(holder, key, value)
    return b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="unicode").encode()


def respond(fmt: str, root: str, item: str | None, body: Sequence[Mapping[str, Any]] | Mapping[str, Any],
            status: int = 200) -> Response:
    """The body in the asked format (`fmt` already checked)."""
    if fmt == "xml":
        return Response(to_xml(root, item, body), status_code=status, media_type=FORMATS["xml"])
    content = json.dumps(body if isinstance(body, Mapping) else list(body), ensure_ascii=False)
    return Response(content.encode(), status_code=status, media_type=FORMATS["json"])


def error(fmt: str, exc: Open311Error) -> Response:
    """The spec's error array; an unknown format is answered in JSON."""
    body = [{"code": exc.code, "description": exc.description}]
    return respond(fmt if fmt in FORMATS else "json", "errors", "error", body, status=exc.code)
