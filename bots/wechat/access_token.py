"""The one owner of WeChat's access token, shared by every process through its `access_tokens` row.

wechatpy keeps the expiry in memory and, on 40001, every process fetches a new token with no lock, each
invalidating the others' (docs/platforms.md section 2.1). Here the row is the cache and its
lock the single flight: whoever holds the lock re-reads the row and calls WeChat only if it is still stale.

Upstream is the stable token endpoint in normal mode, which returns the same token while it is valid and
is isolated from `cgi-bin/token`; `force_refresh` (20 a day) is never used automatically.
https://developers.weixin.qq.com/doc/service/api/base/api_getstableaccesstoken
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bots.wechat.errors import TOKEN_ROW_BUSY, TRANSPORT, WeChatApiError, exchange
from tickets.clock import utcnow
from tickets.masking import mask_identifier
from tickets.storage.db import dialect_insert, reader
from tickets.storage.schema import access_tokens

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
REFRESH_AHEAD = timedelta(seconds=60)  # a token this close to expiry is refreshed before use
SAFETY_MARGIN = 300  # seconds taken off expires_in, but never more than half of it
LOCK_WAIT_SECONDS = 20.0  # how long a caller waits for another one's refresh
JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Lock waits that ran out: SQLite's busy timeout, PostgreSQL's lock_timeout (55P03) or statement_timeout (57014).
_LOCK_SQLSTATES = frozenset({"55P03", "57014"})


@dataclass(frozen=True, slots=True)
class _Stored:
    token: str
    expires_at: datetime


class AccessTokenProvider:
    """Hands out the account's access token, refreshing it at most once across all processes."""

    def __init__(self, engine: Engine, app_id: str, app_secret: str, api_base: str, http: httpx.Client, *,
                 timeout: httpx.Timeout = DEFAULT_TIMEOUT, clock: Callable[[], datetime] = utcnow) -> None:
        self.account = f"wechat:{app_id}"
        self._engine = engine
        self._app_id = app_id
        self._secret = app_secret
        self._url = stable_token_url(api_base)
        self._http = http
        self._timeout = timeout
        self._clock = clock
        # This process's copy, so a burst of sends reads the row once; a 40001 goes through `invalidate`.
        self._memo: _Stored | None = None

    def __repr__(self) -> str:
        return f"AccessTokenProvider(account={self.account!r})"

    def token(self) -> str:
        """The current token; refreshed first if it is missing or expires within a minute."""
        memo = self._memo
        if memo is not None and self._fresh(memo):
            return memo.token
        stored = self._read()
        if stored is not None and self._fresh(stored):
            self._memo = stored
            return stored.token
        return self._refresh(stale=None)

    def invalidate(self, stale: str) -> str:
        """After WeChat refused `stale` (40001/40014/42001): refresh unless another caller already has."""
        self._memo = None
        return self._refresh(stale=stale)

    def _fresh(self, stored: _Stored) -> bool:
        return bool(stored.token) and stored.expires_at - self._clock() >= REFRESH_AHEAD

    def _read(self) -> _Stored | None:
        # `reader`: on SQLite a plain BEGIN, so reading never waits for a writer.
        with reader(self._engine).connect() as conn:
            row = conn.execute(
                sa.select(access_tokens.c.token, access_tokens.c.expires_at)
                .where(access_tokens.c.account == self.account)
            ).one_or_none()
        return None if row is None else _Stored(row.token, row.expires_at)

    def _refresh(self, stale: str | None) -> str:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                return self._refresh_locked(stale)
            except sa.exc.OperationalError as exc:
                if not _lock_wait_ran_out(exc):
                    raise
                # The holder is still talking to WeChat; it may have finished since.
                stored = self._read()
                if stored is not None and self._fresh(stored) and stored.token != stale:
                    return stored.token
                if time.monotonic() >= deadline:
                    raise WeChatApiError(TOKEN_ROW_BUSY, "access token row locked by another refresh") from exc
                time.sleep(0.05)

    def _refresh_locked(self, stale: str | None) -> str:
        # SQLite: `engine.begin()` is BEGIN IMMEDIATE, exclusive for writers already. PostgreSQL: the row
        # must exist before FOR UPDATE can lock it, hence the insert that does nothing when it is there.
        with self._engine.begin() as conn:
            conn.execute(
                dialect_insert(conn, access_tokens)
                .values(account=self.account, token="", expires_at=_EPOCH)
                .on_conflict_do_nothing(index_elements=[access_tokens.c.account])
            )
            row = conn.execute(
                sa.select(access_tokens.c.token, access_tokens.c.expires_at)
                .where(access_tokens.c.account == self.account).with_for_update()
            ).one()
            stored = _Stored(row.token, row.expires_at)
            if self._fresh(stored) and stored.token != stale:
                self._memo = stored
                return stored.token  # someone refreshed while we waited for the lock
            token, expires_in = self._fetch()
            now = self._clock()
            lifetime = max(expires_in - SAFETY_MARGIN, expires_in / 2)
            expires_at = now + timedelta(seconds=lifetime)
            conn.execute(
                sa.update(access_tokens).where(access_tokens.c.account == self.account)
                .values(token=token, expires_at=expires_at, refreshed_at=now)
            )
            self._memo = _Stored(token, expires_at)
        log.info("wechat access token refreshed for %s (expires_in %d s)", mask_identifier(self._app_id), expires_in)
        return token

    def _fetch(self) -> tuple[str, int]:
        return fetch_stable_token(self._http, self._url, self._app_id, self._secret, self._timeout)


def fetch_stable_token(http: httpx.Client, url: str, app_id: str, app_secret: str,
                       timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> tuple[str, int]:
    """One call of the stable token endpoint in normal mode (harmless: it hands out the token in force).

    Returns the token and its lifetime in seconds; raises WeChatApiError.
    """
    body = {"grant_type": "client_credential", "appid": app_id, "secret": app_secret, "force_refresh": False}
    reply = exchange(lambda: http.post(url, content=json.dumps(body).encode("utf-8"), headers=JSON_HEADERS,
                                       timeout=timeout))
    token, expires_in = reply.get("access_token"), reply.get("expires_in")
    if not isinstance(token, str) or not token or not isinstance(expires_in, int) or expires_in <= 0:
        raise WeChatApiError(TRANSPORT, "transport: stable_token reply without access_token/expires_in")
    return token, expires_in


def stable_token_url(api_base: str) -> str:
    """The stable token endpoint under WeChat's API root `api_base`."""
    return api_base.rstrip("/") + "/cgi-bin/stable_token"


def _lock_wait_ran_out(exc: sa.exc.OperationalError) -> bool:
    if getattr(exc.orig, "sqlstate", None) in _LOCK_SQLSTATES:
        return True
    return "database is locked" in str(exc.orig)
