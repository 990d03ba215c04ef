"""One inbound message, start to finish, inside one database transaction.

Every channel's webhook calls `handle`:

lock the citizen -> a retry? answer as before -> conversation step -> store state, message
and replies (and any ticket and outbox rows the step wrote) -> replies for the adapter.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bots.conversations import dialog, drafting
from bots.conversations.desk import Desk, DeskConfig
from bots.replies import Reply, say
from tickets import notifications
from tickets.clock import utcnow
from tickets.inbox import consents, deferred
from tickets.inbox import turns as inbox
from tickets.inbox.citizens import CitizenKey, get_citizen_key, lock_citizen, save_citizen
from tickets.inbox.message import InboundMessage, Kind
from tickets.masking import mask_identifier
from tickets.metrics import DEFERRED, MESSAGES
from tickets.storage import fastsql

log = logging.getLogger(__name__)

T = TypeVar("T")


def _record_platform_event(conn: sa.Connection, msg: InboundMessage, citizen_id: int, now: datetime) -> None:
    """Subscription consents and delivery receipts: kept for the push ladder and the notification rows."""
    if msg.kind is Kind.CONSENT:
        consents.record(conn, citizen_id, [(c.template_id, c.status) for c in msg.consents], now)
    elif msg.kind is Kind.DELIVERY_RECEIPT:
        for receipt in msg.consents:
            if receipt.msg_id:
                notifications.join_receipt(conn, receipt.msg_id, receipt.status or receipt.error_code, now)


def receive(conn: sa.Connection, msg: InboundMessage, config: DeskConfig, now: datetime,
            opening: inbox.Opening | None = None) -> list[Reply]:
    """Handle one inbound message and return the replies; the caller commits the transaction. `opening`: the
    citizen and the earlier answer, when the caller's `inbox.open_in_order` found them already."""
    if opening is None:  # lock the citizen and find an earlier answer, in one statement
        citizen, earlier = inbox.open_turn(conn, msg, now)
    else:
        citizen, earlier = opening.citizen, opening.earlier
    if earlier is not None:
        log.info("retry of %s from %s answered as before", msg.kind.value, mask_identifier(msg.user_id))
        return [Reply.from_record(r) for r in earlier]
    if msg.kind is Kind.LOCATION and "location" in msg.dropped:
        # A shared location that is no point on Earth: kept without it, and the citizen is asked again;
        # the conversation stays where it was.
        replies = [say("location_unreadable")]
        inbox.close_turn(conn, msg, citizen, [r.to_record() for r in replies], None, now, wrote=True)
        log.info("location from %s is no point on Earth; kept without it", mask_identifier(msg.user_id))
        return replies
    turn = dialog.step(msg, citizen, Desk(conn, config, now, msg))
    _record_platform_event(conn, msg, citizen.id, now)
    inbox.close_turn(conn, msg, citizen, [r.to_record() for r in turn.replies], turn.ticket_id, now,
                     wrote=msg.kind in dialog.CONTENT_KINDS)  # save_citizen + record
    if msg.kind.value == "unknown":
        log.info("unknown %s from %s recorded, no reply", msg.raw_type[:40], mask_identifier(msg.user_id))
    return turn.replies


def handle(engine: Engine, message: InboundMessage, config: DeskConfig,
           first: Callable[[sa.Connection], None] | None = None) -> list[Reply]:
    """Run the intake step for `message` in one transaction; returns the replies to render.

    This runs on the event loop on purpose: the transaction is short and never awaits, and the
    thread-pool hand-off would cost more than the work (docs/performance.md). A unique-key
    collision means a concurrent retry won the race; the second attempt reads its answer.
    On SQLite the transaction holds the database's write lock (BEGIN IMMEDIATE): everything that can
    happen outside it does (parsing and decryption before, the reply's rendering and encryption after),
    and the statements inside run through the driver (tickets/storage/fastsql.py). The webhooks pass an
    engine that waits only briefly for a lock another process holds (docs/design.md section 4).
    `first` runs inside the transaction before the step (the WeChat webhook's nonce claim); what it raises
    rolls the transaction back.
    """
    MESSAGES.labels(message.channel.value, message.kind.value).inc()
    return _in_transaction(engine, first, lambda conn: receive(conn, message, config, utcnow()))


def handle_in_order(engine: Engine, message: InboundMessage, config: DeskConfig,
                    first: Callable[[sa.Connection], None] | None = None, *,
                    nonce: tuple[str, str, datetime] | None = None) -> list[Reply] | None:
    """`handle`, unless a message the citizen sent before is still waiting for its job (`defer`): then this one
    is kept behind it, in the same transaction, and None returned (the webhook answers with the short word). A
    conversation is stepped through in the order it was written: a place sent after a deferred problem must not
    be read before it. (The message is counted when it is stepped through, here or by its job.)

    The citizen's lock, the retry check and the look for a waiting message are one statement (`open_in_order`). On
    PostgreSQL, when `first` claims the push's `nonce` (key, fingerprint, expiry) as a row, the row is written by
    that statement too, and `first` runs only if the row was there already (its claim tells a retry from a copied
    signature); elsewhere `first` runs before it, as in `handle`."""
    folded = nonce if nonce is not None and fastsql.is_postgres(engine) else None

    def step(conn: sa.Connection) -> list[Reply] | None:
        now = utcnow()
        opening = inbox.open_in_order(conn, message, now, folded)
        if not opening.nonce_new and first is not None:
            first(conn)
        if opening.waiting:
            _keep(conn, message, late=False)
            return None
        return receive(conn, message, config, now, opening)

    replies = _in_transaction(engine, None if folded is not None else first, step)
    if replies is not None:
        MESSAGES.labels(message.channel.value, message.kind.value).inc()
    return replies


def _in_transaction(engine: Engine, first: Callable[[sa.Connection], None] | None,
                       work: Callable[[sa.Connection], T]) -> T:
    """`work` in one transaction after `first`; once more if a unique key collided (a concurrent retry won the
    race: the second attempt reads its answer)."""
    try:
        with engine.connect() as conn, conn.begin():
            if first is not None:
                first(conn)
            return work(conn)
    except IntegrityError:
        with engine.connect() as conn, conn.begin():
            if first is not None:
                first(conn)
            return work(conn)


def defer(engine: Engine, message: InboundMessage, first: Callable[[sa.Connection], None] | None = None, *,
          nonce: tuple[str, str, datetime] | None = None) -> None:
    """Keep `message` to be answered by a job instead of now (the webhook could not answer it in time), in one
    short transaction; `first` runs in it as in `handle`. A copy kept before changes nothing.

    On PostgreSQL, when `first` only claims the push's `nonce` (key, fingerprint, expiry) as a row, or there is no
    `first`, it is one statement instead (`deferred.keep_at_once`): the web defers when it is behind, so what a
    deferral costs is what decides how far behind it falls. A nonce seen before takes the transaction's way."""
    if fastsql.is_postgres(engine) and (first is None or nonce is not None):
        kept = deferred.keep_at_once(engine, message, utcnow(), nonce)
        if kept is not None:
            if kept:
                DEFERRED.labels(message.channel.value).inc()
            return
    with engine.connect() as conn, conn.begin():
        if first is not None:
            first(conn)
        _keep(conn, message, late=True)


def _keep(conn: sa.Connection, message: InboundMessage, *, late: bool) -> None:
    if deferred.keep(conn, message, utcnow(), late=late):
        DEFERRED.labels(message.channel.value).inc()


class EarlierWaiting(Exception):
    """The citizen sent a message before this deferred one that is still waiting for its own job."""


def answer_deferred(engine: Engine, deferred_id: int, config: DeskConfig, *, in_order: bool = True
                    ) -> tuple[InboundMessage, list[Reply]] | None:
    """The message kept by `defer` and its replies: its step now, or the replies it got meanwhile (the intake's
    dedupe); None when it was answered already. Call `deferred_answered` once the replies are sent.
    Raises `EarlierWaiting` while a message the citizen sent before it waits for its job (another worker may be
    answering it now), unless not `in_order` (the last attempt: an answer out of order rather than none)."""
    with engine.connect() as conn, conn.begin():
        message = deferred.waiting(conn, deferred_id)
        if message is not None and in_order and deferred.waits_before(conn, message, deferred_id):
            raise EarlierWaiting(f"deferred message {deferred_id} waits for an earlier one")
    if message is None:
        return None
    return message, handle(engine, message, config)


def deferred_answered(engine: Engine, deferred_id: int) -> None:
    """The replies to a deferred message reached the citizen: a redelivered job sends nothing."""
    with engine.connect() as conn, conn.begin():
        deferred.answered(conn, deferred_id, utcnow())


def after_burst(engine: Engine, citizen_id: int, burst: str, config: DeskConfig, now: datetime | None = None
                ) -> tuple[CitizenKey, list[str]] | None:
    """The one reply owed after a burst of fragments that ended at `burst`, with whom to send it to; None when
    nothing is owed any more (the chat answered since, or a later fragment owes its own)."""
    now = now or utcnow()
    with engine.connect() as conn, conn.begin():
        key = get_citizen_key(conn, citizen_id)
        if key is None:
            return None
        citizen = lock_citizen(conn, key, now)
        texts = drafting.after_burst(citizen, Desk(conn, config, now), burst)
        if texts is None:
            return None
        save_citizen(conn, citizen, now, wrote=False)
    return key, texts


def burst_sent(engine: Engine, citizen_id: int, burst: str, now: datetime | None = None) -> None:
    """Record that the reply after the burst ending at `burst` was sent (a retried job sends nothing)."""
    now = now or utcnow()
    with engine.connect() as conn, conn.begin():
        key = get_citizen_key(conn, citizen_id)
        if key is None:
            return
        citizen = lock_citizen(conn, key, now)
        drafting.burst_sent(citizen, burst)
        save_citizen(conn, citizen, now, wrote=False)
