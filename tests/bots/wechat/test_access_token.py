"""The shared access token against the fake WeChat server over real HTTP, on SQLite files."""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bots.fakes.wechat import FakeWeChat
from bots.wechat.access_token import AccessTokenProvider
from bots.wechat.errors import INVALID_APPID, INVALID_APPSECRET, WeChatApiError
from tickets.clock import utcnow
from tickets.storage.db import create_db_engine
from tickets.storage.schema import access_tokens

APP_ID = "wx1234567890abcdef"
SECRET = "s3cr3t-0123456789abcdef0123456789"


@pytest.fixture
def fake() -> Iterator[FakeWeChat]:
    with FakeWeChat(APP_ID, SECRET) as server:
        server.start()
        yield server


@pytest.fixture
def db_file(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "gateway.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def engines(db_file: str) -> Iterator[list[Engine]]:
    """Four engines on the same file, as four processes would have."""
    made = [create_db_engine(db_file) for _ in range(4)]
    yield made
    for engine in made:
        engine.dispose()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


def provider(engine: Engine, fake: FakeWeChat, http: httpx.Client, secret: str = SECRET,
             app_id: str = APP_ID) -> AccessTokenProvider:
    return AccessTokenProvider(engine, app_id, secret, fake.base_url, http)


def stored_row(engine: Engine) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(access_tokens.c.token, access_tokens.c.expires_at, access_tokens.c.refreshed_at)
            .where(access_tokens.c.account == f"wechat:{APP_ID}")
        ).one()


def expire_row(engine: Engine, token: str = "old-token") -> None:
    with engine.begin() as conn:
        conn.execute(sa.delete(access_tokens))
        conn.execute(sa.insert(access_tokens).values(
            account=f"wechat:{APP_ID}", token=token, expires_at=utcnow() - timedelta(seconds=1)))


def test_token_is_cached_in_the_row_and_shared_between_providers(
        fake: FakeWeChat, engines: list[Engine], http: httpx.Client) -> None:
    first = provider(engines[0], fake, http)
    token = first.token()
    assert token == fake.current_token
    assert first.token() == token
    assert provider(engines[1], fake, http).token() == token
    assert fake.stable_token_calls == 1
    assert fake.force_refreshes == 0


def test_expiry_keeps_a_five_minute_margin(fake: FakeWeChat, engines: list[Engine], http: httpx.Client) -> None:
    before = utcnow()
    provider(engines[0], fake, http).token()
    row = stored_row(engines[0])
    assert row.expires_at.tzinfo is not None
    lifetime = row.expires_at - before
    assert timedelta(seconds=6899) <= lifetime <= timedelta(seconds=6902)
    assert row.refreshed_at is not None


def test_margin_never_takes_more_than_half_a_short_lifetime(engines: list[Engine], http: httpx.Client) -> None:
    with FakeWeChat(APP_ID, SECRET, token_lifetime=400) as short:
        short.start()
        before = utcnow()
        provider(engines[0], short, http).token()
    lifetime = stored_row(engines[0]).expires_at - before
    assert timedelta(seconds=199) <= lifetime <= timedelta(seconds=201)


def test_token_close_to_expiry_is_refreshed(fake: FakeWeChat, engines: list[Engine], http: httpx.Client) -> None:
    provider(engines[0], fake, http).token()
    with engines[0].begin() as conn:
        conn.execute(sa.update(access_tokens).values(expires_at=utcnow() + timedelta(seconds=59)))
    provider(engines[0], fake, http).token()  # another process, reading the row
    assert fake.stable_token_calls == 2


def test_a_process_keeps_its_copy_until_wechat_refuses_it(fake: FakeWeChat, engines: list[Engine],
                                                          http: httpx.Client) -> None:
    tokens = provider(engines[0], fake, http)
    first = tokens.token()
    with engines[0].begin() as conn:  # the row is not read again for every send
        conn.execute(sa.update(access_tokens).values(token="changed-elsewhere"))
    assert tokens.token() == first
    assert tokens.invalidate(first) == "changed-elsewhere"  # another process already refreshed
    assert fake.stable_token_calls == 1


def test_concurrent_callers_with_an_expired_token_make_one_upstream_call(
        fake: FakeWeChat, engines: list[Engine], http: httpx.Client) -> None:
    expire_row(engines[0])
    fake.latency = 0.3  # keep the first refresh in flight while the others arrive
    providers = [provider(engine, fake, http) for engine in engines]
    barrier = threading.Barrier(len(providers))
    results: list[str] = []
    errors: list[BaseException] = []

    def ask(tokens: AccessTokenProvider) -> None:
        barrier.wait()
        try:
            results.append(tokens.token())
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(p,)) for p in providers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert fake.stable_token_calls == 1
    assert results == [fake.current_token] * len(providers)
    assert stored_row(engines[0]).token == fake.current_token


def test_invalidate_refreshes_only_a_token_that_is_still_stale(
        fake: FakeWeChat, engines: list[Engine], http: httpx.Client) -> None:
    one, other = provider(engines[0], fake, http), provider(engines[1], fake, http)
    stale = one.token()
    fake.rotate_token()
    fresh = one.invalidate(stale)
    assert fresh == fake.current_token != stale
    assert fake.stable_token_calls == 2
    # Another process got the same 40001 for the same stale token: it takes the row, no upstream call.
    assert other.invalidate(stale) == fresh
    assert fake.stable_token_calls == 2
    assert fake.force_refreshes == 0


def test_invalidate_with_a_stale_but_unexpired_row_asks_upstream(
        fake: FakeWeChat, engines: list[Engine], http: httpx.Client) -> None:
    tokens = provider(engines[0], fake, http)
    current = tokens.token()
    assert tokens.invalidate(current) == current  # WeChat still considers it valid and says so
    assert fake.stable_token_calls == 2


@pytest.mark.parametrize(("app_id", "secret", "errcode"), [
    (APP_ID, "wrong-secret-9876543210", INVALID_APPSECRET),
    ("wx0000000000000000", SECRET, INVALID_APPID),
])
def test_refused_credentials_raise_without_the_secret(
        fake: FakeWeChat, engines: list[Engine], http: httpx.Client, caplog: pytest.LogCaptureFixture,
        app_id: str, secret: str, errcode: int) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(WeChatApiError) as caught:
        provider(engines[0], fake, http, secret=secret, app_id=app_id).token()
    assert caught.value.errcode == errcode
    assert not caught.value.retryable
    for text in (str(caught.value), repr(caught.value), caught.value.errmsg, caplog.text):
        assert secret not in text
    with engines[0].connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(access_tokens)).scalar_one() == 0


def test_upstream_unreachable_is_a_retryable_transport_error(engines: list[Engine], http: httpx.Client) -> None:
    with FakeWeChat(APP_ID, SECRET) as gone:
        base = gone.start()
    tokens = AccessTokenProvider(engines[0], APP_ID, SECRET, base, http)
    with pytest.raises(WeChatApiError) as caught:
        tokens.token()
    assert (caught.value.errcode, caught.value.errmsg, caught.value.retryable) == (-2, "transport", True)
    assert SECRET not in repr(caught.value)


def test_row_expiry_is_timezone_aware_utc(fake: FakeWeChat, engines: list[Engine], http: httpx.Client) -> None:
    provider(engines[0], fake, http).token()
    assert stored_row(engines[0]).expires_at.utcoffset() == timedelta(0)
    assert stored_row(engines[0]).expires_at > datetime.now(UTC)
