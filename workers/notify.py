"""Delivering a notification in the citizen's own channel, down the ladder of the platform rules, and
`push_text` (outbox topic `citizen.push_text`): a plain text to a citizen, as a customer-service message,
`draft_prompt` (`citizen.draft_prompt`): the one reply after a burst of fragments, and
`deferred_reply` (`citizen.deferred_message`): the answer to a push the gateway could not answer in time.

WeChat: subscription notification (bizsend) where the citizen consented -> template message ->
customer-service message inside the 48-hour window. The platform's answer decides the next step
(docs/platforms.md section 2.5): 45015/45047/43004 fall back; 43101 records that the
consent is gone and falls back; 40001/42001 are refreshed once inside WeChatApi; -1/45009/45011 and
network errors back off and retry; 47003/40037/48001 are configuration errors, logged and not
retried. Alipay: the mini-program template message.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bots import intake
from bots.alipay.api import AlipayApiError
from bots.replies import say
from bots.sms import SmsError
from bots.texts import render
from bots.wechat.api import WeChatApiError
from bots.wechat.fields import build_data, local_time
from tickets import codes, notifications
from tickets.clock import utcnow
from tickets.errors import PermanentFailure, RetryLater
from tickets.inbox import consents, deferred
from tickets.inbox.citizens import get_citizen_key
from tickets.inbox.message import Channel
from tickets.metrics import NOTIFICATIONS
from tickets.notifications import Delivery, Notification
from tickets.repository import Ticket
from tickets.storage.db import is_postgres, reader
from workers.context import WorkerContext

log = logging.getLogger(__name__)

SERVICE_WINDOW = timedelta(hours=48)
FALL_BACK = frozenset({45015, 45047, 43004, 43101})
CONFIGURATION = frozenset({47003, 40037, 48001, 41030})
RATED_BY_FILER = frozenset({"evaluation", "evaluation_reminder"})  # notices whose link opens the rating form


def prefetch(context: WorkerContext, payloads: list[dict[str, Any]]) -> dict[int, Delivery]:
    """Read a job's batch of notifications in one statement, for `deliver_notification(prefetched=...)`."""
    ids = [int(p["notification_id"]) for p in payloads if "notification_id" in p]
    with _one_statement(context.engine, read_only=True) as conn:
        return notifications.for_delivery_many(conn, ids)


def deliver_notification(context: WorkerContext, payload: dict[str, Any], *, final: bool = False,
                         prefetched: Mapping[int, Delivery] | None = None) -> None:
    """Send one notification; its row records how it went (the outbox row records the job).

    `prefetched` holds the rows `prefetch` read for the job's batch; one missing there is read here.
    """
    notification_id = int(payload["notification_id"])
    found = prefetched.get(notification_id) if prefetched is not None else None
    if found is None:
        with _one_statement(context.engine, read_only=True) as conn:
            found = notifications.for_delivery(conn, notification_id)
    if found is None or found.note.status != notifications.PENDING:
        return  # already delivered (a redelivered job) or given up
    note, key, last_message_at, ticket = found.note, found.key, found.last_message_at, found.ticket
    if key is None or ticket is None:
        raise PermanentFailure("citizen or ticket gone")
    values = _values(context, note, ticket)
    try:
        if key.channel == Channel.WECHAT.value:
            method, msg_id = _wechat(context, note, key.external_id, values, last_message_at)
        elif key.channel == Channel.ALIPAY.value:
            method, msg_id = _alipay(context, key.external_id, values, ticket)
        elif key.channel == Channel.SMS.value:
            method, msg_id = _sms(context, key.external_id, values)
        else:
            raise PermanentFailure(f"no push for channel {key.channel}")
    except (RetryLater, PermanentFailure) as exc:
        given_up = final or isinstance(exc, PermanentFailure)
        with context.engine.begin() as conn:
            notifications.mark_attempt(conn, notification_id, str(exc), utcnow(), final=given_up)
        NOTIFICATIONS.labels(key.channel, "failed" if given_up else "retry").inc()
        raise
    batch = Receipts.here()
    if batch is not None:
        batch.add(notification_id, method, msg_id, utcnow())
        return
    with _one_statement(context.engine, read_only=False) as conn:
        notifications.mark_sent(conn, notification_id, method, msg_id, utcnow())
    NOTIFICATIONS.labels(method, "sent").inc()


class Receipts:
    """The receipts ("sent") of notifications one thread sends one after another, written `size` at a time.

    A receipt in its own commit is a round trip and, on PostgreSQL, a WAL flush per push: about a fifth of a
    worker's time in a fan-out (docs/performance.md). Written together, a worker killed between a send and its
    receipt can repeat at most `size` sends: `size` is the job's `outbox_job_threads`, the sends a worker already
    has in flight without a receipt when its lanes run on that many threads (template messages are deduplicated
    by `client_msg_id` in any case). A write that fails is not raised into the next row's send: its
    notifications are listed in `unwritten`, and the job must not mark their outbox rows done.
    """

    _local = threading.local()

    def __init__(self, context: WorkerContext, size: int) -> None:
        self.context = context
        self.size = size
        self.unwritten: set[int] = set()
        self._pending: list[tuple[int, str, str | None, datetime]] = []

    @classmethod
    def here(cls) -> Receipts | None:
        """The batch this thread writes its receipts to, if it is inside `on_this_thread`."""
        batch: Receipts | None = getattr(cls._local, "batch", None)
        return batch

    @contextmanager
    def on_this_thread(self) -> Iterator[Receipts]:
        """Collect this thread's receipts in the block (none when `size` is 1); all are written when it ends."""
        if self.size <= 1:
            yield self
            return
        outer, self._local.batch = self.here(), self
        try:
            yield self
        finally:
            self._local.batch = outer
            self.write()

    def add(self, notification_id: int, method: str, msg_id: str | None, at: datetime) -> None:
        self._pending.append((notification_id, method, msg_id, at))
        if len(self._pending) >= self.size:
            self.write()

    def write(self) -> None:
        """Write the receipts collected so far, in one transaction."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        try:
            with _SQLITE_WRITES if not is_postgres(self.context.engine) else nullcontext(), \
                    self.context.engine.begin() as conn:
                notifications.mark_sent_many(conn, pending)
        except Exception:
            log.exception("receipts of %d notifications not written; their rows are tried again", len(pending))
            self.unwritten.update(receipt[0] for receipt in pending)
            return
        for _, method, _, _ in pending:
            NOTIFICATIONS.labels(method, "sent").inc()


@contextmanager
def _one_statement(engine: Engine, *, read_only: bool) -> Iterator[sa.Connection]:
    """A connection for one statement, which is its own transaction.

    PostgreSQL: autocommit, so no BEGIN/COMMIT or ROLLBACK round trips (two of the four a notification
    cost). SQLite: a transaction as usual; reads begin a plain BEGIN, so they do not queue for the write
    lock (`reader`), writes BEGIN IMMEDIATE.
    """
    if is_postgres(engine):
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")  # reset when the pool takes it back
            yield conn
    elif read_only:
        with reader(engine).connect() as conn:
            yield conn
    else:
        # One write at a time in this process: lanes of a job (workers/jobs.py) that meet at SQLite's write lock
        # would each sleep in its busy handler (1, 2, 5, 10 ms ...) though the lock is held for microseconds.
        with _SQLITE_WRITES, engine.begin() as conn:
            yield conn


_SQLITE_WRITES = threading.Lock()


def _values(context: WorkerContext, note: Notification, ticket: Ticket) -> dict[str, str]:
    # A fan-out tells thousands of citizens the same thing: render it once per ticket state and payload.
    payload = json.dumps(note.payload, sort_keys=True, ensure_ascii=False, default=str)
    # Only the filer's evaluation notices carry the rating token: a co-signer's link shows progress, not the form.
    rate = ""
    if note.purpose in RATED_BY_FILER and note.citizen_id == ticket.citizen_id:
        rate = codes.rating_token(codes.rating_key(context.settings.secret_key), ticket.tracking_code)
    return dict(_rendered(context.settings.public_base_url, context.settings.timezone, note.purpose, payload, ticket,
                          rate))


@lru_cache(maxsize=64)
def _rendered(public_base_url: str, timezone: str, purpose: str, payload_json: str, ticket: Ticket,
              rate: str) -> dict[str, str]:
    payload = json.loads(payload_json)
    tz = ZoneInfo(timezone)
    tracking_url = f"{public_base_url}/t/{ticket.tracking_code}" + (f"?r={rate}" if rate else "")
    expected = payload.get("expected_at")
    expected_text = local_time(datetime.fromisoformat(expected), tz) if expected else ""
    # The status and time of the event the notice tells of, as written with it (tickets/progress.py); a reminder
    # written without them speaks of the ticket as it is.
    status_value = str(payload.get("status") or ticket.status.value)
    at = payload.get("at")
    when = datetime.fromisoformat(at) if at else ticket.updated_at
    text = say(f"push_{purpose}", ticket=ticket, status=status_value, note=payload.get("note", ""),
               unit=payload.get("unit", ""), expected=expected_text, tracking_url=tracking_url).text
    status = render("_status_label", status=status_value)
    return {"text": text, "number": ticket.number, "status": status, "time": local_time(when, tz),
            "note": payload.get("note") or status, "unit": payload.get("unit", ""),
            "tracking_url": tracking_url, "code": ticket.tracking_code}


def _wechat(context: WorkerContext, note: Notification, openid: str, values: dict[str, str],
            last_message_at: datetime | None) -> tuple[str, str | None]:
    api, settings = context.wechat, context.settings
    if api is None:
        raise PermanentFailure("wechat sender not configured (WECHAT_APP_SECRET missing)")
    ladder: list[str] = []
    if settings.wechat_subscribe_template_id:
        with reader(context.engine).connect() as conn:
            if consents.has_consent(conn, note.citizen_id, settings.wechat_subscribe_template_id):
                ladder.append("subscription")
    if settings.wechat_template_id:
        ladder.append("template")
    if last_message_at is not None and utcnow() - last_message_at < SERVICE_WINDOW:
        ladder.append("customer_service")
    errors: list[str] = []
    for method in ladder:
        if context.wechat_rate is not None:
            context.wechat_rate.wait()
        try:
            if method == "subscription":
                api.send_subscription(openid, settings.wechat_subscribe_template_id,
                                      build_data(settings.wechat_subscribe_fields, values), page=values["tracking_url"])
                return method, None
            if method == "template":
                msg_id = api.send_template(openid, settings.wechat_template_id,
                                           build_data(settings.wechat_template_fields, values),
                                           url=values["tracking_url"], client_msg_id=f"gw-n{note.id}")
                return method, str(msg_id)
            api.send_text(openid, values["text"])
            return method, None
        except WeChatApiError as exc:
            errors.append(f"{method}: wechat {exc.errcode} {exc.errmsg}"[:200])
            if exc.errcode == 43101:
                with context.engine.begin() as conn:
                    consents.revoke(conn, note.citizen_id, settings.wechat_subscribe_template_id, utcnow())
            elif exc.errcode == 40003:
                raise PermanentFailure("; ".join(errors)) from exc  # the openid is not this account's
            elif exc.retryable:
                raise RetryLater("; ".join(errors)) from exc
            elif exc.errcode in CONFIGURATION:
                log.error("wechat %s configuration error %d for notification %d", method, exc.errcode, note.id)
            elif exc.errcode not in FALL_BACK:
                log.warning("wechat %s refused with %d; trying the next way", method, exc.errcode)
    raise PermanentFailure("; ".join(errors) or "no way to reach the citizen (no consent, template or 48 h window)")


def _alipay(context: WorkerContext, user_id: str, values: dict[str, str], ticket: Ticket) -> tuple[str, str | None]:
    api, settings = context.alipay, context.settings
    if api is None or not settings.alipay_template_id:
        raise PermanentFailure("alipay sender or template not configured")
    data = {"keyword1": {"value": values["number"]}, "keyword2": {"value": values["status"]},
            "keyword3": {"value": values["note"][:20]}, "keyword4": {"value": values["time"]}}
    try:
        api.send_template(user_id, settings.alipay_template_id, f"{settings.alipay_page}?code={ticket.tracking_code}",
                          data)
    except AlipayApiError as exc:
        if exc.retryable:
            raise RetryLater(f"alipay {exc.code} {exc.sub_code}") from exc
        raise PermanentFailure(f"alipay {exc.code} {exc.sub_code} {exc.sub_msg}"[:300]) from exc
    return "alipay_template", None


def _sms(context: WorkerContext, phone: str, values: dict[str, str]) -> tuple[str, str | None]:
    """A text to a co-signer who signed with their phone number and consented to hear of progress."""
    if context.sms is None:
        raise PermanentFailure("sms sender not configured")
    try:
        context.sms.send(phone, values["text"])
    except SmsError as exc:
        if exc.retryable:
            raise RetryLater(exc.reason) from exc
        raise PermanentFailure(exc.reason) from exc
    return "sms", None


def draft_prompt(context: WorkerContext, payload: dict[str, Any], *, final: bool = False) -> None:
    """The one reply after a burst of fragments (outbox topic `citizen.draft_prompt`), once it went quiet:
    what the draft still needs, as customer-service messages; nothing when the chat answered meanwhile."""
    citizen_id, burst = int(payload["citizen_id"]), str(payload.get("burst", ""))
    owed = intake.after_burst(context.engine, citizen_id, burst, context.desk)
    if owed is None:
        return
    key, texts = owed
    if key.channel != Channel.WECHAT.value:
        raise PermanentFailure(f"no text push for channel {key.channel}")
    for text in texts:
        _send_text(context, key.external_id, text)
    intake.burst_sent(context.engine, citizen_id, burst)


def prefetch_senders(context: WorkerContext, payloads: list[dict[str, Any]]) -> dict[int, str]:
    """Who sent each deferred message of a job's batch (one key per citizen), read at once for the job's lanes:
    a citizen's messages are answered in one lane, in order; other citizens' side by side (workers/jobs.py).

    On SQLite none: each step holds the database's one write lock, and steps side by side in two workers held
    it so much of the time that the web's own writes ran out of their lock wait (overload with WeChat answering
    in 20 ms: 1,972 of 13,740 pushes refused with 503). There the job's deferred messages stay in its first
    lane, one after another, before any lane runs on a thread (docs/performance.md).
    """
    if not is_postgres(context.engine):
        return {}
    ids = [int(p["deferred_id"]) for p in payloads if "deferred_id" in p]
    with _one_statement(context.engine, read_only=True) as conn:
        return deferred.senders(conn, ids)


def deferred_reply(context: WorkerContext, payload: dict[str, Any], *, final: bool = False,
                   prefetched: Mapping[int, str] | None = None) -> None:
    """Answer a push the gateway deferred (outbox topic `citizen.deferred_message`): its step through the intake,
    or the replies it got meanwhile, by customer-service message; nothing once it was answered. (`prefetched`,
    the batch's senders, places the row in its lane; the step reads the message in its own transaction.)"""
    deferred_id = int(payload["deferred_id"])
    try:
        found = intake.answer_deferred(context.engine, deferred_id, context.desk, in_order=not final)
    except intake.EarlierWaiting as exc:  # its job answers that one first; this one is tried again after it
        raise RetryLater(str(exc)) from exc
    if found is None:
        return
    message, replies = found
    text = "\n\n".join(reply.text for reply in replies if reply.text)  # one message, as the passive reply joins them
    if text:
        if message.channel is not Channel.WECHAT:
            raise PermanentFailure(f"no text push for channel {message.channel.value}")
        _send_text(context, message.user_id, text)
    intake.deferred_answered(context.engine, deferred_id)


def push_text(context: WorkerContext, payload: dict[str, Any], *, final: bool = False) -> None:
    """Send `payload["text"]` to citizen `payload["citizen_id"]` (WeChat: customer-service message)."""
    with context.engine.connect() as conn:
        key = get_citizen_key(conn, int(payload["citizen_id"]))
    if key is None:
        raise PermanentFailure("citizen not found")
    if key.channel != Channel.WECHAT.value:
        raise PermanentFailure(f"no text push for channel {key.channel}")
    _send_text(context, key.external_id, str(payload["text"]))


def _send_text(context: WorkerContext, openid: str, text: str) -> None:
    if context.wechat is None:
        raise PermanentFailure("wechat sender not configured (WECHAT_APP_SECRET missing)")
    if context.wechat_rate is not None:
        context.wechat_rate.wait()
    try:
        context.wechat.send_text(openid, text)
    except WeChatApiError as exc:
        if exc.retryable:
            raise RetryLater(f"wechat {exc.errcode}") from exc
        raise PermanentFailure(f"wechat {exc.errcode}: {exc.errmsg}") from exc
