"""The chat: every message read as what the citizen is doing with it, in the context of the conversation.

States are declared in bots/conversations/states.py (the draft's intake state and the pending questions),
stored on the citizen. Which conversation answers a message first is `ANSWERERS`, in order; the first that
returns replies answers it:

    a pending safety question     现在有人被困或者受伤吗？ (bots/conversations/safety.py)
    a pending co-sign question    after a scanned petition code: 同意 / 不签 / 会不会被别人看到 (cosign.py)
    a pending rating              满意 / 还是老样子 (evaluation.py)
    a pending choice / reason     which of the listed requests; why take it back (requests.py)
    the follow-instead offer      关注 (similar.py)
    danger and scope              emergency, urgent, unsure, not ours: before anything else that is new
    after an answer               没用，我要反映 (consult.py)
    petition commands             联名, 二维码, 结束联名, 撤销联名 (cosign.py)
    the commands of the chat      a request number or tracking code, help, cancel, confirm, greetings, thanks
    after an exchange ended       中，俺记下了; 恁们多催催; 还要几天; 按了警铃没人应 (followup.py)
    the citizen's requests        how is it going, take it back (requests.py)
    a question                    answered at once from the knowledge base (consult.py)
    the draft                     what, where, confirm (drafting.py)

Menu keys and digits keep working. A draft with a description is never dropped silently: past its
time-to-live it is kept and the citizen is reminded of it on their next message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from bots.conversations import (
    commands,
    consult,
    cosign,
    drafting,
    evaluation,
    followup,
    requests,
    safety,
    similar,
)
from bots.conversations.commands import Command, Parsed
from bots.conversations.desk import Desk
from bots.conversations.states import Intake
from bots.replies import Reply, say
from language.acts import Act, acts_of
from tickets.inbox.citizens import Citizen
from tickets.inbox.message import InboundMessage, Kind

CONTENT_KINDS = frozenset({Kind.TEXT, Kind.VOICE, Kind.IMAGE, Kind.VIDEO, Kind.LOCATION, Kind.LINK})
# Events that are recorded but answered with nothing (WeChat gets `success`).
SILENT_KINDS = frozenset({Kind.MENU_VIEW, Kind.LOCATION_REPORT, Kind.DELIVERY_RECEIPT, Kind.CONSENT,
                          Kind.UNKNOWN})


@dataclass(slots=True)
class Turn:
    """The outcome of one step: replies, and the ticket opened, if any."""

    replies: list[Reply] = field(default_factory=list)
    ticket_id: int | None = None


Answerer = Callable[[str, Citizen, Desk], list[Reply] | None]


def _cosign_answer(text: str, citizen: Citizen, desk: Desk) -> list[Reply] | None:
    return cosign.answer(text, citizen, desk)  # any content (a photo too) drops the co-sign question


def _with_text(answerer: Answerer) -> Answerer:
    def answer(text: str, citizen: Citizen, desk: Desk) -> list[Reply] | None:
        return answerer(text, citizen, desk) if text else None
    answer.__name__ = getattr(answerer, "__name__", "answer")
    return answer


def _commands(text: str, citizen: Citizen, desk: Desk) -> list[Reply] | None:
    parsed = commands.parse(text)
    if parsed is not None:
        return _command(parsed, citizen, desk, text)
    acts = acts_of(text)
    drafting_now = citizen.dialog_state != Intake.IDLE and not drafting.draft_of(citizen).is_empty
    if Act.CANCEL in acts and (acts.short or drafting_now) and Act.WITHDRAW not in acts:
        return _command(Parsed(Command.CANCEL), citizen, desk, text)
    if citizen.dialog_state == Intake.CONFIRMING and drafting.confirms(text, acts, citizen, desk):
        return _command(Parsed(Command.SUBMIT), citizen, desk, text)
    if not acts.short or (drafting_now and Act.YES in acts):
        return None
    if Act.HUMAN in acts:
        return [say("human")]
    if Act.HELP in acts:
        return [say("help")]
    if Act.THANKS in acts or (Act.YES in acts and not drafting_now):
        return [say("welcome")] if not drafting_now else _remind(citizen)
    if Act.GREETING in acts:
        return [say("greeting")] if not drafting_now else _remind(citizen)
    return None


ANSWERERS: tuple[Answerer, ...] = (
    _with_text(safety.answer),  # the safety question after a possible danger
    _cosign_answer,  # the question after a scanned petition code
    _with_text(evaluation.answer),  # a pending rating of a resolved ticket
    _with_text(requests.answer_choice),  # which of the listed requests
    _with_text(requests.answer_withdraw),  # why take it back
    _with_text(similar.answer),  # "follow the similar ticket instead?"
    _with_text(safety.check),  # danger and scope: before anything new
    _with_text(consult.follow_up),  # after an answer from the knowledge base
    _with_text(cosign.command),  # 联名, 二维码, 结束联名, 撤销联名
    _with_text(_commands),
    _with_text(followup.answer),  # after an exchange ended: thanks, hurry, when, one more detail
    _with_text(requests.withdraw),
    _with_text(requests.progress),
    _with_text(consult.question),  # 即问即答
)


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
        parsed = Parsed(commands.MENU_KEYS.get(msg.event_key.upper(), Command.HELP))
        return _turn(_command(parsed, citizen, desk, ""), desk, citizen)
    if msg.kind in SILENT_KINDS or msg.kind not in CONTENT_KINDS:
        return Turn()
    text = msg.text.strip() if msg.kind in (Kind.TEXT, Kind.VOICE) else ""
    stale = _stale_draft(citizen, desk)  # first: what a danger or a command acts on is not days old
    for answerer in ANSWERERS:
        replies = answerer(text, citizen, desk)
        if replies is not None:
            return _turn(replies, desk, citizen)
    if stale is not None:
        drafting.content(msg, citizen, desk)
        return _turn([say("stale_draft", since=stale, description=drafting.draft_of(citizen).description)], desk,
                     citizen)
    return _turn(drafting.content(msg, citizen, desk), desk, citizen)


def _turn(replies: list[Reply], desk: Desk, citizen: Citizen) -> Turn:
    if replies:
        drafting.answered(citizen)  # the reply a burst of fragments waits for is given now
    return Turn(replies, desk.opened[-1] if desk.opened else None)


def _stale_draft(citizen: Citizen, desk: Desk) -> str | None:
    """When the draft outlived its time-to-live: the time it was last touched (or None).

    A stale draft without a description is dropped quietly; one with a description is kept.
    """
    if citizen.dialog_state == Intake.IDLE or citizen.dialog_updated_at is None:
        return None
    if desk.now - citizen.dialog_updated_at < timedelta(hours=desk.config.draft_ttl_hours):
        return None
    if not drafting.draft_of(citizen).description:
        drafting.store(citizen, desk, Intake.IDLE, None)
        return None
    return desk.local_time(citizen.dialog_updated_at)


def _command(parsed: Parsed, citizen: Citizen, desk: Desk, text: str) -> list[Reply]:
    draft = drafting.draft_of(citizen)
    drafting_now = citizen.dialog_state != Intake.IDLE and not draft.is_empty
    match parsed.command:
        case Command.HELP | Command.NEW_REQUEST:
            return [say("help")]
        case Command.GREETING:
            return [say("greeting")] if not drafting_now else _remind(citizen)
        case Command.MY_TICKETS:
            return requests.progress("进度", citizen, desk) or [say("no_requests")]
        case Command.QUERY:
            found = requests.progress(parsed.argument, citizen, desk)
            return found if found is not None else [say("ticket_not_found", number=parsed.argument)]
        case Command.CANCEL:
            drafting.store(citizen, desk, Intake.IDLE, None)
            if not drafting_now:
                return [say("nothing_to_cancel")]
            return [say("cancelled", had_description=bool(draft.description), description=draft.description)]
        case Command.SUBMIT:
            if not drafting_now:
                return [say("help")] if text.strip() in ("1", "") else [say("welcome")]
            if not draft.description or not draft.has_place:
                return drafting.advance(citizen, desk, draft, Intake(citizen.dialog_state))
            return drafting.submit(citizen, desk, draft)
    return [say("help")]


def _remind(citizen: Citizen) -> list[Reply]:
    draft = drafting.draft_of(citizen)
    if draft.has_place and draft.description:
        return [say("confirm", draft=draft, note="")]
    return [say("nothing_to_submit", missing="description" if not draft.description else "place")]
