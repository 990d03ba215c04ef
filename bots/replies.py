"""Replies the conversations return; adapters render them for their channel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bots.texts import render


@dataclass(frozen=True, slots=True)
class Reply:
    """A text for the citizen."""

    text: str
    template: str = field(default="", compare=False)  # the template it was rendered from (for the record)

    def to_record(self) -> dict[str, Any]:
        """JSON-ready form, stored so that a retried message gets the same answer."""
        return {"type": "text", "text": self.text, "template": self.template}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Reply:
        """The inverse of `to_record`."""
        return cls(text=str(record.get("text", "")), template=str(record.get("template", "")))


def say(template: str, **context: Any) -> Reply:
    """A reply rendered from `templates/messages/{template}.j2`."""
    return Reply(render(template, **context), template)
