"""Signing and withdrawing from the web page: the proven identity turned into a `Signer`, one transaction.

The stored identity is `identity_of(identity_key, kind, value)` (tickets/petitions.py), the same the
chat computes, so a WeChat user is one signer whether they sign in the chat or on the page. A citizen
row is made only for a signer who consented to hear of progress, in the channel that can reach them:
WeChat (the Official Account's original id, else the account they already wrote to, else the app id),
Alipay (the app id), or a text message to the phone (only then is the number kept).

The transaction runs on the event loop, as the webhook's does (gateway/webhooks.py): it is short
and never awaits, and a thread-pool hand-off would cost more than the work.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from gateway.cosign.identity import Identity
from gateway.cosign.kit import CosignKit
from tickets import petitions, warnings
from tickets.inbox.citizens import CitizenKey, lock_citizen
from tickets.petitions import Signer, SignOutcome
from tickets.settings import Settings
from tickets.storage.db import reader
from tickets.storage.schema import citizens


def stored_identity(kit: CosignKit, identity: Identity) -> str:
    """The signer identity kept on the signature."""
    return petitions.identity_of(kit.identity_key, identity.kind, identity.value)


def citizen_key(conn: sa.Connection, settings: Settings, identity: Identity) -> CitizenKey:
    """Where a consenting signer is told of progress."""
    if identity.kind == "wechat":
        account = settings.wechat_original_id or conn.execute(
            sa.select(citizens.c.account).where(citizens.c.channel == "wechat",
                                                citizens.c.external_id == identity.value)
            .order_by(citizens.c.id).limit(1)
        ).scalar_one_or_none() or settings.wechat_app_id
        return CitizenKey("wechat", account, identity.value)
    if identity.kind == "alipay":
        return CitizenKey("alipay", settings.alipay_app_id, identity.value)
    return CitizenKey("sms", "", identity.value)


def sign(kit: CosignKit, petition_id: int, zone: str, identity: Identity, *, name: str, consent: bool, host: str,
         device_cookie: str | None, now: datetime) -> SignOutcome:
    """Sign (or find the standing signature); raises PetitionClosed or NotFound."""
    settings = kit.settings
    thresholds = warnings.thresholds_for(settings.warning_thresholds, zone)
    with kit.state.engine.begin() as conn:
        citizen_id = lock_citizen(conn, citizen_key(conn, settings, identity), now).id if consent else None
        signer = Signer(identity=stored_identity(kit, identity), channel=identity.kind, citizen_id=citizen_id,
                        name=name, consent=consent, source_block=kit.prints.block(host),
                        device=kit.prints.device(device_cookie))
        return petitions.sign(conn, petition_id, signer, now=now, surge=kit.surge, thresholds=thresholds)


def withdraw(kit: CosignKit, petition_id: int, identity: Identity, now: datetime) -> bool:
    """Take the signature back; False when there was none standing. Raises PetitionClosed or NotFound."""
    with kit.state.engine.begin() as conn:
        return petitions.withdraw(conn, petition_id, stored_identity(kit, identity), now)


def has_signed(kit: CosignKit, petition_id: int, identity: Identity) -> bool:
    """Whether this identity's signature stands."""
    with reader(kit.state.engine).connect() as conn:
        return petitions.signature_status(conn, petition_id, stored_identity(kit, identity)) == petitions.SIGNED
