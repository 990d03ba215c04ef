"""A thin client for the Alipay open-platform calls the gateway makes, signed and verified by `bots/alipay/sign.py`.

Every call is a form POST to the gateway (`gateway.do`) with the common parameters signed RSA2 by our app
private key; the response's `*_response` node is verified with Alipay's public key over its exact text, and
a `code` other than 10000 raises `AlipayApiError` (docs/platforms.md section 4.3).
https://docs.open.alipay.com/291/106118 (signing), https://docs.open.alipay.com/common/105806 (public codes)
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa

from bots.alipay.sign import (
    SUCCESS,
    TRANSPORT,
    AlipayApiError,
    load_private_key,
    load_public_key,
    rsa2_sign,
    sign_content_request,
    verify_response,
)
from tickets.clock import utcnow

__all__ = ["DEFAULT_TIMEOUT", "TEMPLATE_DATA_MAX_CHARS", "AlipayApi", "AlipayApiError"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
TEMPLATE_DATA_MAX_CHARS = 2048
USER_ID = re.compile(r"2088\d{12}")  # the old 16-digit user id; anything else is an OpenID
CHARSET = "utf-8"
SHANGHAI = ZoneInfo("Asia/Shanghai")  # Alipay reads `timestamp` as Beijing time


class AlipayApi:
    """Calls the Alipay open platform for one app (`app_id`)."""

    def __init__(self, app_id: str, app_private_key: str | rsa.RSAPrivateKey,
                 alipay_public_key: str | rsa.RSAPublicKey, gateway_url: str, http: httpx.Client, *,
                 timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> None:
        self.app_id = app_id
        self._private_key = (load_private_key(app_private_key) if isinstance(app_private_key, str)
                             else app_private_key)
        # Alipay's key, not our app public key: the most common mistake (fzlee/alipay#66).
        self._alipay_key = (load_public_key(alipay_public_key) if isinstance(alipay_public_key, str)
                            else alipay_public_key)
        self._gateway = gateway_url
        self._http = http
        self._timeout = timeout

    def send_template(self, to_user_id: str, user_template_id: str, page: str, data: dict[str, Any]) -> None:
        """A mini-program template or subscription message to a user who consented to it.

        `to_user_id` is the id sign-in gave: a `2088…` user id goes as `to_user_id`, an OpenID (apps on
        Alipay's OpenID scheme since 2023) as `to_open_id`.

        `data` maps keywords to `{"value": ...}` or to a plain string; Alipay takes it as a JSON string.
        https://docs.open.alipay.com/api_5/alipay.open.app.mini.templatemessage.send

        Raises:
            ValueError: the data JSON is over 2048 characters, checked before any call.
        """
        data_json = json.dumps(_values(data), ensure_ascii=False, separators=(",", ":"))
        if len(data_json) > TEMPLATE_DATA_MAX_CHARS:
            raise ValueError(f"template data of {len(data_json)} characters is over Alipay's {TEMPLATE_DATA_MAX_CHARS}")
        recipient = "to_user_id" if USER_ID.fullmatch(to_user_id) else "to_open_id"
        self.call("alipay.open.app.mini.templatemessage.send", {
            recipient: to_user_id, "user_template_id": user_template_id, "page": page, "data": data_json,
        })

    def oauth_token(self, auth_code: str) -> dict[str, Any]:
        """Exchange a mini-program `my.getAuthCode` code: `user_id` or `open_id`, `access_token`, `expires_in`.

        https://docs.open.alipay.com/api_9/alipay.system.oauth.token
        """
        return self.call("alipay.system.oauth.token", grant_type="authorization_code", code=auth_code)

    def call(self, method: str, biz_content: dict[str, Any] | None = None, **extra_params: str) -> dict[str, Any]:
        """Sign and POST one call; return its verified response node.

        Raises:
            AlipayApiError: no answer (`transport`), a bad response signature, or a code other than 10000.
        """
        params = {
            "app_id": self.app_id, "method": method, "format": "JSON", "charset": CHARSET, "sign_type": "RSA2",
            "timestamp": utcnow().astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"), "version": "1.0",
            **extra_params,
        }
        if biz_content is not None:
            params["biz_content"] = json.dumps(biz_content, ensure_ascii=False, separators=(",", ":"))
        params["sign"] = rsa2_sign(self._private_key, sign_content_request(params), CHARSET)
        try:
            response = self._http.post(self._gateway, data=params, timeout=self._timeout)
        except httpx.TransportError as exc:  # timeouts are transport errors too
            raise AlipayApiError(TRANSPORT, f"{type(exc).__name__} calling {method}") from exc
        if response.status_code != 200:
            raise AlipayApiError(TRANSPORT, f"HTTP {response.status_code} calling {method}")
        try:
            body = response.content.decode(CHARSET)
        except UnicodeDecodeError as exc:
            raise AlipayApiError(TRANSPORT, f"reply to {method} is not {CHARSET}") from exc
        node = verify_response(body, method, self._alipay_key, CHARSET)
        # alipay.system.oauth.token answers success without a code, and failures in `error_response`.
        code = str(node.get("code", SUCCESS))
        if code != SUCCESS:
            error = AlipayApiError(code, str(node.get("msg", "")), str(node.get("sub_code", "")),
                                   str(node.get("sub_msg", "")))
            log.warning("alipay refused %s: %s", method, error)
            raise error
        return node


def _values(data: dict[str, Any]) -> dict[str, Any]:
    """Template data in Alipay's shape: a plain string becomes `{"value": string}`."""
    return {key: {"value": value} if isinstance(value, str) else value for key, value in data.items()}
