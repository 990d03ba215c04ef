"""Signed joint-petition links: `PUBLIC_BASE_URL/j/{token}`.

A token reads `{petition_id}.{expires}.{kid}.{mac}`, for example
`12345.1767225600.k1.Xy3Rk0bq5PZ2mQ9wL0sE1A` (42 characters): the petition id and the expiry
(unix seconds) in canonical decimal, the key id, and the first 16 bytes of
HMAC-SHA256(key of kid, "{petition_id}.{expires}.{kid}") in unpadded base64url. Every field has
its own alphabet without a dot, so the signed text names exactly one (petition, expiry, kid).
Keys rotate by kid: new links use the current kid; links signed with an older kid verify for as
long as that kid is kept in the key map. docs/design.md section 8.

    LinkError                   a link that does not verify; `reason` is safe to log
    ├── LinkMalformed           not a token at all: too long, wrong shape, non-canonical
    ├── LinkUnknownKey          signed with a kid we do not (or no longer) hold
    ├── LinkTampered            the mac does not match the fields
    └── LinkExpired             genuine but past its expiry (carries the petition id)

`LinkError` is a `tickets.errors.GatewayError`; HTTP status codes are chosen in `gateway/`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from tickets.clock import utcnow
from tickets.errors import ConfigurationError, GatewayError

MAC_BYTES = 16
MIN_KEY_BYTES = 16
MAX_PETITION_ID = 2**63 - 1  # a PostgreSQL BIGINT
# Links arrive from a URL path, a form or a chat message: cap before any other work.
MAX_INPUT_CHARS = 256
MAX_TOKEN_CHARS = 19 + 1 + 12 + 1 + 16 + 1 + 22

_KID = r"[A-Za-z0-9_-]{1,16}"
_KID_RE = re.compile(_KID)
_TOKEN_RE = re.compile(
    rf"(?P<pid>[1-9][0-9]{{0,18}})\.(?P<exp>[1-9][0-9]{{0,11}})\.(?P<kid>{_KID})\.(?P<mac>[A-Za-z0-9_-]{{22}})"
)
# Domain separation: keys derived for links are useless for anything else derived from SECRET_KEY.
_DERIVE_LABEL = b"petition-gateway/qr-link/v1\x00"


class LinkError(GatewayError):
    """A joint-petition link that does not verify."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LinkMalformed(LinkError):
    """The input is not a well-formed token."""


class LinkUnknownKey(LinkError):
    """The token names a key id that is not held."""

    def __init__(self, kid: str) -> None:
        super().__init__(f"unknown key id {kid!r}")
        self.kid = kid


class LinkTampered(LinkError):
    """The mac does not match the token's fields."""


class LinkExpired(LinkError):
    """A genuine link whose expiry has passed."""

    def __init__(self, petition_id: int, expired_at: datetime) -> None:
        super().__init__(f"link for petition {petition_id} expired at {expired_at.isoformat()}")
        self.petition_id = petition_id
        self.expired_at = expired_at


def derive_keys(secret_key: str, kids: Sequence[str]) -> dict[str, bytes]:
    """Derive one 32-byte link key per kid from SECRET_KEY, so rotating is adding a kid."""
    if not secret_key:
        raise ConfigurationError("SECRET_KEY is empty; cannot derive link keys")
    if isinstance(kids, str):
        raise TypeError("kids must be a sequence of key ids, not one string")
    keys: dict[str, bytes] = {}
    for kid in kids:
        _check_kid(kid)
        if kid in keys:
            raise ConfigurationError(f"key id {kid!r} given twice")
        keys[kid] = hmac.new(secret_key.encode(), _DERIVE_LABEL + kid.encode("ascii"), hashlib.sha256).digest()
    return keys


class LinkSigner:
    """Signs and verifies joint-petition tokens with rotating keys."""

    def __init__(
        self,
        keys: Mapping[str, bytes],
        current_kid: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        for kid, key in keys.items():
            _check_kid(kid)
            if not isinstance(key, bytes) or len(key) < MIN_KEY_BYTES:
                raise ConfigurationError(f"key {kid!r} must be at least {MIN_KEY_BYTES} bytes")
        if current_kid not in keys:
            raise ConfigurationError(f"current key id {current_kid!r} is not among the keys")
        self._keys = dict(keys)
        self.current_kid = current_kid
        self._clock = clock

    def sign(self, petition_id: int, expires_at: datetime) -> str:
        """The token for a petition, valid until `expires_at` (floored to the second)."""
        if isinstance(petition_id, bool) or not isinstance(petition_id, int):
            raise TypeError("petition_id must be an int")
        if not 1 <= petition_id <= MAX_PETITION_ID:
            raise ValueError(f"petition_id out of range: {petition_id}")
        if expires_at.tzinfo is None or expires_at.utcoffset() is None:
            raise ValueError("expires_at must be timezone-aware")
        expires = int(expires_at.timestamp())
        if expires < 1:
            raise ValueError("expires_at must be after the unix epoch")
        kid = self.current_kid
        mac = _mac(self._keys[kid], petition_id, expires, kid)
        return f"{petition_id}.{expires}.{kid}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode('ascii')}"

    def url(self, base_url: str, petition_id: int, expires_at: datetime) -> str:
        """The full link `{base_url}/j/{token}` that a QR code carries."""
        return f"{base_url.rstrip('/')}/j/{self.sign(petition_id, expires_at)}"

    def verify(self, token: str) -> int:
        """The petition id of a genuine, unexpired token.

        Raises:
            LinkMalformed, LinkUnknownKey, LinkTampered, LinkExpired (checked in that order, so
            an expiry is only reported for a link whose mac verified).
        """
        petition_id, expires, kid, mac = _parse(token)
        key = self._keys.get(kid)
        if key is None:
            raise LinkUnknownKey(kid)
        if not hmac.compare_digest(_mac(key, petition_id, expires, kid), mac):
            raise LinkTampered("mac does not match")
        if self._clock().timestamp() >= expires:
            raise LinkExpired(petition_id, datetime.fromtimestamp(expires, UTC))
        return petition_id


def signer_for(secret_key: str, key_ids: Sequence[str], clock: Callable[[], datetime] = utcnow) -> LinkSigner:
    """The signer of a deployment: keys derived from SECRET_KEY per kid; the first kid signs new links."""
    return LinkSigner(derive_keys(secret_key, key_ids), key_ids[0], clock)


def _mac(key: bytes, petition_id: int, expires: int, kid: str) -> bytes:
    message = f"{petition_id}.{expires}.{kid}".encode("ascii")
    return hmac.new(key, message, hashlib.sha256).digest()[:MAC_BYTES]


def _parse(token: str) -> tuple[int, int, str, bytes]:
    if not isinstance(token, str):
        raise LinkMalformed("token is not text")
    if len(token) > MAX_INPUT_CHARS:
        raise LinkMalformed("input too long")
    token = token.strip()
    if len(token) > MAX_TOKEN_CHARS:
        raise LinkMalformed("token too long")
    if not token.isascii():
        raise LinkMalformed("token is not ASCII")
    match = _TOKEN_RE.fullmatch(token)
    if match is None:
        raise LinkMalformed("token has the wrong shape")
    petition_id = int(match["pid"])
    if petition_id > MAX_PETITION_ID:
        raise LinkMalformed("petition id out of range")
    encoded = match["mac"]
    try:
        mac = base64.urlsafe_b64decode(encoded + "==")
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - the pattern admits only the alphabet
        raise LinkMalformed("mac is not base64url") from exc
    # 22 characters carry 132 bits for 128: the spare bits must be zero, or one mac has 16 spellings.
    if base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii") != encoded:
        raise LinkMalformed("mac is not canonical base64url")
    return petition_id, int(match["exp"]), match["kid"], mac


def _check_kid(kid: str) -> None:
    if not isinstance(kid, str) or _KID_RE.fullmatch(kid) is None:
        raise ConfigurationError(f"key id {kid!r} must be 1-16 characters of A-Z a-z 0-9 _ -")
