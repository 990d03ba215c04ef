"""The FastAPI application factory."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from bots.fakes.wechat import FakeWeChat
from gateway import errors, health, simulator, tracking, webhooks
from gateway.api.router import router as api
from gateway.console.router import router as console
from gateway.cosign.router import router as cosign
from gateway.miniapp.router import router as miniapp
from gateway.open311.router import router as open311
from gateway.state import AppState
from tickets.masking import mask_identifier
from tickets.settings import Settings
from tickets.storage.db import create_db_engine
from workers.context import WorkerContext
from workers.runner import Loop

log = logging.getLogger("gateway")


def create_app(settings: Settings, engine: Engine | None = None, *, run_jobs: bool = True) -> FastAPI:
    """Build the gateway for prepared settings; the caller has migrated the database.

    Without REDIS_URL (the embedded default) the app also runs the outbox jobs in a thread;
    in dev mode with simulated WeChat credentials it starts a local fake of WeChat's API too.
    """
    engine = engine or create_db_engine(settings.database_url)
    state = AppState.build(settings, engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if settings.wechat_simulated and not settings.wechat_app_secret:
                settings.wechat_app_secret = secrets.token_hex(16)
                fake = stack.enter_context(FakeWeChat(settings.wechat_app_id, settings.wechat_app_secret))
                settings.wechat_api_base = fake.start()
                settings.wechat_open_base = settings.wechat_api_base  # its web authorisation page too
                app.state.fake_wechat = fake
            if run_jobs and not settings.redis_url:
                context = WorkerContext.build(settings, engine)
                stack.callback(context.close)
                loop = Loop(context)
                loop.start()
                stack.callback(loop.stop)
            log.info("gateway up: env=%s db=%s wechat=%s jobs=%s", settings.gateway_env, engine.dialect.name,
                     mask_identifier(settings.wechat_app_id) if state.wechat_adapter else "off",
                     "redis" if settings.redis_url else ("in-process" if run_jobs else "off"))
            yield
            kit = getattr(app.state, "cosign", None)  # the co-sign pages' wiring, built on first use
            if kit is not None:
                kit.close()
        state.close()
        engine.dispose()

    app = FastAPI(
        title="Citizen-request intake gateway",
        version="0.1.0",
        description="WeChat, Alipay and QR-code intake of citizens' requests for the 12345 hotline and "
                    "petition office; ticket API for the dispatch system.",
        lifespan=lifespan,
    )
    app.state.gateway = state
    app.state.fake_wechat = None
    errors.install(app)
    # The paths under surge load (WeChat's webhook, the co-sign form) are the app's own first routes: an
    # included router costs a scope round per route it tries on every request (~30% of the co-sign path's
    # CPU when it was last of ten); the other routers are included after them.
    app.router.routes.extend(webhooks.router.routes)
    app.router.routes.extend(cosign.routes)
    for surface in (tracking.router, health.router, miniapp, api, open311, console):
        app.include_router(surface)
    if settings.wechat_simulated:
        app.include_router(simulator.router)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` and multi-worker serving: settings from the environment."""
    return create_app(Settings().prepared())
