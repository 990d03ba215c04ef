"""Keys and seals shared by the web surfaces (co-sign pages, console, mini-program).

- `derive`: one key per purpose from SECRET_KEY, so no two uses share a key.
- `CookieSeal`: small JSON payloads with an expiry, sealed with AES-256-GCM for one purpose each: the
  browser holds them but can neither read nor forge them.
- `Fingerprints`: keyed hashes of a client's network block (/24 for IPv4, /48 for IPv6) and of a
  device cookie, for surge detection and rate-limit keys: never the address or the cookie itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

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
