"""The intake conversation: from one or several messages to a confirmed ticket.

States (declared in bots/conversations/states.py, stored on the citizen, see tickets/inbox/citizens.py):

    idle ──content──▶ describing ──text──▶ locating ──place──▶ confirming ──"1"──▶ idle (ticket)
                          ▲                                        │
                          └──────────── more content ◀────────────┘
    any state ──"取消"──▶ idle (the citizen is told what was dropped)

Commands (help, my requests, a ticket number, cancel) work in every state and never lose the
draft. A draft with a description is never dropped silently: past its time-to-live it is kept
and the citizen is reminded of it on their next message. Before the intake, the pending questions
and the petition commands get their turn, in the order of `ANSWERERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from bots.conversations import commands, cosign, evaluation, similar
from bots.conversations.commands import Command, Parsed
from bots.conversations.desk import Desk
from bots.conversations.draft import Draft
from bots.conversations.states import Intake
from bots.replies import Reply, say
from tickets.inbox.citizens import Citizen
from tickets.inbox.message import InboundMessage, Kind

# Asked for the place, a citizen may instead go on describing; addresses are rarely this long.
MAX_TYPED_ADDRESS = 40
CONTENT_KINDS = frozenset({Kind.TEXT, Kind.VOICE, Kind.IMAGE, Kind.VIDEO, Kind.LOCATION, Kind.LINK})
# Events that are recorded but answered with nothing (WeChat gets `success`).
SILENT_KINDS = frozenset({Kind.MENU_VIEW, Kind.LOCATION_REPORT, Kind.DELIVERY_RECEIPT, Kind.CONSENT,
                          Kind.UNKNOWN})


Answerer = Callable[[str, Citizen, Desk], list[Reply] | None]


def _cosign_answer(text: str, citizen: Citizen, desk: Desk) -> list[Reply] | None:
    return cosign.answer(text, citizen, desk)  # any content (a photo too) drops the co-sign question


def _with_text(answerer: Answerer) -> Answerer:
    def answer(text: str, citizen: Citizen, desk: Desk) -> list[Reply] | None:
        return answerer(text, citizen, desk) if text else None
    return answer


# Who answers a message first, in order; the first that does not return None answers it, and the intake
# (commands, then the draft) answers what none of them takes.
ANSWERERS: tuple[Answerer, ...] = (
    _cosign_answer,  # the question after a scanned petition code
    _with_text(evaluation.answer),  # a pending rating of a resolved ticket
    _with_text(similar.answer),  # "follow the similar ticket instead?"
    _with_text(cosign.command),  # 联名, 二维码, 结束联名, 撤销联名
)


@dataclass(slots=True)
class Turn:
    """The outcome of one step: replies, and the ticket opened, if any."""

    replies: list[Reply] = field(default_factory=list)
    ticket_id: int | None = None


def step(msg: InboundMessage, citizen: Citizen, desk: Desk) -> Turn:
    """Advance the citizen's conversation by one inbound message; mutates `citizen`'s state."""
    if msg.kind is Kind.FOLLOW:
        citizen.following = True
        return Turn(cosign.scanned(msg.event_key, citizen, desk, greet=True) or [say("greeting")])
    if msg.kind is Kind.UNFOLLOW:
        citizen.following = False
        return Turn()
    if msg.kind is Kind.SCAN:
        return Turn(cosign.scanned(msg.event_key, citizen, desk) or [say("help")])
    if msg.kind is Kind.MENU_CLICK:
        return _command(Parsed(commands.MENU_KEYS.get(msg.event_key.upper(), Command.HELP)), citizen, desk)
    if msg.kind in SILENT_KINDS or msg.kind not in CONTENT_KINDS:
        return Turn()

    text = msg.text if msg.kind in (Kind.TEXT, Kind.VOICE) else ""
    for answerer in ANSWERERS:
        replies = answerer(text, citizen, desk)
        if replies is not None:
            return Turn(replies)
    parsed = commands.parse(text) if text else None
    if parsed is not None:
        return _command(parsed, citizen, desk)
    stale = _stale_draft(citizen, desk)
    turn = _content(msg, citizen, desk, stale=stale)
    kinds = desk.out_of_scope(text)  # an emergency or a case in court: where to go instead, before confirming
    if kinds:
        turn.replies.insert(0, say("out_of_scope", kinds=kinds))
    return turn


def _draft(citizen: Citizen) -> Draft:
    return Draft.from_data(citizen.dialog_data)


def _store(citizen: Citizen, desk: Desk, state: Intake, draft: Draft | None) -> None:
    citizen.dialog_state = state.value
    others = {k: v for k, v in citizen.dialog_data.items() if k != "draft"}  # e.g. a pending evaluation
    citizen.dialog_data = others | (draft.to_data() if draft is not None else {})
    citizen.dialog_updated_at = desk.now


def _stale_draft(citizen: Citizen, desk: Desk) -> str | None:
    """When the draft outlived its time-to-live: the time it was last touched (or None).

    A stale draft without a description is dropped quietly; one with a description is kept.
    """
    if citizen.dialog_state == Intake.IDLE or citizen.dialog_updated_at is None:
        return None
    if desk.now - citizen.dialog_updated_at < timedelta(hours=desk.config.draft_ttl_hours):
        return None
    if not _draft(citizen).description:
        _store(citizen, desk, Intake.IDLE, None)
        return None
    return desk.local_time(citizen.dialog_updated_at)


def _content(msg: InboundMessage, citizen: Citizen, desk: Desk, *, stale: str | None) -> Turn:
    draft = _draft(citizen)
    before = Intake(citizen.dialog_state)
    got, fits = _absorb(msg, draft, before)
    if stale:
        _store(citizen, desk, Intake.CONFIRMING if draft.has_place else Intake.LOCATING, draft)
        return Turn([say("stale_draft", since=stale, description=draft.description)])
    if not draft.description:
        _store(citizen, desk, Intake.DESCRIBING, draft)
        return Turn([say("ask_description", got=got)])
    if not draft.has_place:
        _store(citizen, desk, Intake.LOCATING, draft)
        replies = [say("ask_location")]
    else:
        _store(citizen, desk, Intake.CONFIRMING, draft)
        replies = [say("confirm", draft=draft, note="added" if before is Intake.CONFIRMING else "")]
        offered = similar.offer(citizen, desk, draft, again=before is Intake.CONFIRMING)
        replies += [offered] if offered is not None else []
    if not fits:
        replies.insert(0, say("too_long"))
    return Turn(replies)


def _absorb(msg: InboundMessage, draft: Draft, state: Intake) -> tuple[str, bool]:
    """Put the message into the draft; returns what it was and whether text was cut."""
    fits = True
    if msg.kind in (Kind.TEXT, Kind.VOICE) and msg.text.strip():
        if state is Intake.LOCATING and not draft.has_place and len(msg.text.strip()) <= MAX_TYPED_ADDRESS:
            draft.address = msg.text.strip()
        else:
            fits = draft.add_text(msg.text)
    if msg.kind is Kind.VOICE and msg.media:
        draft.add_media(draft.voices, {"media_id": msg.media.media_id, "format": msg.media.format,
                                       "recognition": msg.text})
        return ("voice" if msg.text.strip() else "voice_unrecognised"), fits
    if msg.kind is Kind.IMAGE and msg.media:
        draft.add_media(draft.photos, {"media_id": msg.media.media_id, "url": msg.media.url})
        return "photo", fits
    if msg.kind is Kind.VIDEO and msg.media:
        draft.add_media(draft.videos, {"media_id": msg.media.media_id})
        return "video", fits
    if msg.kind is Kind.LOCATION and msg.location:
        loc = msg.location
        draft.location = {"latitude": loc.latitude, "longitude": loc.longitude, "label": loc.label}
        return "location", fits
    if msg.kind is Kind.LINK and msg.link:
        fits = draft.add_text(f"{msg.link.title} {msg.link.url}".strip())
        return "link", fits
    return "text", fits


def _command(parsed: Parsed, citizen: Citizen, desk: Desk) -> Turn:
    draft = _draft(citizen)
    drafting = citizen.dialog_state != Intake.IDLE and not draft.is_empty
    match parsed.command:
        case Command.HELP | Command.NEW_REQUEST:
            return Turn([say("help")])
        case Command.GREETING:
            return Turn([say("greeting")]) if not drafting else _remind(draft)
        case Command.MY_TICKETS:
            tickets = desk.recent_tickets(citizen.id)
            return Turn([say("my_tickets", tickets=tickets, pending_draft=drafting and bool(draft.description))])
        case Command.QUERY:
            ticket = desk.find_for(citizen.id, parsed.argument)
            if ticket is None:
                return Turn([say("ticket_not_found", number=parsed.argument)])
            return Turn([say("ticket_status", ticket=ticket, last_note=desk.last_note(ticket.id),
                             tracking_url=desk.tracking_url(ticket))])
        case Command.CANCEL:
            if not drafting:
                _store(citizen, desk, Intake.IDLE, None)
                return Turn([say("nothing_to_cancel")])
            _store(citizen, desk, Intake.IDLE, None)
            return Turn([say("cancelled", had_description=bool(draft.description),
                             description=draft.description)])
        case Command.SUBMIT:
            return _submit(citizen, desk, draft, drafting)
    return Turn([say("help")])


def _remind(draft: Draft) -> Turn:
    return Turn([say("confirm", draft=draft, note="")]) if draft.has_place and draft.description \
        else Turn([say("nothing_to_submit", missing="description" if not draft.description else "place")])


def _submit(citizen: Citizen, desk: Desk, draft: Draft, drafting: bool) -> Turn:
    if not drafting:
        return Turn([say("help")])
    if not draft.description or not draft.has_place:
        return Turn([say("nothing_to_submit", missing="description" if not draft.description else "place")])
    ticket = desk.open_ticket(citizen, draft)
    _store(citizen, desk, Intake.IDLE, None)
    return Turn([say("opened", ticket=ticket, tracking_url=desk.tracking_url(ticket))], ticket_id=ticket.id)
