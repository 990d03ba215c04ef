"""A fake of Alipay's open-platform gateway: a real HTTP server on loopback, for tests and the dev mode.

It holds its own RSA-2048 pair (`public_key_pem` is what the gateway configures as ALIPAY_PUBLIC_KEY),
verifies our request signature with the app public key, answers the calls of `bots/alipay/api.py` signed
the way Alipay signs (over the exact `*_response` text), records what it accepted (`sent`) and lets a test
inject failures (`fail_next`), latency and a corrupt response signature. `signed_notification` signs a
message-service notification as Alipay would send it to our 应用网关.
"""

from __future__ import annotations

import base64
import codecs
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bots.alipay.sign import (
    load_public_key,
    node_name,
    rsa2_sign,
    rsa2_verify,
    sign_content_request,
    sign_content_v1,
    sign_content_v2,
)
from bots.fakes.server import LoopbackFake
from tickets.clock import utcnow

TEMPLATE_DATA_MAX_CHARS = 2048
_MESSAGES = {"10000": "Success", "20000": "Service Currently Unavailable", "20001": "Insufficient Token Permissions",
             "40001": "Missing Required Arguments", "40002": "Invalid Arguments", "40004": "Business Failed",
             "40006": "Insufficient Permissions"}
_Node = dict[str, Any]
_Method = Callable[[dict[str, str], dict[str, Any]], _Node]
_OAUTH = "alipay.system.oauth.token"
_ERROR_NODE_METHODS = frozenset({_OAUTH})  # these answer failures in `error_response`


def _fail(code: str, sub_code: str, sub_msg: str = "") -> _Node:
    return {"code": code, "msg": _MESSAGES.get(code, "Failed"), "sub_code": sub_code, "sub_msg": sub_msg}


class FakeAlipay(LoopbackFake):
    """Alipay's gateway for one app (`app_id`, whose public key verifies our requests). Thread-safe."""

    thread_name = "fake-alipay"

    def __init__(self, app_id: str, app_public_key: str | rsa.RSAPublicKey) -> None:
        super().__init__()
        self.app_id = app_id
        self._app_key = load_public_key(app_public_key) if isinstance(app_public_key, str) else app_public_key
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_key_pem = self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        self.latency = 0.0  # seconds to wait before answering any request
        self.corrupt_signatures = False  # sign responses with a signature that does not verify
        self.auth_codes: dict[str, str] = {}  # my.getAuthCode code -> user id (2088...) or open_id
        # Whom the web authorisation page (publicAppAuthorize.htm) signs in (None: not inside Alipay).
        self.oauth_user: str | None = None
        self.sent: list[dict[str, Any]] = []  # accepted template messages: biz_content, data (parsed), at
        self.calls: Counter[str] = Counter()  # every request by method, refused ones included
        self._lock = threading.Lock()
        self._failures: list[list[Any]] = []  # [method, code, sub_code, sub_msg, times left]
        self._methods: dict[str, _Method] = {
            "alipay.open.app.mini.templatemessage.send": self._template_send,
            _OAUTH: self._oauth_token,
        }


    @property
    def gateway_url(self) -> str:
        """Where the fake listens, to be used as ALIPAY_GATEWAY."""
        return self.root_url + "/gateway.do"

    @property
    def entry_url(self) -> str:
        """`start()` returns the gateway URL."""
        return self.gateway_url

    def respond(self, method: str, target: str, headers: Mapping[str, str],
                body: bytes) -> tuple[int, str, bytes, dict[str, str]]:
        """The web authorisation page (the openauth.alipay.com host) redirects; the rest is the gateway."""
        url = urlsplit(target)
        if method == "GET" and url.path == "/oauth2/publicAppAuthorize.htm":
            with self._lock:
                self.calls["publicAppAuthorize"] += 1
                return self._authorize(dict(parse_qsl(url.query)))
        return super().respond(method, target, headers, body)

    def _authorize(self, query: dict[str, str]) -> tuple[int, str, bytes, dict[str, str]]:
        """auth_base is silent: back to `redirect_uri` with a fresh `auth_code` registered in `auth_codes`."""
        def page(text: str) -> tuple[int, str, bytes, dict[str, str]]:
            return 200, "text/html; charset=utf-8", f"<p>{text}</p>".encode(), {}

        if query.get("app_id") != self.app_id:
            return page("app_id 无效")
        if query.get("scope") not in {"auth_base", "auth_user"}:
            return page("scope 无效")
        redirect = query.get("redirect_uri", "")
        if not redirect.startswith(("http://", "https://")):
            return page("redirect_uri 无效")
        if self.oauth_user is None:
            return page("请在支付宝客户端打开")
        code = secrets.token_hex(16)
        self.auth_codes[code] = self.oauth_user
        back = {"app_id": self.app_id, "source": "alipay_wallet", "scope": query["scope"], "auth_code": code,
                "state": query.get("state", "")}
        location = redirect + ("&" if "?" in redirect else "?") + urlencode(back)
        return 302, "text/html; charset=utf-8", b"", {"Location": location}

    def fail_next(self, method: str, code: str, sub_code: str, sub_msg: str = "", times: int = 1) -> None:
        """Answer the next `times` calls of `method` with `code`/`sub_code` (signed, as Alipay would)."""
        with self._lock:
            self._failures.append([method, code, sub_code, sub_msg, times])

    def signed_notification(self, params: dict[str, str], *, variant: Literal["v1", "v2"] = "v1",
                            charset: str = "utf-8") -> dict[str, str]:
        """`params` with `charset`, `sign_type` (unless given) and `sign` added, as Alipay posts them (decoded)."""
        message = {"charset": charset, "sign_type": "RSA2", **params}
        content = sign_content_v1(message) if variant == "v1" else sign_content_v2(message)
        message["sign"] = rsa2_sign(self._key, content, charset)
        return message

    def handle(self, method: str, target: str, content_type: str, body: bytes) -> tuple[int, str, bytes]:
        """Answer one request (common parameters in the query or the form body) as Alipay would."""
        params = dict(parse_qsl(urlsplit(target).query, keep_blank_values=True))
        charset = params.get("charset") or _charset_of(body)
        try:
            codecs.lookup(charset)
            bad_charset = None
        except LookupError:
            charset, bad_charset = "utf-8", _fail("40002", "isv.invalid-charset", "字符集错误")
        params.update(parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding=charset))
        method = params.get("method", "")
        with self._lock:
            self.calls[method] += 1
            injected = self._take_failure(method)
        if self.latency:
            time.sleep(self.latency)
        if urlsplit(target).path != "/gateway.do":
            return 404, "text/plain", b"not found"
        with self._lock:
            node = injected or bad_charset or self._refusal(params, charset)
            if node is None:
                biz: Any = {}
                try:
                    biz = json.loads(params.get("biz_content") or "{}")
                except ValueError:
                    node = _fail("40002", "isv.invalid-parameter", "biz_content 不是 JSON")
                if node is None:
                    node = self._methods[method](params, biz if isinstance(biz, dict) else {})
            return self._reply(method, node, charset)

    def _take_failure(self, method: str) -> _Node | None:
        for failure in self._failures:
            if failure[0] == method:
                failure[4] -= 1
                if failure[4] <= 0:
                    self._failures.remove(failure)
                return _fail(failure[1], failure[2], failure[3])
        return None

    def _refusal(self, params: dict[str, str], charset: str) -> _Node | None:
        """The gateway's own checks, before the method runs."""
        for name in ("method", "app_id", "sign", "sign_type", "timestamp", "version"):
            if not params.get(name):
                return _fail("40001", f"isv.missing-{name.replace('_', '-')}")
        if params["method"] not in self._methods:
            return _fail("40002", "isv.invalid-method", "不存在的方法名")
        if params["app_id"] != self.app_id:
            return _fail("40002", "isv.invalid-app-id", "无效的AppID参数")
        if params["sign_type"] != "RSA2":
            return _fail("40002", "isv.invalid-signature-type", "无效的签名类型")
        try:
            datetime.strptime(params["timestamp"], "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007 - a format check only
        except ValueError:
            return _fail("40002", "isv.invalid-timestamp", "非法的时间戳参数")
        if not rsa2_verify(self._app_key, sign_content_request(params), params["sign"], charset):
            return _fail("40002", "isv.invalid-signature", "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配")
        return None

    def _reply(self, method: str, node: _Node, charset: str) -> tuple[int, str, bytes]:
        failed = node.get("code", "10000") != "10000"
        name = "error_response" if failed and method in _ERROR_NODE_METHODS else node_name(method)
        text = json.dumps(node, ensure_ascii=False, separators=(",", ":"))
        signature = rsa2_sign(self._key, text, charset)
        if self.corrupt_signatures:
            raw = bytearray(base64.b64decode(signature))
            raw[0] ^= 0xFF
            signature = base64.b64encode(bytes(raw)).decode()
        body = f'{{"{name}":{text},"sign":"{signature}"}}'
        return 200, f"text/html;charset={charset}", body.encode(charset)

    # Methods, called with the lock held.
    def _template_send(self, params: dict[str, str], biz: dict[str, Any]) -> _Node:
        if not (biz.get("to_user_id") or biz.get("to_open_id")):
            return _fail("40002", "isv.invalid-parameter", "to_user_id 不能为空")
        if not biz.get("user_template_id"):
            return _fail("40002", "isv.invalid-parameter", "user_template_id 不能为空")
        data = biz.get("data")
        if not isinstance(data, str):
            return _fail("40002", "isv.invalid-parameter", "data 必须是 JSON 字符串")
        if len(data) > TEMPLATE_DATA_MAX_CHARS:
            return _fail("40002", "isv.invalid-parameter", f"data 超过 {TEMPLATE_DATA_MAX_CHARS} 个字符")
        try:
            parsed = json.loads(data)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            return _fail("40002", "isv.invalid-parameter", "data 不是 JSON 对象")
        self.sent.append({"biz_content": biz, "data": parsed, "params": dict(params), "at": utcnow()})
        return {"code": "10000", "msg": "Success"}

    def _oauth_token(self, params: dict[str, str], biz: dict[str, Any]) -> _Node:
        if params.get("grant_type") != "authorization_code":
            return _fail("40002", "isv.grant-type-invalid", "不支持的grantType")
        user = self.auth_codes.pop(params.get("code", ""), None)  # a code is good for one exchange
        if user is None:
            return _fail("40002", "isv.code-invalid", "授权码code无效")
        now = utcnow().strftime("%Y-%m-%d %H:%M:%S")
        ident = {"user_id": user} if user.startswith("2088") else {"open_id": user}
        return {**ident, "access_token": f"authusrB{secrets.token_hex(16)}", "expires_in": 1_296_000,
                "refresh_token": f"authusrB{secrets.token_hex(16)}", "re_expires_in": 2_592_000, "auth_start": now}


def _charset_of(body: bytes) -> str:
    """The `charset` form field, read before the body is decoded with it."""
    for key, value in parse_qsl(body.decode("latin-1")):
        if key == "charset":
            return value
    return "utf-8"
