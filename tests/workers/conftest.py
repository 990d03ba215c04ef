"""Fixtures of the worker tests: the local fake of WeChat's API and a worker context wired to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from bots.fake_wechat import FakeWeChat
from tickets.settings import Settings
from workers.context import WorkerContext, install

SECRET = "fake-app-secret"


@pytest.fixture
def fake(settings: Settings) -> Iterator[FakeWeChat]:
    """WeChat's API on loopback; the settings point at it."""
    with FakeWeChat(settings.wechat_app_id, SECRET) as server:
        settings.wechat_app_secret = SECRET
        settings.wechat_api_base = server.start()
        yield server


@pytest.fixture
def context(settings: Settings, engine: Engine, fake: FakeWeChat) -> Iterator[WorkerContext]:
    """The jobs' context for this test's database and fake."""
    ctx = WorkerContext.build(settings, engine)
    install(ctx)
    yield ctx
    ctx.close()
