"""Pushing a text to a citizen in the channel they used."""

from __future__ import annotations

from typing import Any

from bots.wechat.api import WeChatApiError
from tickets.inbox.citizens import get_citizen_key
from tickets.inbox.message import Channel
from workers.context import WorkerContext


class RetryLater(Exception):
    """A failure worth retrying (platform busy, rate limit, network)."""


class PermanentFailure(Exception):
    """A failure that retrying will not fix; recorded on the row."""


def push_text(context: WorkerContext, payload: dict[str, Any], *, final: bool = False) -> None:
    """Send `payload["text"]` to citizen `payload["citizen_id"]` (WeChat: customer-service message)."""
    with context.engine.connect() as conn:
        key = get_citizen_key(conn, int(payload["citizen_id"]))
    if key is None:
        raise PermanentFailure("citizen not found")
    if key.channel != Channel.WECHAT.value:
        raise PermanentFailure(f"no text push for channel {key.channel}")
    if context.wechat is None:
        raise PermanentFailure("wechat sender not configured (WECHAT_APP_SECRET missing)")
    try:
        context.wechat.send_text(key.external_id, str(payload["text"]))
    except WeChatApiError as exc:
        if exc.retryable:
            raise RetryLater(f"wechat {exc.errcode}") from exc
        raise PermanentFailure(f"wechat {exc.errcode}: {exc.errmsg}") from exc
