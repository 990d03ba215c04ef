"""What the running application holds: settings, the database engine, channel adapters."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from sqlalchemy.engine import Engine

from bots.alipay.adapter import AlipayAdapter
from bots.alipay.api import AlipayApi
from bots.conversations.desk import DeskConfig
from bots.wechat.adapter import WeChatAdapter
from bots.wechat.replay import build_nonce_store
from gateway.busy import INTAKE_LOCK_WAIT_S, LockPause, LoopLag
from tickets.settings import Settings
from tickets.storage.checkpoints import WEB_AUTOCHECKPOINT_PAGES
from tickets.storage.db import create_db_engine


@dataclass(frozen=True, slots=True)
class AppState:
    """Everything a request handler needs, built once at start-up."""

    settings: Settings
    engine: Engine
    desk: DeskConfig
    wechat_adapter: WeChatAdapter | None  # inbound: verifies, decrypts and parses WeChat's pushes
    alipay_adapter: AlipayAdapter | None  # inbound: verifies Alipay's notifications
    alipay_api: AlipayApi | None  # outbound: the mini-program's sign-in and Alipay's OAuth
    # Outbound calls made while answering a request (OAuth code exchanges); closed with the app.
    http: httpx.Client
    # The webhooks' writes, which run on the event loop: an engine that waits only briefly for another
    # connection's lock, and the pause after such a wait ran out (gateway/busy.py).
    intake_engine: Engine
    intake_pause: LockPause
    # How long a request arriving now waits for the event loop; a push that cannot be answered in time is deferred.
    loop_lag: LoopLag = field(default_factory=LoopLag)

    @classmethod
    def build(cls, settings: Settings, engine: Engine) -> AppState:
        """Wire the parts from settings (already `prepared()`)."""
        # The event loop runs one intake transaction at a time: two connections are plenty on PostgreSQL.
        pool = {} if engine.dialect.name == "sqlite" else {"pool_size": 2, "max_overflow": 2}
        intake_engine = create_db_engine(engine.url.render_as_string(hide_password=False),
                                         lock_wait_s=INTAKE_LOCK_WAIT_S, autocheckpoint_pages=WEB_AUTOCHECKPOINT_PAGES,
                                         **pool)
        wechat = None
        if settings.wechat_token and settings.wechat_app_id:
            wechat = WeChatAdapter(
                token=settings.wechat_token, app_id=settings.wechat_app_id, aes_key=settings.wechat_aes_key,
                max_body_bytes=settings.max_body_bytes, max_clock_skew=settings.wechat_max_clock_skew_seconds,
                nonces=build_nonce_store(settings.redis_url, intake_engine),
            )
        desk = DeskConfig.from_settings(settings)
        http = httpx.Client(timeout=httpx.Timeout(5.0, connect=2.0))
        alipay_adapter = alipay_api = None
        if settings.alipay_app_id and settings.alipay_public_key:
            alipay_adapter = AlipayAdapter(settings.alipay_app_id, settings.alipay_public_key,
                                           max_body_bytes=settings.max_body_bytes,
                                           consent_methods=tuple(settings.alipay_consent_methods))
            if settings.alipay_app_private_key:
                alipay_api = AlipayApi(settings.alipay_app_id, settings.alipay_app_private_key,
                                       settings.alipay_public_key, settings.alipay_gateway, http)
        return cls(settings=settings, engine=engine, desk=desk, wechat_adapter=wechat, alipay_adapter=alipay_adapter,
                   alipay_api=alipay_api, http=http, intake_engine=intake_engine, intake_pause=LockPause(),
                   loop_lag=LoopLag())

    def close(self) -> None:
        """Release what the state opened (the application's engine belongs to whoever made it)."""
        self.http.close()
        if self.wechat_adapter is not None:
            self.wechat_adapter.close()
        self.intake_engine.dispose()
