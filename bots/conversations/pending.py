"""The questions the bot asked and waits on, kept under their `states.Pending` keys in `dialog_data`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tickets.inbox.citizens import Citizen


def forget(citizen: Citizen, key: str) -> None:
    """Drop what is kept under `key` (a question answered, or no longer asked)."""
    if key in citizen.dialog_data:
        citizen.dialog_data = {k: v for k, v in citizen.dialog_data.items() if k != key}


def take(citizen: Citizen, key: str, now: datetime, ttl: timedelta, *, stamp: str = "asked_at"
         ) -> dict[str, Any] | None:
    """The question pending under `key`, forgotten as it is taken (one message answers it); None when there is
    none, or when it was asked (its `stamp`) more than `ttl` ago: words now are about something else."""
    pending: dict[str, Any] | None = citizen.dialog_data.get(key)
    if not pending:
        return None
    forget(citizen, key)
    if now - datetime.fromisoformat(str(pending[stamp])) > ttl:
        return None
    return pending
