"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager, contextmanager

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from bots.fakes.dev import dev_fake_wechat
from bots.fakes.wechat_mailbox import for_var_dir
from gateway import apidocs, errors, health, metrics, simulator, tracking, webhooks
from gateway.api.router import router as api
from gateway.console.router import router as console
from gateway.cosign.router import router as cosign
from gateway.miniapp.router import router as miniapp
from gateway.open311.router import router as open311
from gateway.state import AppState
from tickets import dev_credentials
from tickets.errors import ConfigurationError
from tickets.masking import mask_identifier
from tickets.settings import Settings
from tickets.storage.checkpoints import WEB_AUTOCHECKPOINT_PAGES, Checkpointer
from tickets.storage.db import create_db_engine
from workers.context import WorkerContext
from workers.runner import Loop

log = logging.getLogger("gateway")


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(settings: Settings, engine: Engine | None = None, *, run_jobs: bool = True,
               own_process: bool = False) -> FastAPI:
    """Build the gateway for prepared settings; the caller has migrated the database.

    Without REDIS_URL (the embedded default) the app also runs the outbox jobs in a thread. In dev mode
    with simulated WeChat credentials it serves the deployment's fake of WeChat's API at the address the
    settings name, unless another process of the deployment (`serve`) already does (bots/fakes/dev.py).
    `own_process`: the app is its process's only tenant (a server's worker), so at start-up it may settle the
    process's heap (`settle_heap`); not for an app a test or another program builds among its own objects.
    """
    engine = engine or create_db_engine(settings.database_url, autocheckpoint_pages=WEB_AUTOCHECKPOINT_PAGES)
    state = AppState.build(settings, engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if settings.dev_fake_wechat:
                app.state.fake_wechat = stack.enter_context(
                    dev_fake_wechat(settings.wechat_app_id, settings.wechat_app_secret, settings.wechat_api_base,
                                    mailbox=for_var_dir(settings.var_dir)))
            if engine.dialect.name == "sqlite":  # the log is copied back by a thread, not by commits on the loop
                app.state.wal_checkpointer = checkpointer = Checkpointer(engine)
                checkpointer.start()
                stack.callback(checkpointer.stop)
            if run_jobs and not settings.redis_url:
                context = WorkerContext.build(settings, engine)
                stack.callback(context.close)
                loop = Loop(context)
                loop.start()
                stack.callback(loop.stop)
            if settings.wechat_answer_within_seconds:
                ticker = asyncio.create_task(state.loop_lag.run(), name="loop-lag")
                stack.push_async_callback(_cancelled, ticker)
            if own_process:
                settle_heap()
            log.info("gateway up: env=%s db=%s wechat=%s jobs=%s", settings.gateway_env, engine.dialect.name,
                     mask_identifier(settings.wechat_app_id) if state.wechat_adapter else "off",
                     "redis" if settings.redis_url else ("in-process" if run_jobs else "off"))
            yield
            # Built on first use: the co-sign pages' wiring, the sign-in throttle, the upload limiter.
            for built in ("cosign", "console_throttle", "upload_limiter"):
                wired = getattr(app.state, built, None)
                if wired is not None:
                    wired.close()
        state.close()
        engine.dispose()

    app = FastAPI(
        title="Citizen-request intake gateway",
        version="0.1.0",
        description="WeChat, Alipay and QR-code intake of citizens' requests for the 12345 hotline and "
                    "petition office; ticket API for the dispatch system.",
        lifespan=lifespan,
        docs_url=None, redoc_url=None, openapi_url=None,  # served by gateway/apidocs.py, without a CDN
    )
    app.state.gateway = state
    app.state.fake_wechat = None
    app.state.wal_checkpointer = None
    errors.install(app)
    # The paths under surge load (WeChat's webhook, the co-sign form) are the app's own first routes: an
    # included router costs a scope round per route it tries on every request (~30% of the co-sign path's
    # CPU when it was last of ten); the other routers are included after them.
    app.router.routes.extend(webhooks.router.routes)
    app.router.routes.extend(cosign.routes)
    for surface in (tracking.router, health.router, metrics.router, miniapp, api, open311, console):
        app.include_router(surface)
    if settings.wechat_simulated:
        app.include_router(simulator.router)
    apidocs.install(app, enabled=settings.docs_enabled)
    app.add_middleware(metrics.RequestMetrics)
    return app


@contextmanager
def serving_dev_fakes(settings: Settings) -> Iterator[Settings]:
    """For `serve`: run the dev deployment's fake of WeChat's API for all its processes while the block runs.

    Yields the settings to use: when something else holds the fake's recorded address, a new one is chosen
    and recorded for the other processes. Settings without the dev fake pass through.
    """
    if not settings.dev_fake_wechat:
        yield settings
        return
    with ExitStack() as stack:
        try:
            stack.enter_context(dev_fake_wechat(settings.wechat_app_id, settings.wechat_app_secret,
                                                settings.wechat_api_base, mailbox=for_var_dir(settings.var_dir)))
        except ConfigurationError as exc:
            log.warning("%s; the fake moves to a new address, recorded for the worker and relay", exc)
            dev_credentials.record(settings.var_dir,
                                   wechat_api_base=f"http://127.0.0.1:{dev_credentials.free_fake_port()}")
            settings = settings.refreshed()
            stack.enter_context(dev_fake_wechat(settings.wechat_app_id, settings.wechat_app_secret,
                                                settings.wechat_api_base, mailbox=for_var_dir(settings.var_dir)))
        yield settings


def create_app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` and multi-worker serving: settings from the environment."""
    return create_app(Settings().prepared(), own_process=True)


def settle_heap() -> None:
    """Keep what start-up built (the language models, gazetteers, catalogues: about 415,000 objects that live as
    long as the process) out of the cyclic garbage collector's walks.

    A full collection walks every tracked object and holds the event loop meanwhile: 130-150 ms with them, four
    times in a one-minute intake benchmark (docs/performance.md). `gc.freeze` moves them to a generation the
    collector never walks; what requests create is collected as before.
    """
    gc.collect()
    gc.freeze()
