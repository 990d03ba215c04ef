"""A thin sender for the WeChat Official Account API calls the gateway makes.

Every call takes the shared access token, retries once with a fresh one on 40001/40014/42001, and raises
`WeChatApiError` for any other non-zero errcode; the caller decides what a code means for the citizen
(docs/platforms.md section 2.5). JSON goes out as UTF-8 with `ensure_ascii=False`: WeChat shows
`\\uXXXX` escapes literally to the citizen otherwise.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import httpx

from bots.wechat.access_token import DEFAULT_TIMEOUT, JSON_HEADERS, AccessTokenProvider
from bots.wechat.errors import TOKEN_ERRORS, WeChatApiError, exchange

__all__ = ["QR_MAX_EXPIRE_SECONDS", "QR_MAX_SCENE_LENGTH", "WeChatApi", "WeChatApiError"]

log = logging.getLogger(__name__)

QR_MAX_SCENE_LENGTH = 64
QR_MAX_EXPIRE_SECONDS = 2_592_000  # 30 days
IMAGE_MAX_BYTES = 10 * 1024 * 1024

_Files = dict[str, tuple[str, bytes, str]]


class WeChatApi:
    """Sends messages, media and QR-code requests for one Official Account."""

    def __init__(self, tokens: AccessTokenProvider, api_base: str, http: httpx.Client, *,
                 timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> None:
        self._tokens = tokens
        self._base = api_base.rstrip("/")
        self._http = http
        self._timeout = timeout

    def send_text(self, openid: str, content: str) -> None:
        """A customer-service text message (only within 48 h of the citizen's last message, 5 per window).

        https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html
        """
        self._call("/cgi-bin/message/custom/send",
                   body={"touser": openid, "msgtype": "text", "text": {"content": content}})

    def send_image(self, openid: str, media_id: str) -> None:
        """A customer-service image message of uploaded media (same window and quota as `send_text`).

        https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html
        """
        self._call("/cgi-bin/message/custom/send",
                   body={"touser": openid, "msgtype": "image", "image": {"media_id": media_id}})

    def send_template(self, openid: str, template_id: str, data: Mapping[str, Any], url: str | None = None,
                      client_msg_id: str | None = None) -> int:
        """A template message; returns its msgid (joined later with TEMPLATESENDJOBFINISH).

        `data` maps keywords to `{"value": ...}` or to a plain string. `client_msg_id` makes WeChat send
        one message per openid and id within 10 minutes.
        https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Template_Message_Interface.html
        """
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": _values(data)}
        if url is not None:
            body["url"] = url
        if client_msg_id is not None:
            body["client_msg_id"] = client_msg_id
        reply = self._call("/cgi-bin/message/template/send", body=body)
        return int(reply["msgid"])

    def send_subscription(self, openid: str, template_id: str, data: Mapping[str, Any],
                          page: str | None = None) -> None:
        """A subscription notification (订阅通知, bizsend) the citizen consented to; `page` is a URL.

        https://developers.weixin.qq.com/doc/offiaccount/Subscription_Messages/api.html
        """
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": _values(data)}
        if page is not None:
            body["page"] = page
        self._call("/cgi-bin/message/subscribe/bizsend", body=body)

    def upload_image(self, png: bytes) -> str:
        """Upload a PNG as temporary media (kept 3 days by WeChat); returns its media_id.

        https://developers.weixin.qq.com/doc/offiaccount/Asset_Management/New_temporary_materials.html
        """
        if len(png) > IMAGE_MAX_BYTES:
            raise ValueError(f"image of {len(png)} bytes is over WeChat's {IMAGE_MAX_BYTES}")
        reply = self._call("/cgi-bin/media/upload", params={"type": "image"},
                           files={"media": ("image.png", png, "image/png")})
        return str(reply["media_id"])

    def create_qr_scene(self, scene: str, expire_seconds: int) -> dict[str, Any]:
        """A temporary parametric QR code (QR_STR_SCENE): returns `ticket`, `expire_seconds` and `url`.

        https://developers.weixin.qq.com/doc/offiaccount/Account_Management/Generating_a_Parametric_QR_Code.html

        Raises:
            ValueError: `scene` is empty or over 64 characters, or `expire_seconds` is not 1..2592000;
                checked before any call, as WeChat would refuse it anyway.
        """
        if not 1 <= len(scene) <= QR_MAX_SCENE_LENGTH:
            raise ValueError(f"QR scene must be 1 to {QR_MAX_SCENE_LENGTH} characters, got {len(scene)}")
        if not 1 <= expire_seconds <= QR_MAX_EXPIRE_SECONDS:
            raise ValueError(f"QR expiry must be 1 to {QR_MAX_EXPIRE_SECONDS} seconds, got {expire_seconds}")
        return self._call("/cgi-bin/qrcode/create", body={
            "expire_seconds": expire_seconds, "action_name": "QR_STR_SCENE",
            "action_info": {"scene": {"scene_str": scene}},
        })

    def _call(self, path: str, *, body: dict[str, Any] | None = None, params: dict[str, str] | None = None,
              files: _Files | None = None) -> dict[str, Any]:
        token = self._tokens.token()
        try:
            return self._send(path, token, body, params, files)
        except WeChatApiError as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
            log.warning("wechat refused the access token on %s (errcode %d); refreshing once", path, exc.errcode)
        return self._send(path, self._tokens.invalidate(token), body, params, files)

    def _send(self, path: str, token: str, body: dict[str, Any] | None, params: dict[str, str] | None,
              files: _Files | None) -> dict[str, Any]:
        query = {"access_token": token, **(params or {})}
        url = self._base + path
        if files is not None:
            return exchange(lambda: self._http.post(url, params=query, files=files, timeout=self._timeout))
        content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        return exchange(lambda: self._http.post(url, params=query, content=content, headers=JSON_HEADERS,
                                                timeout=self._timeout))


def _values(data: Mapping[str, Any]) -> dict[str, Any]:
    """Template data in WeChat's shape: a plain string becomes `{"value": string}`."""
    return {key: {"value": value} if isinstance(value, str) else value for key, value in data.items()}
