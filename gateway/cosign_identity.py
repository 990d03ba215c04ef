"""Who is signing, as the co-sign pages keep it between requests, and where they sign from.

- A proven identity (WeChat openid, Alipay user id, or a phone number that answered a code) lives in a
  short-lived cookie sealed with AES-GCM: the browser holds it but can neither read nor forge it.
  The key is derived from SECRET_KEY with its own label; each use (identity, a phone awaiting its
  code) is bound in as associated data, so one cannot stand in for the other.
- Surge detection sees keyed hashes only: of the client's network block (/24 for IPv4, /48 for IPv6)
  and of a long-lived random device cookie (tickets/petitions.py flags a surge from either).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KINDS = frozenset({"wechat", "alipay", "sms"})
IDENTITY_SECONDS = 30 * 60
PENDING_SECONDS = 10 * 60  # a phone number waiting for its code (the code itself lives 5 minutes)
MAX_SEALED_CHARS = 1024
_NONCE_BYTES = 12


def derive(secret_key: str, label: str) -> bytes:
    """A 32-byte key for one purpose, derived from SECRET_KEY (useless for anything else)."""
    return hmac.new(secret_key.encode(), f"petition-gateway/{label}".encode(), hashlib.sha256).digest()


class CookieSeal:
    """Seals small JSON payloads with an expiry for one purpose each (AES-256-GCM)."""

    def __init__(self, secret_key: str) -> None:
        self._aead = AESGCM(derive(secret_key, "cosign-cookie/v1"))

    def seal(self, purpose: str, payload: dict[str, Any], expires: int) -> str:
        """The cookie value: nonce and ciphertext, base64url."""
        plain = json.dumps({**payload, "exp": expires}, separators=(",", ":"), ensure_ascii=False).encode()
        nonce = os.urandom(_NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, plain, purpose.encode())
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode("ascii")

    def open(self, purpose: str, value: str | None, now: float) -> dict[str, Any] | None:
        """The payload of a genuine, unexpired cookie for `purpose`; None for anything else."""
        if not value or len(value) > MAX_SEALED_CHARS or not value.isascii():
            return None
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], purpose.encode())
            payload = json.loads(plain)
        except (binascii.Error, ValueError, InvalidTag):
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int) or payload["exp"] <= now:
            return None
        return payload


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


def network_block(host: str) -> str:
    """The client's network: its /24 (IPv4) or /48 (IPv6); anything that is no address stands for itself."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


class Fingerprints:
    """Keyed hashes of where a signature comes from: never the address or the cookie itself."""

    def __init__(self, secret_key: str) -> None:
        self._key = derive(secret_key, "cosign-source/v1")

    def _hash(self, kind: str, value: str) -> str:
        return hmac.new(self._key, f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()[:32]

    def block(self, host: str) -> str:
        """The keyed hash of the client's network block."""
        return self._hash("block", network_block(host)) if host else ""

    def device(self, cookie: str | None) -> str:
        """The keyed hash of the device cookie ("" without one)."""
        return self._hash("device", cookie) if cookie else ""

    def key(self, scope: str, value: str) -> str:
        """An opaque rate-limit key for an address, number or identity."""
        return self._hash(f"limit:{scope}", value)
