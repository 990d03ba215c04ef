"""What jobs work with: settings, the database and channel senders, built once per process."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from sqlalchemy.engine import Engine

from bots.alipay.api import AlipayApi
from bots.conversations.desk import DeskConfig
from bots.sms import SmsSender, build_sender
from bots.wechat.access_token import AccessTokenProvider
from bots.wechat.api import WeChatApi
from tickets.settings import Settings
from tickets.storage.db import create_db_engine
from workers.ratelimit import SendRate


@dataclass(frozen=True, slots=True)
class WorkerContext:
    """The wiring of a worker process (or of the in-process runner)."""

    settings: Settings
    engine: Engine
    wechat: WeChatApi | None
    http: httpx.Client
    alipay: AlipayApi | None = None
    wechat_rate: SendRate | None = None
    sms: SmsSender | None = None  # texts to co-signers who signed with a phone number
    # The conversations' settings, for the reply owed after a burst of fragments; built on first use.
    _desk: list[DeskConfig] = field(default_factory=list, repr=False)

    @property
    def desk(self) -> DeskConfig:
        """The conversations' settings (bots/conversations/desk.py)."""
        if not self._desk:
            self._desk.append(DeskConfig.from_settings(self.settings))
        return self._desk[0]

    @classmethod
    def build(cls, settings: Settings, engine: Engine | None = None) -> WorkerContext:
        """Wire senders for the configured channels."""
        # A connection for each of a job's lanes (workers/jobs.py), and one for the job itself and the token.
        engine = engine or create_db_engine(settings.database_url, pool_size=settings.outbox_job_threads + 2)
        http = httpx.Client(timeout=httpx.Timeout(10.0, connect=3.0))
        wechat = None
        if settings.wechat_app_id and settings.wechat_app_secret:
            # A short timeout: on SQLite the token refresh holds the write lock (bots/wechat/access_token.py).
            tokens = AccessTokenProvider(engine, settings.wechat_app_id, settings.wechat_app_secret,
                                         settings.wechat_api_base, http, timeout=TOKEN_TIMEOUT)
            wechat = WeChatApi(tokens, settings.wechat_api_base, http)
        alipay = None
        if settings.alipay_app_id and settings.alipay_app_private_key and settings.alipay_public_key:
            alipay = AlipayApi(settings.alipay_app_id, settings.alipay_app_private_key, settings.alipay_public_key,
                               settings.alipay_gateway, http)
        redis = None
        if settings.redis_url:
            from redis import Redis

            redis = Redis.from_url(settings.redis_url, socket_timeout=3, socket_connect_timeout=3)
        rate = SendRate(f"wechat:{settings.wechat_app_id}", settings.wechat_sends_per_second, redis)
        return cls(settings=settings, engine=engine, wechat=wechat, http=http, alipay=alipay, wechat_rate=rate,
                   sms=build_sender(settings, http))

    def close(self) -> None:
        """Close the HTTP and Redis connections (the engine belongs to whoever made it)."""
        self.http.close()
        if self.wechat_rate is not None:
            self.wechat_rate.close()


_current: WorkerContext | None = None
TOKEN_TIMEOUT = httpx.Timeout(4.0, connect=2.0)


def install(context: WorkerContext) -> None:
    """Use this context for jobs run in this process."""
    global _current
    _current = context


def current() -> WorkerContext:
    """The process's context; an `rq worker` process builds it from the environment on first use.

    In dev mode it is built again when the dev credentials file changed since (tickets/dev_credentials.py):
    `serve` records the address it was started on, and the fake WeChat's, for the workers started with it.
    """
    global _current
    if _current is None:
        _current = WorkerContext.build(Settings().prepared())
        return _current
    settings = _current.settings.refreshed()
    if settings is not _current.settings:
        stale, _current = _current, WorkerContext.build(settings, _current.engine)
        stale.close()
    return _current
