"""Console users: argon2id hashes, no lock-out however many wrong passwords, server-side sessions that expire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tickets.access import officers as users
from tickets.access import sessions as console_sessions
from tickets.access.officers import UserRole
from tickets.errors import AuthError
from tickets.storage.schema import console_sessions as sessions_table
from tickets.storage.schema import users as users_table

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


def test_password_is_stored_as_argon2id_and_checked(engine: Engine) -> None:
    with engine.begin() as conn:
        made = users.create_user(conn, "Li.Ming", UserRole.OPERATOR, PASSWORD, NOW)
    assert made.username == "li.ming"
    with engine.begin() as conn:
        stored = conn.execute(sa.select(users_table.c.password_hash)).scalar_one()
        assert stored.startswith("$argon2id$") and PASSWORD not in stored
        assert users.authenticate(conn, "LI.MING", PASSWORD, NOW) == made
    with engine.begin() as conn, pytest.raises(AuthError):
        users.authenticate(conn, "li.ming", PASSWORD + "x", NOW)
    with engine.begin() as conn, pytest.raises(AuthError):
        users.authenticate(conn, "nobody", PASSWORD, NOW)


def test_bad_names_and_short_passwords_are_refused(engine: Engine) -> None:
    with engine.begin() as conn:
        for name, password in (("x", PASSWORD), ("has space", PASSWORD), ("ok_name", "short")):
            with pytest.raises(ValueError, match="username|password"):
                users.create_user(conn, name, UserRole.VIEWER, password, NOW)
        users.create_user(conn, "wang", UserRole.VIEWER, PASSWORD, NOW)
        with pytest.raises(ValueError, match="exists"):
            users.create_user(conn, "wang", UserRole.ADMIN, PASSWORD, NOW)


def test_wrong_passwords_never_lock_the_account(engine: Engine) -> None:
    """Anyone who knows a user name could lock its officer out; the console slows guessing down instead."""
    with engine.begin() as conn:
        users.create_user(conn, "zhao", UserRole.ADMIN, PASSWORD, NOW)
    for _ in range(20):
        with engine.begin() as conn, pytest.raises(AuthError):
            users.authenticate(conn, "zhao", "wrong password", NOW)
    with engine.begin() as conn:
        assert users.authenticate(conn, "zhao", PASSWORD, NOW).username == "zhao"
        assert conn.execute(sa.select(users_table.c.last_login_at)).scalar_one() == NOW


def test_sessions_keep_only_a_hash_and_expire(engine: Engine) -> None:
    with engine.begin() as conn:
        user = users.create_user(conn, "sun", UserRole.VIEWER, PASSWORD, NOW)
        token = console_sessions.open_session(conn, user, NOW)
        stored = conn.execute(sa.select(sessions_table.c.token_hash)).scalar_one()
    assert token not in stored and len(stored) == 64
    with engine.begin() as conn:
        assert console_sessions.session_user(conn, token, NOW + timedelta(hours=1)) == user
        assert console_sessions.session_user(conn, token + "x", NOW) is None
        assert console_sessions.session_user(conn, token, NOW + timedelta(hours=console_sessions.SESSION_HOURS)) \
            is None
        assert console_sessions.purge_expired(conn, NOW + timedelta(days=1)) == 1
        other = console_sessions.open_session(conn, user, NOW)
        console_sessions.close_session(conn, other)
        assert console_sessions.session_user(conn, other, NOW) is None
        conn.execute(sa.update(users_table).values(disabled=True))
        third = console_sessions.open_session(conn, user, NOW)
        assert console_sessions.session_user(conn, third, NOW) is None


def test_set_password_replaces_the_old_one(engine: Engine) -> None:
    with engine.begin() as conn:
        users.create_user(conn, "zhou", UserRole.OPERATOR, PASSWORD, NOW)
        users.set_password(conn, "zhou", "another long one")
        with pytest.raises(AuthError):
            users.authenticate(conn, "zhou", PASSWORD, NOW)
        assert users.authenticate(conn, "zhou", "another long one", NOW).role is UserRole.OPERATOR
        with pytest.raises(ValueError, match="password"):
            users.set_password(conn, "zhou", "short")
