"""What the conversations may ask of the ticket store, inside the message's transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bots.conversations.draft import Draft
from bots.conversations.states import Pending
from language.knowledge import KnowledgeBase
from language.places import Gazetteer, Place
from language.triage import Triage
from qr.links import LinkSigner, signer_for
from tickets import (
    clusters,
    consultations,
    followers,
    opening,
    outbox,
    petitions,
    places,
    progress,
    repository,
    safety,
    warnings,
)
from tickets.clusters import ClusterRule, Match, Probe
from tickets.deadlines import policy as deadlines
from tickets.deadlines.policy import Policy
from tickets.errors import ConfigurationError, NotFound
from tickets.inbox.citizens import Citizen
from tickets.inbox.message import InboundMessage
from tickets.masking import mask_identifier
from tickets.opening import OpeningRules
from tickets.petitions import Petition, Signer, SignOutcome, SurgeRule
from tickets.progress import Satisfaction
from tickets.repository import NewAttachment, Ticket, TicketFilter
from tickets.routing.store import RoutingConfig
from tickets.safety import SafetyBook
from tickets.settings import Settings

# The chat's "a similar problem nearby is being handled" looks at this many of the newest open tickets: it
# runs while the citizen waits for the reply (the cluster sweep, off that path, compares more).
OFFER_CANDIDATES = 60
OFFER_FRESH_S = 2.0  # and reuses what it read that recently (a surge confirms many drafts a second)


@dataclass(frozen=True, slots=True)
class DeskConfig:
    """Settings the conversations need."""

    tz: ZoneInfo
    public_base_url: str
    draft_ttl_hours: int = 72
    # Joint petitions: SECRET_KEY signs co-sign links (first kid signs) and keys signer identities.
    secret_key: str = field(default="", repr=False)
    link_key_ids: tuple[str, ...] = ("k1",)
    petition_days: int = 30
    warning_thresholds: Mapping[str, Sequence[int]] = field(default_factory=lambda: {"default": (5, 20, 50)})
    surge: SurgeRule = SurgeRule()
    routing: RoutingConfig = RoutingConfig()
    # Deadlines given to new tickets, and the similar tickets the chat may offer to follow instead.
    deadlines: Policy = field(default_factory=lambda: deadlines.default_policy())
    clusters: ClusterRule = ClusterRule()
    offer_similar: bool = True
    # Danger and scope (language/triage with its learned second opinion) and what to answer it with; the
    # knowledge base of common questions; the city's gazetteer.
    triage: Triage = field(default_factory=lambda: safety.triager(), repr=False, compare=False)
    safety: SafetyBook = field(default_factory=lambda: safety.book(), repr=False, compare=False)
    knowledge: KnowledgeBase = field(default_factory=lambda: consultations.knowledge(), repr=False, compare=False)
    identity_key: bytes = field(init=False, default=b"", repr=False, compare=False)
    links: LinkSigner | None = field(init=False, default=None, repr=False, compare=False)

    @property
    def opening(self) -> OpeningRules:
        """The rules every new ticket is opened with."""
        return OpeningRules(self.tz, self.routing, self.deadlines, self.triage, self.safety)

    @classmethod
    def from_settings(cls, settings: Settings) -> DeskConfig:
        """The conversations' settings from the process's (already `prepared()`)."""
        return cls(tz=settings.tz, public_base_url=settings.public_base_url,
                   draft_ttl_hours=settings.draft_ttl_hours, secret_key=settings.secret_key,
                   link_key_ids=tuple(settings.link_key_ids), petition_days=settings.petition_days,
                   warning_thresholds=settings.warning_thresholds,
                   surge=SurgeRule(settings.surge_block_per_hour, settings.surge_device_per_hour),
                   deadlines=deadlines.policy_for(settings), clusters=clusters.rule_for(settings),
                   offer_similar=settings.cluster_offer_in_chat,
                   routing=RoutingConfig(settings.routing_auto_dispatch_confidence, settings.routing_learn_from))

    def __post_init__(self) -> None:
        if self.secret_key:  # without one (some tests) the petition commands are not available
            object.__setattr__(self, "identity_key", petitions.identity_key(self.secret_key))
            object.__setattr__(self, "links", signer_for(self.secret_key, self.link_key_ids))


@dataclass(frozen=True, slots=True)
class Desk:
    """The ticket store as seen from a conversation step."""

    conn: sa.Connection
    config: DeskConfig
    now: datetime
    message: InboundMessage | None = None  # the message this step answers (None: a job's step)
    opened: list[int] = field(default_factory=list)  # the tickets this step opened

    def open_ticket(self, citizen: Citizen, draft: Draft, *, zone: str = "",
                    attachments: tuple[NewAttachment, ...] = (), route_later: bool = False) -> Ticket:
        """Turn a confirmed draft into a ticket (tickets/opening.py), filed under `zone` if the citizen chose one;
        `route_later`: unless urgent, routed by a worker after the commit (the answer does not name the routing)."""
        new = draft.to_new_ticket(citizen.key.channel, citizen.id)
        if attachments:
            new = replace(new, attachments=(*new.attachments, *attachments))
        return opening.open_ticket(self.conn, new, self.config.opening, self.now, zone=zone,
                                   citizen_ref=mask_identifier(citizen.key.external_id), route_later=route_later)

    @property
    def gazetteer(self) -> Gazetteer:
        """The city's places (catalogue/places.toml, districts.toml)."""
        return places.gazetteer()

    def place_of(self, text: str, *, label: str = "") -> Place:
        """Where `text` says the matter is."""
        return places.place_of(text, label=label)

    def prompt_later(self, citizen: Citizen, seconds: float) -> None:
        """After a burst of fragments: one reply by customer-service message once `seconds` pass quietly."""
        stamp = citizen.dialog_data.get(Pending.BURST, {}).get("at", "")
        outbox.put(self.conn, outbox.Topic.DRAFT_PROMPT, {"citizen_id": citizen.id, "burst": stamp}, self.now,
                   delay_s=seconds)

    def withdraw_ticket(self, citizen: Citizen, ticket_id: int, reason: str) -> Ticket:
        """Take back the citizen's request, with their reason; raises InvalidTransition when it is over."""
        return progress.withdraw(self.conn, ticket_id, channel=citizen.key.channel, reason=reason, now=self.now)

    def followed_tickets(self, citizen_id: int) -> list[Ticket]:
        """Tickets the citizen follows (linked by tracking code, or a similar one they chose to follow)."""
        return [self.ticket(t) for t in followers.followed_by(self.conn, citizen_id)]

    def by_tracking_code(self, code: str) -> Ticket | None:
        """A ticket by its tracking code."""
        try:
            return repository.find_ticket(self.conn, tracking_code=code)
        except NotFound:
            return None

    def link(self, citizen: Citizen, ticket: Ticket) -> None:
        """A request filed elsewhere (by phone) that the citizen names by its tracking code: its progress is told
        here from then on."""
        if ticket.citizen_id != citizen.id:
            followers.follow(self.conn, ticket.id, citizen.id, self.now)

    def consulted(self, citizen: Citizen, entry: str, topic: str, question: str) -> int:
        """Count a question answered at once; returns its id."""
        return consultations.record(self.conn, channel=citizen.key.channel, citizen_id=citizen.id, entry=entry,
                                    topic=topic, question=question, now=self.now)

    def consultation_helped(self, consultation_id: int, *, helped: bool) -> None:
        """Keep whether an answer helped."""
        consultations.mark(self.conn, consultation_id, helped=helped)

    def similar_nearby(self, citizen: Citizen, draft: Draft) -> Match | None:
        """The best recent open ticket of someone else about the same problem nearby, if any."""
        if not self.config.offer_similar:
            return None
        location = draft.location or {}
        label = str(location.get("label", ""))
        place = places.place_of(f"{draft.address} {draft.description}", label=label,
                                latitude=location.get("latitude"), longitude=location.get("longitude"))
        probe = Probe(draft.description, latitude=location.get("latitude"), longitude=location.get("longitude"),
                      place=draft.address or label, keys=place.keys)
        found = clusters.find_similar(self.conn, probe, self.config.clusters, self.now, exclude_citizen=citizen.id,
                                      limit=OFFER_CANDIDATES, fresh_within_s=OFFER_FRESH_S)
        return found[0] if found else None

    def follow(self, citizen: Citizen, ticket_id: int) -> bool:
        """Let the citizen hear of another's ticket's progress; False when they already follow it."""
        return followers.follow(self.conn, ticket_id, citizen.id, self.now)

    def recent_tickets(self, citizen_id: int, limit: int = 5) -> list[Ticket]:
        """The citizen's latest tickets."""
        return repository.list_tickets(self.conn, TicketFilter(citizen_id=citizen_id), limit=limit).items

    def find_for(self, citizen_id: int, reference: str) -> Ticket | None:
        """The citizen's own ticket by number, or any ticket by its tracking code."""
        try:
            if "-" in reference:
                ticket = repository.find_ticket(self.conn, number=reference)
                return ticket if ticket.citizen_id == citizen_id else None
            return repository.find_ticket(self.conn, tracking_code=reference)
        except NotFound:
            return None

    def last_note(self, ticket_id: int) -> str:
        """The latest note for the citizen on the ticket's timeline."""
        notes = [e.note for e in repository.timeline(self.conn, ticket_id)
                 if e.note and not e.actor.startswith("citizen:")]
        return notes[-1] if notes else ""

    def supplement(self, citizen: Citizen, ticket_id: int, text: str) -> Ticket:
        """Add what the citizen says after filing to the request's timeline, for the unit."""
        return progress.supplement(self.conn, ticket_id, channel=citizen.key.channel, text=text, now=self.now)

    def due_at(self, ticket_id: int) -> datetime | None:
        """When the request is due (its deadline, else the date the unit gave)."""
        return deadlines.due_of(self.conn, [ticket_id]).get(ticket_id) or self.ticket(ticket_id).expected_at

    def ticket(self, ticket_id: int) -> Ticket:
        """A ticket by id."""
        return repository.get_ticket(self.conn, ticket_id)

    def evaluate(self, citizen: Citizen, ticket_id: int, satisfaction: Satisfaction, solved: bool,
                 reason: str) -> Ticket:
        """Record the citizen's rating; raises InvalidTransition unless the ticket awaits one."""
        return progress.evaluate(self.conn, ticket_id, channel=citizen.key.channel, satisfaction=satisfaction,
                                 solved=solved, reason=reason, now=self.now, citizen_id=citizen.id)

    def tracking_url(self, ticket: Ticket) -> str:
        """The public progress page of a ticket."""
        return f"{self.config.public_base_url}/t/{ticket.tracking_code}"

    def local_time(self, moment: datetime) -> str:
        """A moment in the city's time, as a citizen reads it."""
        local = moment.astimezone(self.config.tz)
        return f"{local.month}月{local.day}日{local:%H:%M}"

    # Joint petitions (联名): bots/conversations/cosign.py.

    def signer(self, citizen: Citizen, *, consent: bool) -> Signer:
        """The citizen as a signer: their channel identity, reachable for progress if they consent."""
        if not self.config.identity_key:
            raise ConfigurationError("SECRET_KEY is empty: signer identities cannot be keyed")
        kind = citizen.key.channel
        return Signer(petitions.identity_of(self.config.identity_key, kind, citizen.key.external_id), kind,
                      citizen.id, consent=consent)

    def start_petition(self, citizen: Citizen, ticket: Ticket) -> tuple[Petition, bool]:
        """The citizen's ticket as a joint petition, them its representative and first signer."""
        return petitions.start(self.conn, ticket.id, now=self.now, days=self.config.petition_days,
                               representative=self.signer(citizen, consent=True))

    def petition(self, petition_id: int) -> Petition | None:
        """A petition by id."""
        try:
            return petitions.get(self.conn, petition_id)
        except NotFound:
            return None

    def petition_by_scene(self, scene: str) -> Petition | None:
        """The petition of a WeChat parametric QR code's scene."""
        return petitions.by_scene(self.conn, scene)

    def petition_by_number(self, number: str) -> Petition | None:
        """The petition grown from the ticket with this number."""
        try:
            ticket = repository.find_ticket(self.conn, number=number)
        except NotFound:
            return None
        return petitions.for_ticket(self.conn, ticket.id)

    def open_petition_of(self, citizen_id: int) -> Petition | None:
        """The representative's newest petition still taking signatures."""
        found, _ = petitions.list_petitions(self.conn, status=petitions.OPEN, representative_id=citizen_id, limit=5)
        return next((p for p in found if p.state_at(self.now) == petitions.OPEN), None)

    def cosign(self, citizen: Citizen, petition: Petition, *, consent: bool) -> SignOutcome:
        """Sign in chat; raises PetitionClosed (nothing written) when it takes no more signatures."""
        config = self.config
        with self.conn.begin_nested():  # a petition closed mid-signing leaves no signature behind
            return petitions.sign(self.conn, petition.id, self.signer(citizen, consent=consent), now=self.now,
                                  surge=config.surge,
                                  thresholds=warnings.thresholds_for(config.warning_thresholds, petition.zone))

    def has_signed(self, citizen: Citizen, petition_id: int) -> bool:
        """Whether the citizen's signature stands on the petition."""
        identity = self.signer(citizen, consent=False).identity
        return petitions.signature_status(self.conn, petition_id, identity) == petitions.SIGNED

    def withdraw(self, citizen: Citizen, petition_id: int) -> bool:
        """Take the citizen's signature back; raises PetitionClosed once the petition has ended."""
        return petitions.withdraw(self.conn, petition_id, self.signer(citizen, consent=False).identity, self.now)

    def close_petition(self, petition_id: int) -> Petition:
        """End a petition: no more signatures."""
        return petitions.close(self.conn, petition_id, self.now)

    def cosign_link(self, petition: Petition) -> str:
        """The signed co-sign link its QR code carries, valid until the petition expires."""
        if self.config.links is None:
            raise ConfigurationError("SECRET_KEY is empty: co-sign links cannot be signed")
        return self.config.links.url(self.config.public_base_url, petition.id, petition.expires_at)

    def send_card(self, petition: Petition, citizen_id: int) -> None:
        """Have a job upload the petition's QR card and send it to the citizen in the chat."""
        outbox.put(self.conn, outbox.Topic.PETITION_CARD, {"petition_id": petition.id, "citizen_id": citizen_id},
                   self.now)
