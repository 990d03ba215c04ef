"""A fake of WeChat's server API: a real HTTP server on loopback, for tests and the dev mode.

It speaks the documented requests of the calls in `bots/wechat/api.py` and `bots/wechat/access_token.py`, checks
the access token on every call, records what it accepted (`sent`) and lets a test inject failures
(`fail_next`), latency and token rotation. Simplified: one token for `stable_token` and `cgi-bin/token`
(the real ones are isolated), and the customer-service window counts sends, not the citizen's messages,
unless `message_from` reopens it.

Under `/_fake/` it also answers the other processes of a dev deployment (bots/fakes/dev.py): which account
it plays, what it accepted for a citizen, and that a citizen wrote (the simulator's window).
"""

from __future__ import annotations

import email.policy
import hmac
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from email import message_from_bytes
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit

from bots.fakes.server import LoopbackFake
from bots.fakes.wechat_mailbox import Mailbox
from bots.wechat import errors as codes
from bots.wechat.oauth import CODE_USED, INVALID_CODE
from tickets.clock import utcnow

CS_QUOTA = 5  # customer-service messages per citizen message, within...
CS_WINDOW_SECONDS = 48 * 3600
TOKEN_RENEW_BEFORE = 300  # stable_token hands out a new token in the last 5 minutes
_Reply = tuple[int, str, bytes]
_Route = Callable[[str, dict[str, str], str, bytes], _Reply]
_TOKEN_FREE = frozenset({"/cgi-bin/stable_token", "/cgi-bin/token", "/sns/oauth2/access_token"})
INSPECT = "/_fake/"  # the fake's own questions, never WeChat's paths
OAUTH_CODE_SECONDS = 300  # a web-authorisation code is good for one exchange within 5 minutes


def _json(payload: dict[str, Any], status: int = 200) -> _Reply:
    return status, "application/json; charset=utf-8", json.dumps(payload, ensure_ascii=False).encode()


def _err(errcode: int, errmsg: str) -> _Reply:
    return _json({"errcode": errcode, "errmsg": f"{errmsg} rid: fake-{secrets.token_hex(4)}"})


def _ok(**fields: Any) -> _Reply:
    return _json({"errcode": 0, "errmsg": "ok", **fields})


def _load(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class FakeWeChat(LoopbackFake):
    """WeChat's API for one Official Account (`app_id`, `app_secret`). Thread-safe."""

    thread_name = "fake-wechat"

    def __init__(self, app_id: str, app_secret: str, *, token_lifetime: int = 7200,
                 mailbox: Mailbox | None = None) -> None:
        super().__init__()
        # Dev mode keeps what was sent and uploaded in a folder (bots/fakes/wechat_mailbox.py); tests need not.
        self.mailbox = mailbox
        self.app_id = app_id
        self._secret = app_secret
        self.token_lifetime = token_lifetime
        self.latency = 0.0  # seconds to wait before answering any request
        self.outside_window: set[str] = set()  # openids whose 48 h window is closed (45015)
        self.sent: list[dict[str, Any]] = []  # accepted messages: path, body (parsed), raw, at
        self.calls: Counter[str] = Counter()  # every request by path, refused ones included
        self.force_refreshes = 0
        self.media: dict[str, tuple[str, bytes]] = mailbox.all_media() if mailbox else {}  # id -> (type, bytes)
        self.qr_scenes: dict[str, str] = {}  # ticket -> scene_str
        # Web authorisation (bots/wechat/oauth.py): whom the browser is signed in as (None: not inside WeChat),
        # and whether the visitor is on a snapshot page (a stand-in openid).
        self.oauth_openid: str | None = None
        self.oauth_snapshot = False
        self._oauth_codes: dict[str, tuple[str, float]] = {}  # code -> (openid, expires, monotonic)
        self._oauth_used: set[str] = set()
        self._lock = threading.Lock()
        self._token, self._token_expires = "", 0.0
        self._failures: list[list[Any]] = []  # [path suffix, errcode, errmsg, times left]
        self._cs_sends: dict[str, list[float]] = {}
        self._msgids: dict[tuple[str, str], int] = {}
        self._next_msgid = 200_000_000
        self._routes: dict[tuple[str, str], _Route] = {
            ("POST", "/cgi-bin/stable_token"): self._stable_token,
            ("GET", "/cgi-bin/token"): self._plain_token,
            ("POST", "/cgi-bin/message/custom/send"): self._custom_send,
            ("POST", "/cgi-bin/message/template/send"): self._template_send,
            ("POST", "/cgi-bin/message/subscribe/bizsend"): self._template_send,
            ("POST", "/cgi-bin/media/upload"): self._media_upload,
            ("GET", "/cgi-bin/media/get"): self._media_get,
            ("POST", "/cgi-bin/qrcode/create"): self._qrcode_create,
            ("GET", "/sns/oauth2/access_token"): self._oauth_access_token,
        }


    @property
    def base_url(self) -> str:
        """Where the fake listens."""
        return self.root_url

    @property
    def current_token(self) -> str:
        """The access token the fake accepts now ("" before the first fetch)."""
        return self._token

    @property
    def stable_token_calls(self) -> int:
        """How many times `stable_token` was asked."""
        return self.calls["/cgi-bin/stable_token"]

    def fail_next(self, path_suffix: str, errcode: int, errmsg: str = "injected failure", times: int = 1) -> None:
        """Answer the next `times` requests whose path ends with `path_suffix` with `errcode`."""
        with self._lock:
            self._failures.append([path_suffix, errcode, errmsg, times])

    def rotate_token(self) -> None:
        """Invalidate the current token (as another party's force refresh would): its next use gets 40001."""
        with self._lock:
            self._issue_token()

    def message_from(self, openid: str) -> None:
        """The citizen wrote to the account: a new 48 h window with a fresh quota."""
        with self._lock:
            self._cs_sends.pop(openid, None)
            self.outside_window.discard(openid)

    def texts_to(self, openid: str) -> list[dict[str, Any]]:
        """Customer-service texts accepted for `openid`, oldest first: `{"text", "at"}`."""
        with self._lock:
            return [{"text": m["body"]["text"]["content"], "at": m["at"]} for m in self.sent
                    if m["path"].endswith("custom/send") and m["body"].get("touser") == openid
                    and m["body"].get("msgtype") == "text"]

    def sent_to(self, openid: str) -> list[dict[str, Any]]:
        """Everything accepted for `openid`, oldest first: `{"path", "body", "at"}`."""
        with self._lock:
            return [{"path": m["path"], "body": m["body"], "at": m["at"]} for m in self.sent
                    if m["body"].get("touser") == openid]

    def handle(self, method: str, target: str, content_type: str, body: bytes) -> _Reply:
        """Answer one request as WeChat would."""
        url = urlsplit(target)
        query = dict(parse_qsl(url.query))
        if url.path.startswith(INSPECT):
            return self._inspect(method, url.path.removeprefix(INSPECT), query)
        with self._lock:
            self.calls[url.path] += 1
            injected = self._take_failure(url.path)
        if self.latency:
            time.sleep(self.latency)
        if injected is not None:
            return injected
        route = self._routes.get((method, url.path))
        if route is None:
            return _json({"errcode": codes.INVALID_URL, "errmsg": "invalid url"}, status=404)
        with self._lock:
            if url.path not in _TOKEN_FREE:
                refused = self._check_token(query.get("access_token", ""))
                if refused is not None:
                    return refused
            return route(url.path, query, content_type, body)

    def respond(self, method: str, target: str, headers: Mapping[str, str],
                body: bytes) -> tuple[int, str, bytes, dict[str, str]]:
        """The authorise page answers a redirect (the open.weixin.qq.com host); the rest is `handle`."""
        url = urlsplit(target)
        if method == "GET" and url.path == "/connect/oauth2/authorize":
            with self._lock:
                self.calls[url.path] += 1
                return self._oauth_authorize(dict(parse_qsl(url.query)))
        return super().respond(method, target, headers, body)

    def _oauth_authorize(self, query: dict[str, str]) -> tuple[int, str, bytes, dict[str, str]]:
        # WeChat shows a mistake as an error page in the browser, not as a redirect.
        def page(text: str) -> tuple[int, str, bytes, dict[str, str]]:
            return 200, "text/html; charset=utf-8", f"<p>{text}</p>".encode(), {}

        if query.get("appid") != self.app_id:
            return page("appid 参数错误")
        if query.get("response_type") != "code" or query.get("scope") not in {"snsapi_base", "snsapi_userinfo"}:
            return page("scope 参数错误")
        redirect = query.get("redirect_uri", "")
        if not redirect.startswith(("http://", "https://")):
            return page("redirect_uri 参数错误")
        if self.oauth_openid is None:
            return page("请在微信客户端打开链接")
        code = secrets.token_urlsafe(24)
        self._oauth_codes[code] = (self.oauth_openid, time.monotonic() + OAUTH_CODE_SECONDS)
        location = redirect + ("&" if "?" in redirect else "?") + urlencode(
            {"code": code, "state": query.get("state", "")})
        return 302, "text/html; charset=utf-8", b"", {"Location": location}

    def _inspect(self, method: str, what: str, query: dict[str, str]) -> _Reply:
        """The dev deployment's view of the fake (bots/fakes/dev.py); times as ISO 8601."""
        openid = query.get("openid", "")
        if method == "GET" and what == "account":
            return _json({"app_id": self.app_id})
        if method == "GET" and what in ("texts", "sent"):
            found = self.texts_to(openid) if what == "texts" else self.sent_to(openid)
            return _json({"items": [{**item, "at": item["at"].isoformat()} for item in found]})
        if method == "POST" and what == "message_from" and openid:
            self.message_from(openid)
            return _json({"ok": True})
        return _json({"error": "unknown"}, status=404)

    def _take_failure(self, path: str) -> _Reply | None:
        for failure in self._failures:
            if path.endswith(failure[0]):
                failure[3] -= 1
                if failure[3] <= 0:
                    self._failures.remove(failure)
                return _err(failure[1], failure[2])
        return None

    def _issue_token(self) -> None:
        self._token = secrets.token_urlsafe(96)  # real ones are about 136 characters
        self._token_expires = time.monotonic() + self.token_lifetime

    def _check_token(self, token: str) -> _Reply | None:
        if not token or not hmac.compare_digest(token, self._token):
            return _err(codes.INVALID_CREDENTIAL, "invalid credential, access_token is invalid or not latest")
        if time.monotonic() >= self._token_expires:
            return _err(codes.ACCESS_TOKEN_EXPIRED, "access_token expired")
        return None

    def _credentials_error(self, appid: object, secret: object) -> _Reply | None:
        if appid != self.app_id:
            return _err(codes.INVALID_APPID, "invalid appid")
        if not hmac.compare_digest(str(secret).encode(), self._secret.encode()):
            return _err(codes.INVALID_APPSECRET, "invalid appsecret")
        return None

    def add_media(self, content_type: str, content: bytes) -> str:
        """Media a follower sent the account (a photo in the chat); returns its media id."""
        media_id = secrets.token_urlsafe(48)
        with self._lock:
            self._keep_media(media_id, content_type, content)
        return media_id

    def _keep_media(self, media_id: str, content_type: str, content: bytes) -> None:
        self.media[media_id] = (content_type, content)
        if self.mailbox is not None:
            self.mailbox.put_media(media_id, content_type, content)

    def _record(self, path: str, message: dict[str, Any], raw: bytes) -> None:
        at = utcnow()
        self.sent.append({"path": path, "body": message, "raw": raw, "at": at})
        if self.mailbox is not None:
            self.mailbox.record(path, message, at)

    # Endpoints, called with the lock held.
    def _stable_token(self, path: str, query: dict[str, str], ctype: str, body: bytes) -> _Reply:
        request = _load(body)
        if request is None:
            return _err(codes.DATA_FORMAT_ERROR, "data format error")
        if request.get("grant_type") != "client_credential":
            return _err(codes.INVALID_GRANT_TYPE, "invalid grant_type")
        refused = self._credentials_error(request.get("appid"), request.get("secret", ""))
        if refused is not None:
            return refused
        if request.get("force_refresh"):
            self.force_refreshes += 1
            self._issue_token()
        elif self._token_expires - time.monotonic() < TOKEN_RENEW_BEFORE:
            self._issue_token()
        return _json({"access_token": self._token, "expires_in": int(self._token_expires - time.monotonic())})

    def _plain_token(self, path: str, query: dict[str, str], ctype: str, body: bytes) -> _Reply:
        if query.get("grant_type") != "client_credential":
            return _err(codes.INVALID_GRANT_TYPE, "invalid grant_type")
        refused = self._credentials_error(query.get("appid"), query.get("secret", ""))
        if refused is not None:
            return refused
        self._issue_token()  # every fetch replaces the previous token
        return _json({"access_token": self._token, "expires_in": self.token_lifetime})

    def _custom_send(self, path: str, query: dict[str, str], ctype: str, body: bytes) -> _Reply:
        message = _load(body)
        if message is None or not message.get("msgtype"):
            return _err(codes.DATA_FORMAT_ERROR, "data format error")
        if message["msgtype"] == "text" and not isinstance((message.get("text") or {}).get("content"), str):
            return _err(codes.DATA_FORMAT_ERROR, "data format error, text.content missing")
        if message["msgtype"] == "image" and str((message.get("image") or {}).get("media_id")) not in self.media:
            return _err(codes.INVALID_MEDIA_ID, "invalid media_id")
        openid = str(message.get("touser") or "")
        if not openid:
            return _err(codes.INVALID_OPENID, "invalid openid")
        if openid in self.outside_window:
            return _err(codes.OUT_OF_WINDOW, "response out of time limit or subscription is canceled")
        now = time.monotonic()
        recent = [t for t in self._cs_sends.get(openid, []) if now - t < CS_WINDOW_SECONDS]
        if len(recent) >= CS_QUOTA:
            return _err(codes.CS_QUOTA_EXHAUSTED, "out of response count limit")
        self._cs_sends[openid] = [*recent, now]
        self._record(path, message, body)
        return _ok()

    def _template_send(self, path: str, query: dict[str, str], ctype: str, body: bytes) -> _Reply:
        # Template messages and subscription notifications (bizsend) take the same body.
        message = _load(body)
        if message is None:
            return _err(codes.DATA_FORMAT_ERROR, "data format error")
        if not message.get("touser"):
            return _err(codes.INVALID_OPENID, "invalid openid")
        if not message.get("template_id"):
            return _err(codes.INVALID_TEMPLATE_ID, "invalid template_id")
        if not isinstance(message.get("data"), dict):
            return _err(codes.ARGUMENT_INVALID, "argument invalid! data")
        if path.endswith("bizsend"):
            self._record(path, message, body)
            return _ok()
        dedupe = (str(message["touser"]), str(message.get("client_msg_id") or ""))
        if dedupe[1] and dedupe in self._msgids:  # one message per openid + client_msg_id
            return _ok(msgid=self._msgids[dedupe])
        self._next_msgid += 1
        self._msgids[dedupe] = self._next_msgid
        self._record(path, message, body)
        return _ok(msgid=self._next_msgid)

    def _media_upload(self, path: str, query: dict[str, str], ctype: str, body: bytes) -> _Reply:
        kind = query.get("type", "")
        if kind not in {"image", "voice", "video", "thumb"}:
            return _err(codes.INVALID_MEDIA_TYPE, "invalid media type")
        form = message_from_bytes(f"Content-Type: {ctype}\r\n\r\n".encode() + body, policy=email.policy.HTTP)
        for part in form.iter_parts() if form.is_multipart() else []:
            if part.get_param("name", header="content-disposition") == "media":
                media_id = secrets.token_urlsafe(48)
                content = cast(bytes, part.get_payload(decode=True) or b"")
                self._keep_media(media_id, part.get_content_type(), content)
                return _json({"type": kind, "media_id": media_id, "created_at": int(time.time())})
        return _err(codes.DATA_FORMAT_ERROR, "media data missing")

    def _media_get(self, path: str, query: dict[str, str], ctype: str, body: bytes) -> _Reply:
        found = self.media.get(query.get("media_id", ""))
        if found is None:
            return _err(codes.INVALID_MEDIA_ID, "invalid media_id")
        return 200, found[0], found[1]

    def _oauth_access_token(self, path: str, query: dict[str, str], ctype: str, body: bytes) -> _Reply:
        if query.get("grant_type") != "authorization_code":
            return _err(codes.INVALID_GRANT_TYPE, "invalid grant_type")
        refused = self._credentials_error(query.get("appid"), query.get("secret", ""))
        if refused is not None:
            return refused
        code = query.get("code", "")
        if code in self._oauth_used:
            return _err(CODE_USED, "code been used")
        found = self._oauth_codes.pop(code, None)
        if found is None or time.monotonic() >= found[1]:
            return _err(INVALID_CODE, "invalid code")
        self._oauth_used.add(code)
        reply: dict[str, Any] = {"access_token": secrets.token_urlsafe(64), "expires_in": 7200,
                                 "refresh_token": secrets.token_urlsafe(64), "openid": found[0],
                                 "scope": "snsapi_base"}
        if self.oauth_snapshot:
            reply["is_snapshotuser"] = 1
        return _json(reply)

    def _qrcode_create(self, path: str, query: dict[str, str], ctype: str, body: bytes) -> _Reply:
        request = _load(body) or {}
        scene = str(((request.get("action_info") or {}).get("scene") or {}).get("scene_str") or "")
        expire = request.get("expire_seconds", 30)
        if request.get("action_name") != "QR_STR_SCENE" or not 1 <= len(scene) <= 64:
            return _err(codes.INVALID_ARGS, "invalid args")
        if not isinstance(expire, int) or not 1 <= expire <= 2_592_000:
            return _err(codes.INVALID_ARGS, "invalid expire_seconds")
        ticket = secrets.token_urlsafe(24)
        self.qr_scenes[ticket] = scene
        return _json({"ticket": ticket, "expire_seconds": expire, "url": f"http://weixin.qq.com/q/{ticket}"})
