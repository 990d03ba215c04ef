"""What the co-sign pages work with, built once per application from its settings.

Keys derived from SECRET_KEY (one per purpose), the link signer, the rate limiter, the SMS sender,
WeChat's web authorisation, and two small caches: petitions as the form shows them (a few seconds:
their title, place and zone do not change, and the count shown after signing comes from the
signing itself) and the printable cards (an image costs ~9 ms; docs/performance.md).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from bots.sms import SmsSender, build_sender
from bots.wechat.oauth import WeChatOAuth
from gateway.limits import Limiter, Windows, build_limiter
from gateway.security import CookieSeal, Fingerprints, derive
from gateway.state import AppState
from qr.links import LinkSigner, signer_for
from tickets import petitions, repository
from tickets.access import otp
from tickets.masking import mask_text
from tickets.petitions import Petition, SurgeRule
from tickets.settings import Settings, parse_limits
from tickets.storage.db import reader

PETITION_SECONDS = 5.0
CARDS_KEPT = 256


@dataclass(frozen=True, slots=True)
class PetitionView:
    """A petition as the co-sign page shows it: personal data in the ticket's text masked."""

    petition: Petition
    description: str
    place: str


def load_view(engine: Engine, petition_id: int) -> PetitionView:
    """Read a petition and its ticket; raises NotFound."""
    with reader(engine).connect() as conn:
        petition = petitions.get(conn, petition_id)
        ticket = repository.get_ticket(conn, petition.ticket_id)
    return PetitionView(petition, mask_text(ticket.description), mask_text(ticket.address or ticket.location_label))


class ViewCache:
    """Petition views for a few seconds, for the form posts (the page itself reads afresh)."""

    def __init__(self, engine: Engine, seconds: float = PETITION_SECONDS) -> None:
        self._engine = engine
        self._seconds = seconds
        self._lock = threading.Lock()
        self._views: dict[int, tuple[PetitionView, float]] = {}

    def get(self, petition_id: int) -> PetitionView:
        """The petition's view, at most a few seconds old; raises NotFound."""
        now = time.monotonic()
        with self._lock:
            found = self._views.get(petition_id)
        if found is not None and now - found[1] < self._seconds:
            return found[0]
        view = load_view(self._engine, petition_id)
        with self._lock:
            if len(self._views) > 4096:
                self._views.clear()
            self._views[petition_id] = (view, now)
        return view

    def put(self, view: PetitionView) -> None:
        """Keep a view just read."""
        with self._lock:
            self._views[view.petition.id] = (view, time.monotonic())


class CardCache:
    """Printable card PNGs by (petition id, token), the least recently used dropped first."""

    def __init__(self, kept: int = CARDS_KEPT) -> None:
        self._kept = kept
        self._lock = threading.Lock()
        self._cards: OrderedDict[tuple[int, str], bytes] = OrderedDict()

    def get(self, key: tuple[int, str], make: Callable[[], bytes]) -> bytes:
        """The cached card, made (outside the lock) when missing."""
        with self._lock:
            card = self._cards.get(key)
            if card is not None:
                self._cards.move_to_end(key)
                return card
        card = make()
        with self._lock:
            self._cards[key] = card
            while len(self._cards) > self._kept:
                self._cards.popitem(last=False)
        return card


@dataclass(frozen=True, slots=True)
class Limits:
    """The configured windows of each limit."""

    cosign_ip: Windows
    cosign_identity: Windows
    otp_phone: Windows
    otp_ip: Windows

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """Parse the settings' "count/seconds" lists."""
        return cls(tuple(parse_limits(settings.cosign_ip_limits)), tuple(parse_limits(settings.cosign_identity_limits)),
                   tuple(parse_limits(settings.otp_phone_limits)), tuple(parse_limits(settings.otp_ip_limits)))


@dataclass(frozen=True, slots=True)
class CosignKit:
    """The co-sign pages' wiring."""

    state: AppState
    links: LinkSigner
    seal: CookieSeal
    prints: Fingerprints
    csrf_key: bytes
    identity_key: bytes
    otp_key: bytes
    limiter: Limiter
    limits: Limits
    surge: SurgeRule
    sms: SmsSender
    wechat_oauth: WeChatOAuth | None
    views: ViewCache
    cards: CardCache

    @property
    def settings(self) -> Settings:
        """The application's settings."""
        return self.state.settings

    @property
    def secure_cookies(self) -> bool:
        """Cookies only over HTTPS when the public address is HTTPS."""
        return self.settings.public_base_url.startswith("https://")

    @classmethod
    def build(cls, state: AppState) -> CosignKit:
        """Wire everything from the application's state (settings already prepared)."""
        settings = state.settings
        wechat_oauth = None
        if settings.wechat_app_id and settings.wechat_app_secret:
            wechat_oauth = WeChatOAuth(settings.wechat_app_id, settings.wechat_app_secret, settings.wechat_open_base,
                                       settings.wechat_api_base, state.http)
        return cls(
            state=state, links=signer_for(settings.secret_key, settings.link_key_ids),
            seal=CookieSeal(settings.secret_key), prints=Fingerprints(settings.secret_key),
            csrf_key=derive(settings.secret_key, "cosign-csrf/v1"),
            identity_key=petitions.identity_key(settings.secret_key), otp_key=otp.otp_key(settings.secret_key),
            limiter=build_limiter(settings.redis_url), limits=Limits.from_settings(settings),
            surge=SurgeRule(settings.surge_block_per_hour, settings.surge_device_per_hour),
            sms=build_sender(settings, state.http), wechat_oauth=wechat_oauth, views=ViewCache(state.engine),
            cards=CardCache(),
        )

    def close(self) -> None:
        """Release the limiter's connections (the HTTP client belongs to the application)."""
        self.limiter.close()
