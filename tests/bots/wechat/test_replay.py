"""bots/wechat/replay.py and tickets/inbox/nonces.py: nonces bound to their message, shared across processes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bots.wechat.replay import (
    PRUNE_EVERY,
    DatabaseNonces,
    MemoryNonces,
    NonceStore,
    RedisNonces,
    build_nonce_store,
    fingerprint,
)
from tests.conftest import redis_url
from tickets.inbox import nonces
from tickets.storage.schema import push_nonces

REDIS_URL = redis_url(11)
A, B = fingerprint("<xml>one</xml>"), fingerprint("<xml>two</xml>")


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.close()


def stores(engine: Engine, client: redis.Redis) -> dict[str, tuple[NonceStore, NonceStore]]:
    """Two handles on each shared store, as two web processes would hold them."""
    return {
        "database": (DatabaseNonces(engine), DatabaseNonces(engine)),
        "redis": (RedisNonces(client, DatabaseNonces(engine)), RedisNonces(client, DatabaseNonces(engine))),
    }


@pytest.mark.redis
@pytest.mark.parametrize("kind", ["database", "redis"])
def test_a_nonce_binds_its_message_across_processes(engine: Engine, redis_client: redis.Redis, kind: str) -> None:
    one, two = stores(engine, redis_client)[kind]
    assert one.claim("wechat:1718000000:42", A, 60)
    assert two.claim("wechat:1718000000:42", A, 60)  # the same push again: WeChat retrying
    assert not two.claim("wechat:1718000000:42", B, 60)  # another message under the same nonce
    assert not one.claim("wechat:1718000000:42", B, 60)
    assert two.claim("wechat:1718000001:42", B, 60)  # another timestamp is another key


@pytest.mark.redis
def test_redis_entries_expire_with_the_window(redis_client: redis.Redis, engine: Engine) -> None:
    store = RedisNonces(redis_client, DatabaseNonces(engine))
    assert store.claim("wechat:1:n", A, 1)
    assert 0 < redis_client.ttl("gateway:nonce:wechat:1:n") <= 1
    time.sleep(1.1)
    assert store.claim("wechat:1:n", B, 1)


def test_database_entries_expire_with_the_window(engine: Engine) -> None:
    now = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    with engine.begin() as conn:
        assert nonces.claim(conn, "wechat:1:n", A, now, 60)
        assert not nonces.claim(conn, "wechat:1:n", B, now + timedelta(seconds=59), 60)
        assert nonces.claim(conn, "wechat:1:n", B, now + timedelta(seconds=61), 60)  # expired: taken over
        assert not nonces.claim(conn, "wechat:1:n", A, now + timedelta(seconds=62), 60)
        assert nonces.claim(conn, "wechat:2:n", A, now, 60)
        assert nonces.prune(conn, now + timedelta(seconds=90)) == 1
        assert conn.execute(sa.select(push_nonces.c.key)).scalars().all() == ["wechat:1:n"]


def test_redis_down_falls_back_to_the_database(engine: Engine) -> None:
    unreachable = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    store = RedisNonces(unreachable, DatabaseNonces(engine))
    assert store.claim("wechat:1:n", A, 60)
    assert not DatabaseNonces(engine).claim("wechat:1:n", B, 60)
    unreachable.close()


def test_memory_store_forgets_after_the_ttl() -> None:
    now = [1000.0]
    store = MemoryNonces(clock=lambda: now[0])
    assert store.claim("k", A, 10) and store.claim("k", A, 10) and not store.claim("k", B, 10)
    now[0] += 11
    assert store.claim("k", B, 10)


def test_the_store_follows_redis_url(engine: Engine) -> None:
    assert isinstance(build_nonce_store("", engine), DatabaseNonces)
    store = build_nonce_store(REDIS_URL, engine)
    assert isinstance(store, RedisNonces)
    store.close()


@pytest.mark.redis
def test_a_claim_inside_the_intakes_transaction_lasts_only_if_it_commits(engine: Engine, redis_client: redis.Redis
                                                                       ) -> None:
    store = DatabaseNonces(engine)

    def failing_intake() -> None:
        with engine.begin() as conn:
            assert store.claim_in(conn, "wechat:1:n", A, 60)
            raise RuntimeError("the intake failed: the platform retries the same push")

    with pytest.raises(RuntimeError):
        failing_intake()
    assert store.claim("wechat:1:n", B, 60)  # nothing was kept: the nonce is free
    with engine.begin() as conn:
        assert not store.claim_in(conn, "wechat:1:n", A, 60)
        assert store.claim_in(conn, "wechat:2:n", A, 60)
    assert not store.claim("wechat:2:n", B, 60)
    broken = RedisNonces(redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2), store)
    with engine.begin() as conn:  # Redis down: the claim becomes a row of the caller's transaction
        assert broken.claim_in(conn, "wechat:3:n", A, 60)
        assert not broken.claim_in(conn, "wechat:3:n", B, 60)
    with engine.connect() as conn:  # Redis up: Redis alone holds the nonces, apart from the database's
        assert RedisNonces(redis_client, store).claim_in(conn, "wechat:3:n", B, 60)


def test_claims_written_as_rows_of_the_callers_statement_still_prune_the_expired(engine: Engine) -> None:
    """The intake and a deferral write the nonce's row in a statement of their own (`claim_as_row`): counted as
    claims, the one due to delete the expired rows is handed back to `claim_in`, which does."""
    store = DatabaseNonces(engine)
    with engine.begin() as conn:
        conn.execute(sa.insert(push_nonces).values(key="wechat:0:old", fingerprint=A,
                                                   expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert all(store.claim_as_row() for _ in range(PRUNE_EVERY - 1))
    assert not store.claim_as_row()  # this claim prunes: the caller takes claim_in's way
    with engine.begin() as conn:
        assert store.claim_in(conn, "wechat:1:n", A, 60)
        assert conn.execute(sa.select(push_nonces.c.key)).scalars().all() == ["wechat:1:n"]
    assert store.claim_as_row()
