"""Alipay web authorisation with `auth_base`: the user id of whoever opened a page inside Alipay.

The browser goes to `{auth base}/oauth2/publicAppAuthorize.htm?app_id&scope=auth_base&redirect_uri&state`;
Alipay sends it back to `redirect_uri?auth_code=...&state=...` without asking anything (auth_base is
silent), and `alipay.system.oauth.token` exchanges the code, once, for `user_id` (2088...) or, for
apps on the newer scheme, `open_id`.
https://opendocs.alipay.com/open/284/web (网页授权), https://docs.open.alipay.com/api_9/alipay.system.oauth.token
"""

from __future__ import annotations

from urllib.parse import urlencode

from bots.alipay.api import AlipayApi
from bots.alipay.sign import TRANSPORT, AlipayApiError

MAX_USER_ID_CHARS = 128


def authorize_url(auth_base: str, app_id: str, redirect_uri: str, state: str) -> str:
    """Where to send the browser; Alipay returns it to `redirect_uri` with `auth_code` and `state`."""
    query = urlencode({"app_id": app_id, "scope": "auth_base", "redirect_uri": redirect_uri, "state": state})
    return f"{auth_base.rstrip('/')}/oauth2/publicAppAuthorize.htm?{query}"


def user_of(api: AlipayApi, auth_code: str) -> str:
    """The user id (or open_id) an auth code stands for; the code is used up.

    Raises:
        AlipayApiError: the code is invalid or used (`isv.code-invalid`), Alipay refused, or did not answer.
    """
    node = api.oauth_token(auth_code)
    user = node.get("user_id") or node.get("open_id")
    if not isinstance(user, str) or not 0 < len(user) <= MAX_USER_ID_CHARS:
        raise AlipayApiError(TRANSPORT, "oauth token reply without a user id")
    return user
