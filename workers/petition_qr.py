"""A joint petition's QR card, sent to its representative in WeChat (outbox topic `petition.qr_card`).

The job draws the printable card of the signed co-sign link (qr/images.py), uploads it as temporary
media unless the petition's last upload is younger than `MEDIA_REUSE` (WeChat keeps temporary media
three days), and sends it as a customer-service image message. On the way it makes sure the
petition has a live WeChat parametric QR code (QR_STR_SCENE, scene `petition:{id}`, at most 30 days),
whose scans bots/conversations/cosign.py answers.

WeChat's answers (docs/platforms.md section 2.5): -1, 45009, 45011 and network errors
back off and retry; 45015, 45047 and 43004 mean the representative cannot be reached in the chat now
(the card stays downloadable at the link they were given), given up with that reason; other codes
are given up with WeChat's message. A refused parametric QR code is logged and the card still goes out.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from bots.texts import render
from bots.wechat.api import QR_MAX_EXPIRE_SECONDS, WeChatApi, WeChatApiError
from bots.wechat.errors import CS_QUOTA_EXHAUSTED, INVALID_MEDIA_ID, OUT_OF_WINDOW, USER_NOT_FOLLOWING
from qr import images
from qr.links import signer_for
from tickets import petitions
from tickets.clock import utcnow
from tickets.errors import NotFound, PermanentFailure, RetryLater
from tickets.inbox.citizens import get_citizen_key
from tickets.inbox.message import Channel
from tickets.petitions import Petition
from tickets.storage.db import reader
from workers.context import WorkerContext

__all__ = ["MEDIA_REUSE", "send_card"]

log = logging.getLogger(__name__)

MEDIA_REUSE = timedelta(hours=60)  # temporary media lives 72 h: leave a margin for the citizen to open it
UNREACHABLE = {
    OUT_OF_WINDOW: "the representative wrote no message in the last 48 hours or unfollowed (customer-service "
                   "window closed); the card stays downloadable at the link they were given",
    CS_QUOTA_EXHAUSTED: "customer-service quota of this window used up; the card stays downloadable at the link",
    USER_NOT_FOLLOWING: "the representative no longer follows the account",
}


def send_card(context: WorkerContext, payload: dict[str, Any], *, final: bool = False) -> None:
    """Send petition `payload["petition_id"]`'s card to citizen `payload["citizen_id"]` (if any) in WeChat."""
    petition_id = int(payload["petition_id"])
    citizen_id = payload.get("citizen_id")
    now = utcnow()
    with reader(context.engine).connect() as conn:
        try:
            petition = petitions.get(conn, petition_id)
        except NotFound:
            raise PermanentFailure(f"petition {petition_id} is gone") from None
        key = get_citizen_key(conn, int(citizen_id)) if citizen_id is not None else None
    if petition.state_at(now) != petitions.OPEN:
        log.info("petition %d is %s: no card sent", petition_id, petition.state_at(now))
        return
    api = context.wechat
    if api is None:
        raise PermanentFailure("wechat sender not configured (WECHAT_APP_SECRET missing)")
    try:
        _ensure_scene_code(context, api, petition, now)
        if citizen_id is None:
            return
        if key is None:
            raise PermanentFailure(f"citizen {citizen_id} not found")
        if key.channel != Channel.WECHAT.value:
            raise PermanentFailure(f"no card message for channel {key.channel}")
        _send(context, api, petition, key.external_id, now)
    except WeChatApiError as exc:
        if exc.retryable:
            raise RetryLater(f"wechat {exc.errcode}") from exc
        reason = UNREACHABLE.get(exc.errcode, exc.errmsg)
        raise PermanentFailure(f"wechat {exc.errcode}: {reason}"[:300]) from exc


def _ensure_scene_code(context: WorkerContext, api: WeChatApi, petition: Petition, now: datetime) -> None:
    """A live parametric QR code for the petition: made when it has none or the last one expired."""
    if petition.wechat_qr_url and petition.wechat_qr_expires_at is not None and petition.wechat_qr_expires_at > now:
        return
    seconds = min(int((petition.expires_at - now).total_seconds()), QR_MAX_EXPIRE_SECONDS)
    if not petition.wechat_scene or seconds < 1:
        return
    try:
        made = api.create_qr_scene(petition.wechat_scene, seconds)
    except WeChatApiError as exc:
        if exc.retryable:
            raise
        # An account without the QR permission (48001) still gets its card out: the signed link works anywhere.
        log.error("wechat refused a parametric QR code for petition %d (errcode %d)", petition.id, exc.errcode)
        return
    lifetime = timedelta(seconds=min(int(made.get("expire_seconds") or seconds), seconds))
    with context.engine.begin() as conn:
        petitions.set_wechat_qr(conn, petition.id, str(made["url"]), now + lifetime, now)


def _send(context: WorkerContext, api: WeChatApi, petition: Petition, openid: str, now: datetime) -> None:
    fresh = petition.wechat_media_at is not None and now - petition.wechat_media_at < MEDIA_REUSE
    if fresh and petition.wechat_media_id:
        try:
            _send_image(context, api, openid, petition.wechat_media_id)
            return
        except WeChatApiError as exc:
            if exc.errcode != INVALID_MEDIA_ID:
                raise
            log.warning("wechat forgot the card of petition %d early; uploading it again", petition.id)
    media_id = api.upload_image(card_png(context, petition))
    with context.engine.begin() as conn:
        petitions.set_wechat_media(conn, petition.id, media_id, now)
    _send_image(context, api, openid, media_id)


def _send_image(context: WorkerContext, api: WeChatApi, openid: str, media_id: str) -> None:
    if context.wechat_rate is not None:
        context.wechat_rate.wait()
    api.send_image(openid, media_id)


def card_png(context: WorkerContext, petition: Petition) -> bytes:
    """The printable card: the QR code of the signed co-sign link, the title, the number, what to do."""
    settings = context.settings
    link = signer_for(settings.secret_key, settings.link_key_ids).url(settings.public_base_url, petition.id,
                                                                      petition.expires_at)
    return images.png_card(link, title=petition.title, number=petition.number,
                           caption=render("petition_card_caption"))
