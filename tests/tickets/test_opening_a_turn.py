"""tickets/inbox/turns.py `open_in_order`: the citizen's lock, the retry check, the look for a waiting message and
(PostgreSQL) the push's nonce, in one statement, each answering as its own statement did."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tickets.inbox import deferred, turns
from tickets.inbox.message import Channel, InboundMessage, Kind
from tickets.storage.db import is_postgres
from tickets.storage.schema import citizens, deferred_messages, push_nonces

NOW = datetime(2026, 12, 8, 2, 0, tzinfo=UTC)
NONCE = ("wechat:1765159200:4242", "f" * 64, NOW + timedelta(seconds=300))


def message(user: str, n: int, text: str = "小区门口的路灯坏了") -> InboundMessage:
    return InboundMessage(channel=Channel.WECHAT, account="gh_test", user_id=user, kind=Kind.TEXT,
                          dedupe_key=f"msg:{n}", created_at=NOW, text=text)


def test_a_first_message_creates_and_locks_the_citizen_with_nothing_waiting(engine: Engine) -> None:
    with engine.begin() as conn:
        opening = turns.open_in_order(conn, message("oAlice", 1), NOW)
        assert (opening.earlier, opening.waiting, opening.nonce_new) == (None, False, True)
        assert opening.citizen.dialog_state == "idle"
        assert conn.execute(sa.select(citizens.c.id)).scalars().all() == [opening.citizen.id]


def test_a_retry_finds_the_replies_the_message_got(engine: Engine) -> None:
    with engine.begin() as conn:
        opening = turns.open_in_order(conn, message("oAlice", 1), NOW)
        turns.close_turn(conn, message("oAlice", 1), opening.citizen, [{"text": "问题在哪里？"}], None, NOW, wrote=True)
    with engine.begin() as conn:
        again = turns.open_in_order(conn, message("oAlice", 1), NOW)
        other = turns.open_in_order(conn, message("oAlice", 2), NOW)
    assert again.earlier == [{"text": "问题在哪里？"}] and other.earlier is None
    assert again.citizen.id == other.citizen.id == opening.citizen.id


def test_a_message_waits_only_behind_its_own_senders_message_still_kept(engine: Engine) -> None:
    with engine.begin() as conn:
        assert deferred.keep(conn, message("oAlice", 1), NOW, late=True)
    with engine.begin() as conn:
        assert turns.open_in_order(conn, message("oAlice", 2), NOW).waiting
        assert not turns.open_in_order(conn, message("oBob", 3), NOW).waiting
        assert not turns.open_in_order(conn, message("", 4), NOW).waiting  # no sender: nothing to keep order with
        [kept] = conn.execute(sa.select(deferred_messages.c.id)).scalars().all()
        deferred.answered(conn, kept, NOW)
    with engine.begin() as conn:
        assert not turns.open_in_order(conn, message("oAlice", 5), NOW).waiting


def test_on_postgres_the_nonce_is_a_row_of_the_statement_and_kept_only_if_it_commits(engine: Engine) -> None:
    if not is_postgres(engine):
        with engine.begin() as conn, pytest.raises(ValueError):
            turns.open_in_order(conn, message("oAlice", 1), NOW, NONCE)
        return
    with engine.connect() as conn, conn.begin() as tx:
        assert turns.open_in_order(conn, message("oAlice", 1), NOW, NONCE).nonce_new
        tx.rollback()
    with engine.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(push_nonces)).scalar_one() == 0
        assert turns.open_in_order(conn, message("oAlice", 1), NOW, NONCE).nonce_new
    with engine.begin() as conn:  # the row was there: the caller's claim decides (a retry or a copied signature)
        assert not turns.open_in_order(conn, message("oAlice", 2), NOW, (NONCE[0], "0" * 64, NONCE[2])).nonce_new
        assert conn.execute(sa.select(push_nonces.c.fingerprint)).scalars().all() == [NONCE[1]]
