"""Delivering a notification in the citizen's own channel, down the ladder of the platform rules.

WeChat: subscription notification (bizsend) where the citizen consented -> template message ->
customer-service message inside the 48-hour window. The platform's answer decides the next step
(shared/notes/wechat-alipay.md section 2.5): 45015/45047/43004 fall back; 43101 records that the
consent is gone and falls back; 40001/42001 are refreshed once inside WeChatApi; -1/45009/45011 and
network errors back off and retry; 47003/40037/48001 are configuration errors, logged and not
retried. Alipay: the mini-program template message.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bots.alipay_api import AlipayApiError
from bots.replies import say
from bots.texts import render
from bots.wechat_api import WeChatApiError
from bots.wechat_fields import build_data, local_time
from tickets import consents, notifications, repository
from tickets.citizens import get_citizen_key
from tickets.clock import utcnow
from tickets.inbound import Channel
from tickets.notifications import Notification
from tickets.repository import Ticket
from tickets.schema import citizens
from workers.context import WorkerContext
from workers.push import PermanentFailure, RetryLater

log = logging.getLogger(__name__)

SERVICE_WINDOW = timedelta(hours=48)
FALL_BACK = frozenset({45015, 45047, 43004, 43101})
CONFIGURATION = frozenset({47003, 40037, 48001, 41030})


def deliver_notification(context: WorkerContext, payload: dict[str, Any], *, final: bool = False) -> None:
    """Send one notification; its row records how it went (the outbox row records the job)."""
    notification_id = int(payload["notification_id"])
    with context.engine.connect() as conn:
        note = notifications.get(conn, notification_id)
        if note is None or note.status != notifications.PENDING:
            return  # already delivered (a redelivered job) or given up
        key = get_citizen_key(conn, note.citizen_id)
        last_message_at = conn.execute(sa.select(citizens.c.last_message_at)
                                       .where(citizens.c.id == note.citizen_id)).scalar_one_or_none()
        ticket = repository.get_ticket(conn, note.ticket_id) if note.ticket_id else None
    if key is None or ticket is None:
        raise PermanentFailure("citizen or ticket gone")
    values = _values(context, note, ticket)
    try:
        if key.channel == Channel.WECHAT.value:
            method, msg_id = _wechat(context, note, key.external_id, values, last_message_at)
        elif key.channel == Channel.ALIPAY.value:
            method, msg_id = _alipay(context, key.external_id, values, ticket)
        else:
            raise PermanentFailure(f"no push for channel {key.channel}")
    except (RetryLater, PermanentFailure) as exc:
        with context.engine.begin() as conn:
            notifications.mark_attempt(conn, notification_id, str(exc), utcnow(),
                                       final=final or isinstance(exc, PermanentFailure))
        raise
    with context.engine.begin() as conn:
        notifications.mark_sent(conn, notification_id, method, msg_id, utcnow())


def _values(context: WorkerContext, note: Notification, ticket: Ticket) -> dict[str, str]:
    settings = context.settings
    tracking_url = f"{settings.public_base_url}/t/{ticket.tracking_code}"
    expected = note.payload.get("expected_at")
    expected_text = local_time(datetime.fromisoformat(expected), settings.tz) if expected else ""
    text = say(f"push_{note.purpose}", ticket=ticket, note=note.payload.get("note", ""),
               unit=note.payload.get("unit", ""), expected=expected_text, tracking_url=tracking_url).text
    status = render("_status_label", status=ticket.status.value)
    return {"text": text, "number": ticket.number, "status": status, "time": local_time(ticket.updated_at, settings.tz),
            "note": note.payload.get("note") or status, "unit": note.payload.get("unit", ""),
            "tracking_url": tracking_url, "code": ticket.tracking_code}


def _wechat(context: WorkerContext, note: Notification, openid: str, values: dict[str, str],
            last_message_at: datetime | None) -> tuple[str, str | None]:
    api, settings = context.wechat, context.settings
    if api is None:
        raise PermanentFailure("wechat sender not configured (WECHAT_APP_SECRET missing)")
    ladder: list[str] = []
    with context.engine.connect() as conn:
        if settings.wechat_subscribe_template_id and consents.has_consent(
                conn, note.citizen_id, settings.wechat_subscribe_template_id):
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
