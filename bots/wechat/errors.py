"""WeChat's error codes, the one exception for a refused or failed call, and reading a reply.

Codes: https://developers.weixin.qq.com/doc/offiaccount/Getting_Started/Global_Return_Code.html
What the sender does with each: docs/platforms.md section 2.5.

    GatewayError
    └── WeChatApiError      errcode, errmsg, retryable
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from tickets.errors import GatewayError

SYSTEM_BUSY = -1
TRANSPORT = -2  # ours: no answer (connect/read timeout, refused, reset) or not WeChat's JSON
TOKEN_ROW_BUSY = -3  # ours: another process held the token row for too long
INVALID_CREDENTIAL = 40001
INVALID_GRANT_TYPE = 40002
INVALID_OPENID = 40003
INVALID_MEDIA_TYPE = 40004
INVALID_MEDIA_ID = 40007
INVALID_APPID = 40013
INVALID_ACCESS_TOKEN = 40014
INVALID_TEMPLATE_ID = 40037
INVALID_URL = 40066
INVALID_ARGS = 40097
INVALID_APPSECRET = 40125
ACCESS_TOKEN_EXPIRED = 42001
USER_NOT_FOLLOWING = 43004
SUBSCRIPTION_REFUSED = 43101
DAILY_QUOTA = 45009
MINUTE_QUOTA = 45011
OUT_OF_WINDOW = 45015
CS_QUOTA_EXHAUSTED = 45047
DATA_FORMAT_ERROR = 47001
ARGUMENT_INVALID = 47003
API_UNAUTHORIZED = 48001

# The token was refused: ask the provider for a new one (single flight) and retry once.
TOKEN_ERRORS = frozenset({INVALID_CREDENTIAL, INVALID_ACCESS_TOKEN, ACCESS_TOKEN_EXPIRED})
# Worth retrying later with backoff; everything else will fail the same way again.
RETRYABLE = frozenset({SYSTEM_BUSY, TRANSPORT, TOKEN_ROW_BUSY, DAILY_QUOTA, MINUTE_QUOTA})


class WeChatApiError(GatewayError):
    """WeChat answered a non-zero errcode, or did not answer (`TRANSPORT`). Never carries a secret."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"wechat errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg

    @property
    def retryable(self) -> bool:
        """Whether the same call may succeed later (busy, rate limit, network)."""
        return self.errcode in RETRYABLE


def exchange(request: Callable[[], httpx.Response]) -> dict[str, Any]:
    """Run one HTTP request to WeChat and return its JSON reply; raise `WeChatApiError` on errcode != 0."""
    try:
        response = request()
    except httpx.TransportError as exc:  # timeouts are transport errors too
        raise WeChatApiError(TRANSPORT, "transport") from exc
    # WeChat answers HTTP 200 even for errors; anything else came from a proxy or an outage.
    if response.status_code != 200:
        raise WeChatApiError(TRANSPORT, f"transport: HTTP {response.status_code}")
    try:
        reply = json.loads(response.content)
    except ValueError as exc:
        raise WeChatApiError(TRANSPORT, "transport: reply is not JSON") from exc
    if not isinstance(reply, dict):
        raise WeChatApiError(TRANSPORT, "transport: reply is not a JSON object")
    errcode = int(reply.get("errcode") or 0)
    if errcode != 0:
        raise WeChatApiError(errcode, str(reply.get("errmsg", "")))
    return reply
