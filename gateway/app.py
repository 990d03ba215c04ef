"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from gateway import errors
from gateway.routes import api_tickets, dev_wechat, health, tracking, wechat
from gateway.state import AppState
from tickets.db import create_db_engine
from tickets.masking import mask_identifier
from tickets.settings import Settings

log = logging.getLogger("gateway")


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    """Build the gateway for prepared settings; the caller has migrated the database."""
    engine = engine or create_db_engine(settings.database_url)
    state = AppState.build(settings, engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.info("gateway up: env=%s db=%s wechat=%s", settings.gateway_env, engine.dialect.name,
                 mask_identifier(settings.wechat_app_id) if state.wechat else "off")
        yield
        engine.dispose()

    app = FastAPI(
        title="Citizen-request intake gateway",
        version="0.1.0",
        description="WeChat, Alipay and QR-code intake of citizens' requests for the 12345 hotline and "
                    "petition office; ticket API for the dispatch system.",
        lifespan=lifespan,
    )
    app.state.gateway = state
    errors.install(app)
    for module in (health, wechat, api_tickets, tracking):
        app.include_router(module.router)
    if settings.wechat_simulated:
        app.include_router(dev_wechat.router)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` and multi-worker serving: settings from the environment."""
    return create_app(Settings().prepared())
