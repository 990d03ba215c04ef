"""Fixtures: the database on both backends (SQLite file and the real PostgreSQL), settings, app."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bots.fakes.wechat import FakeWeChat
from tickets.settings import Settings
from tickets.storage.db import create_db_engine, migrate
from tickets.storage.schema import metadata

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
# The Redis server the tests use (numbered databases 11-15 of it); a second suite running at the same time
# on this machine points this at a server of its own.
REDIS_SERVER = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")


def redis_url(db: int) -> str:
    """The URL of numbered database `db` on the test Redis server."""
    return f"{REDIS_SERVER}/{db}"

TEST_TOKEN = "petition_token"
TEST_APP_ID = "wx1234567890abcdef"
TEST_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeChat issues them
TEST_ACCOUNT = "gh_0123456789ab"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is faster)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> str:
    """The test PostgreSQL database, emptied and migrated once per session."""
    engine = create_db_engine(POSTGRES_URL)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    except sa.exc.OperationalError as exc:  # pragma: no cover - a machine without the server
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL}: {exc}")
    finally:
        engine.dispose()
    migrate(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database URL: every storage test runs on both backends."""
    if request.param == "sqlite":
        path = tmp_path / "gateway.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_migrated")
    engine = create_db_engine(url)
    tables = ", ".join(t.name for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on the fresh database."""
    eng = create_db_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Production-like settings with a configured WeChat account in safe mode.

    Load shedding is off (tests/gateway/test_deferral.py turns it on): a stall of the test's event loop past its
    2 s, such as a slow machine loading the language models on the first message, would answer the short word."""
    return Settings(
        gateway_env="dev", var_dir=tmp_path / "var", database_url=db_url, secret_key="x" * 40,
        public_base_url="https://gw.example.cn", wechat_token=TEST_TOKEN, wechat_app_id=TEST_APP_ID,
        wechat_aes_key=TEST_AES_KEY, wechat_answer_within_seconds=0, _env_file=None,  # type: ignore[call-arg]
    ).prepared()


WECHAT_API_SECRET = "fake-app-secret"


@pytest.fixture
def wechat_api(settings: Settings) -> Iterator[FakeWeChat]:
    """WeChat's API on loopback (bots/fakes/wechat.py); the settings point at it with its AppSecret."""
    with FakeWeChat(settings.wechat_app_id, WECHAT_API_SECRET) as server:
        settings.wechat_app_secret = WECHAT_API_SECRET
        settings.wechat_api_base = server.start()
        yield server


class ManualClock:
    """A clock (seconds) that moves only when a test sets `now`."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
