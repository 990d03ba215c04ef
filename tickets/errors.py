"""The one exception tree of the gateway: every class raised on purpose, and where it lives.

    GatewayError
    ├── ConfigurationError          settings that cannot work (a default secret outside dev, ...)
    │   └── CatalogueError          a routing catalogue that fails its checks (tickets/routing/model.py)
    ├── InboundError                a request from a channel that we refuse
    │   ├── SignatureError          signature or msg_signature does not match, stale timestamp, reused nonce (HTTP 403)
    │   ├── PayloadTooLarge         body over the cap (HTTP 413)
    │   ├── MalformedPayload        broken XML, DOCTYPE/entities, JSON where XML is due (HTTP 400)
    │   └── DecryptError            base64, padding, length or AppID inside the ciphertext wrong (HTTP 400)
    ├── ChannelDisabled             the channel has no credentials (HTTP 404)
    ├── NotFound                    a ticket, key or code that does not exist (HTTP 404)
    ├── InvalidTransition           a status change the lifecycle does not allow (HTTP 409)
    ├── AuthError                   no or a revoked API key, a wrong password, a role too weak (HTTP 401/403)
    ├── PetitionClosed              signing or changing a petition that is closed or expired (HTTP 409)
    ├── RateLimited                 over a per-source or per-identity limit (HTTP 429)
    ├── DatabaseBusy                another process holds the database's write lock; retry in a moment (HTTP 503)
    ├── DeliveryError               why an outbox job did not finish (recorded on the outbox row)
    │   ├── RetryLater              worth retrying: platform busy, rate limit, network
    │   ├── PermanentFailure        retrying will not help: recorded, not retried
    │   └── JobIncomplete           rows of a job's batch that did not finish: the queue records a failed job
    ├── WeChatApiError              WeChat answered a call with an errcode (bots/wechat/errors.py)
    ├── AlipayApiError              Alipay refused a call or its answer does not verify (bots/alipay/sign.py)
    ├── SmsError                    the SMS gateway refused a text (bots/sms.py)
    ├── SubmissionRefused           a mini-program request the intake refuses (bots/conversations/miniapp.py)
    ├── LinkError                   a co-sign link that does not verify (qr/links.py)
    │   ├── LinkMalformed           not a link of ours
    │   ├── LinkUnknownKey          signed with a key id we do not hold
    │   ├── LinkTampered            the HMAC does not match
    │   └── LinkExpired             past its expiry
    ├── PhotoRefused                an upload that is not a photo we keep (gateway/uploads.py)
    ├── SessionInvalid              a mini-program session token missing, forged or expired (gateway/miniapp/session.py)
    └── Open311Error                a GeoReport v2 request answered with an error array (gateway/open311/responses.py)

HTTP status codes are chosen only in `gateway/`.
"""

from __future__ import annotations


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""


class ConfigurationError(GatewayError):
    """Settings that cannot work."""


class InboundError(GatewayError):
    """A request from a channel that is refused; `reason` is safe to log (no personal data)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SignatureError(InboundError):
    """The request's signature does not verify."""


class PayloadTooLarge(InboundError):
    """The request body is over the cap."""


class MalformedPayload(InboundError):
    """The request body cannot be parsed safely."""


class DecryptError(InboundError):
    """The encrypted body does not decrypt to a message for this account."""


class ChannelDisabled(GatewayError):
    """The channel is not configured."""


class NotFound(GatewayError):
    """The thing asked for does not exist."""


class InvalidTransition(GatewayError):
    """A status change the lifecycle does not allow."""

    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"cannot go from {current} to {target}")
        self.current = current
        self.target = target


class AuthError(GatewayError):
    """Missing or insufficient credentials."""

    def __init__(self, reason: str, *, forbidden: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.forbidden = forbidden


class PetitionClosed(GatewayError):
    """The petition takes no more signatures: its representative closed it, or it expired."""

    def __init__(self, petition_id: int, status: str) -> None:
        super().__init__(f"petition {petition_id} is {status}")
        self.petition_id = petition_id
        self.status = status


class RateLimited(GatewayError):
    """Too many attempts from one source; `retry_after` is in seconds."""

    def __init__(self, scope: str, retry_after: int) -> None:
        super().__init__(f"rate limited: {scope}")
        self.scope = scope
        self.retry_after = retry_after


class DatabaseBusy(GatewayError):
    """Another process holds the lock a write needs, longer than the event loop may wait for it."""


class DeliveryError(GatewayError):
    """Why an outbox job did not finish; the message is recorded on the outbox row (no personal data)."""


class RetryLater(DeliveryError):
    """A failure worth retrying (platform busy, rate limit, network)."""


class PermanentFailure(DeliveryError):
    """A failure that retrying will not fix; recorded on the row."""


class JobIncomplete(DeliveryError):
    """Some rows of a job's batch did not finish; each row records why, `outcomes` says which."""

    def __init__(self, outcomes: dict[int, str]) -> None:
        failed = {row: outcome for row, outcome in outcomes.items() if outcome != "done"}
        shown = "; ".join(f"outbox {row} {outcome}" for row, outcome in list(failed.items())[:5])
        more = f" (and {len(failed) - 5} more)" if len(failed) > 5 else ""
        super().__init__(f"{len(failed)} of {len(outcomes)} rows not done: {shown}{more}")
        self.outcomes = outcomes
