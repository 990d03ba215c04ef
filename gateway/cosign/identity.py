"""Who is signing, as the co-sign pages keep it between requests, and where they sign from.

- A proven identity (WeChat openid, Alipay user id, or a phone number that answered a code) lives in a
  short-lived cookie sealed with AES-GCM: the browser holds it but can neither read nor forge it.
  The key is derived from SECRET_KEY with its own label; each use (identity, a phone awaiting its
  code) is bound in as associated data, so one cannot stand in for the other.
- Surge detection sees keyed hashes only (gateway/security.py `Fingerprints`); tickets/petitions.py
  flags a surge from one network block or one device.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.security import CookieSeal

KINDS = frozenset({"wechat", "alipay", "sms"})
IDENTITY_SECONDS = 30 * 60
PENDING_SECONDS = 10 * 60  # a phone number waiting for its code (the code itself lives 5 minutes)


@dataclass(frozen=True, slots=True)
class Identity:
    """A signer as a channel proved them: kind (wechat / alipay / sms) and the openid, user id or phone."""

    kind: str
    value: str


IDENTITY, PENDING_PHONE = "identity", "pending-phone"


def seal_identity(seal: CookieSeal, identity: Identity, now: float) -> str:
    """The identity cookie's value, good for IDENTITY_SECONDS."""
    return seal.seal(IDENTITY, {"k": identity.kind, "v": identity.value}, int(now) + IDENTITY_SECONDS)


def open_identity(seal: CookieSeal, value: str | None, now: float) -> Identity | None:
    """The identity in a cookie, if it is genuine and unexpired."""
    payload = seal.open(IDENTITY, value, now)
    if payload is None or payload.get("k") not in KINDS or not isinstance(payload.get("v"), str) or not payload["v"]:
        return None
    return Identity(payload["k"], payload["v"])


def seal_pending_phone(seal: CookieSeal, phone: str, now: float) -> str:
    """The cookie of a phone number a code was texted to, so the number is not echoed into the page."""
    return seal.seal(PENDING_PHONE, {"p": phone}, int(now) + PENDING_SECONDS)


def open_pending_phone(seal: CookieSeal, value: str | None, now: float) -> str | None:
    """The phone number awaiting its code, if the cookie is genuine and unexpired."""
    payload = seal.open(PENDING_PHONE, value, now)
    phone = payload.get("p") if payload else None
    return phone if isinstance(phone, str) and phone else None
