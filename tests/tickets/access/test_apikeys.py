"""API keys: shown once, stored hashed, roles ordered, revocation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tickets.access.apikeys import Role, authenticate, create_api_key, revoke_api_key
from tickets.errors import AuthError
from tickets.storage.schema import api_keys

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def test_key_roundtrip_and_roles(engine: Engine) -> None:
    with engine.begin() as conn:
        key = create_api_key(conn, "dispatch", Role.DISPATCHER, NOW)
        stored = conn.execute(sa.select(api_keys.c.key_hash)).scalar_one()
        assert key not in stored
        caller = authenticate(conn, key)
    assert caller.name == "dispatch" and caller.role is Role.DISPATCHER
    caller.require(Role.READER)
    with pytest.raises(AuthError) as info:
        caller.require(Role.ADMIN)
    assert info.value.forbidden


def test_unknown_and_revoked_keys_fail(engine: Engine) -> None:
    with engine.begin() as conn:
        key = create_api_key(conn, "reader", Role.READER, NOW)
        with pytest.raises(AuthError):
            authenticate(conn, key + "x")
        with pytest.raises(AuthError):
            authenticate(conn, "Bearer nonsense")
        assert revoke_api_key(conn, "reader", NOW)
        assert not revoke_api_key(conn, "reader", NOW)
        with pytest.raises(AuthError):
            authenticate(conn, key)
