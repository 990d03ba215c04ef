"""WeChat web-page authorisation (网页授权) with `snsapi_base`: the openid of whoever opened a page in WeChat.

The browser goes to `{open base}/connect/oauth2/authorize?...#wechat_redirect`; WeChat sends it back to
`redirect_uri?code=...&state=...` without asking anything (snsapi_base is silent). The code is good
for one exchange within 5 minutes, at `{api base}/sns/oauth2/access_token`, for the openid.
https://developers.weixin.qq.com/doc/offiaccount/OA_Web_Apps/Wechat_webpage_authorization.html
https://developers.weixin.qq.com/doc/service/api/webdev/access/api_snsaccesstoken.html
"""

from __future__ import annotations

from urllib.parse import urlencode

import httpx

from bots.wechat.errors import TRANSPORT, WeChatApiError, exchange

INVALID_CODE = 40029
CODE_USED = 40163
SNAPSHOT_USER = -4  # ours: a 快照页 (snapshot page) visitor, whose openid is a stand-in, not a person
# The citizen's code went wrong: ask them to open the page again rather than report a fault.
CODE_ERRORS = frozenset({INVALID_CODE, CODE_USED, SNAPSHOT_USER})
STATE_MAX_CHARS = 128  # WeChat keeps at most 128 bytes of a-zA-Z0-9 in `state`
DEFAULT_TIMEOUT = httpx.Timeout(5.0, connect=2.0)


class WeChatOAuth:
    """The snsapi_base flow of one Official Account."""

    def __init__(self, app_id: str, app_secret: str, open_base: str, api_base: str, http: httpx.Client, *,
                 timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.open_base = open_base  # https://open.weixin.qq.com
        self.api_base = api_base  # https://api.weixin.qq.com
        self.http = http
        self.timeout = timeout

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        """Where to send the browser; WeChat returns it to `redirect_uri` with `code` and `state`."""
        if not state.isascii() or not state.isalnum() or len(state) > STATE_MAX_CHARS:
            raise ValueError("state must be at most 128 characters of a-z A-Z 0-9")
        query = urlencode({"appid": self.app_id, "redirect_uri": redirect_uri, "response_type": "code",
                           "scope": "snsapi_base", "state": state})
        return f"{self.open_base.rstrip('/')}/connect/oauth2/authorize?{query}#wechat_redirect"

    def openid_for(self, code: str) -> str:
        """Exchange the code for the visitor's openid.

        Raises:
            WeChatApiError: 40029 (invalid code), 40163 (code used), SNAPSHOT_USER, TRANSPORT, or any
            other errcode WeChat answers (40013 appid, 40125 secret: configuration).
        """
        params = {"appid": self.app_id, "secret": self.app_secret, "code": code, "grant_type": "authorization_code"}
        url = f"{self.api_base.rstrip('/')}/sns/oauth2/access_token"
        reply = exchange(lambda: self.http.get(url, params=params, timeout=self.timeout))
        if int(reply.get("is_snapshotuser") or 0) == 1:
            raise WeChatApiError(SNAPSHOT_USER, "snapshot-page visitor")
        openid = reply.get("openid")
        if not isinstance(openid, str) or not 0 < len(openid) <= 128:
            raise WeChatApiError(TRANSPORT, "transport: reply without openid")
        return openid
