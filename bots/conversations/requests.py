"""The citizen's filed requests in plain words: how is it going, take it back.

- Progress: `我上周说的那个事咋样了`, a request number typed partly or with spaces, a tracking code from a
  request filed by phone (which links it: its progress is told here from then on). With several open
  requests they are listed with numbers to reply with and their /t/ links.
- Withdrawal: `不用处理了，已经自己修好了` takes back the open request, with the citizen's words as the
  reason (asked for when there are none); a lifecycle change the dispatch system hears about.
"""

from __future__ import annotations

import re
from datetime import timedelta

from bots.conversations import followup
from bots.conversations.desk import Desk
from bots.conversations.draft import Draft
from bots.conversations.pending import take
from bots.conversations.states import Intake, Pending
from bots.replies import Reply, say
from language.acts import Act, acts_of
from language.routing.problem import objects_of
from tickets.codes import looks_like_tracking_code
from tickets.errors import InvalidTransition
from tickets.inbox.citizens import Citizen
from tickets.lifecycle import OPEN_STATUSES
from tickets.repository import Ticket

PENDING_TTL = timedelta(hours=24)
LISTED = 5
_DIGITS = re.compile(r"\d+")
# Bigrams every request has: they tell no request from another.
_COMMON = frozenset({"那个", "这个", "一个", "我们", "俺们", "反映", "的事", "问题", "小区", "门口", "一下", "怎么",
                     "咋样", "样了", "上次", "之前", "撤了", "了吧", "进度"})
_CODE = re.compile(r"[A-Za-z0-9]{10}")
# What people add to "take it back" that is not a reason.
_NOT_REASON = re.compile(
    r"撤回|撤销|撤掉|帮我撤|取消|工单|这个|那个|一下|吧|了|请|麻烦|你们|我的|俺的|[\s，。！？,.!?]"
)


def progress(text: str, citizen: Citizen, desk: Desk) -> list[Reply] | None:
    """Replies to a question about the citizen's requests, or None when `text` is none."""
    acts = acts_of(text)
    referenced = _referenced(text, citizen, desk)
    if referenced is not None:
        return [_told(citizen, desk, referenced), *_unsent(citizen)]
    if Act.PROGRESS not in acts:
        return None
    tickets = _mine(citizen, desk, open_only=False)
    if not tickets:
        return [say("no_requests"), *_unsent(citizen)]
    open_ones = [t for t in tickets if t.status in OPEN_STATUSES] or tickets[:1]
    named = _by_words(text, tickets)
    if named is not None:
        open_ones = [named]
    if len(open_ones) == 1:
        return [_told(citizen, desk, open_ones[0]), *_unsent(citizen)]
    return [*_choose(citizen, desk, "progress", open_ones), *_unsent(citizen)]


def _unsent(citizen: Citizen) -> list[Reply]:
    """A word on the draft not filed yet, when there is one (the citizen may think it was)."""
    draft = Draft.from_data(citizen.dialog_data)
    if citizen.dialog_state == Intake.IDLE or not draft.description:
        return []
    return [say("draft_reminder", description=draft.description, missing="" if draft.has_place else "place")]


def withdraw(text: str, citizen: Citizen, desk: Desk) -> list[Reply] | None:
    """Replies to "take my request back", or None when `text` does not ask it."""
    if Act.WITHDRAW not in acts_of(text):
        return None
    open_ones = [t for t in _mine(citizen, desk, open_only=True)]
    if not open_ones:
        return [say("nothing_to_withdraw")]
    referenced = _referenced(text, citizen, desk) or _by_words(text, open_ones)
    if referenced is not None and referenced in open_ones:
        open_ones = [referenced]
    if len(open_ones) > 1:
        return _choose(citizen, desk, "withdraw", open_ones, reason=_reason(text))
    return _withdraw_or_ask(citizen, desk, open_ones[0], _reason(text))


def answer_choice(text: str, citizen: Citizen, desk: Desk) -> list[Reply] | None:
    """The citizen's pick from a numbered list of their requests, or None."""
    pending = take(citizen, Pending.CHOICE, desk.now, PENDING_TTL)
    if pending is None:
        return None
    ids = [int(i) for i in pending["tickets"]]
    digits = "".join(_DIGITS.findall(text))
    chosen: int | None = None
    if digits and len(digits) <= 2 and 1 <= int(digits) <= len(ids):
        chosen = ids[int(digits) - 1]
    else:
        referenced = _referenced(text, citizen, desk) or _by_words(text, [desk.ticket(i) for i in ids])
        chosen = referenced.id if referenced is not None and referenced.id in ids else None
    if chosen is None:
        return None
    ticket = desk.ticket(chosen)
    if pending.get("purpose") == "withdraw":
        return _withdraw_or_ask(citizen, desk, ticket, str(pending.get("reason", "")))
    return [_told(citizen, desk, ticket)]


def answer_withdraw(text: str, citizen: Citizen, desk: Desk) -> list[Reply] | None:
    """The reason asked for a withdrawal (or "never mind"), or None."""
    pending = take(citizen, Pending.WITHDRAW, desk.now, PENDING_TTL)
    if pending is None or not text.strip():
        return None
    acts = acts_of(text)
    if acts.short and (Act.NO in acts or Act.CANCEL in acts):
        return [say("withdraw_kept")]
    return _withdraw(citizen, desk, desk.ticket(int(pending["ticket_id"])), text.strip())


def _withdraw_or_ask(citizen: Citizen, desk: Desk, ticket: Ticket, reason: str) -> list[Reply]:
    if reason:
        return _withdraw(citizen, desk, ticket, reason)
    citizen.dialog_data = {**citizen.dialog_data,
                           Pending.WITHDRAW: {"ticket_id": ticket.id, "asked_at": desk.now.isoformat()}}
    return [say("ask_withdraw_reason", ticket=ticket)]


def _withdraw(citizen: Citizen, desk: Desk, ticket: Ticket, reason: str) -> list[Reply]:
    try:
        desk.withdraw_ticket(citizen, ticket.id, reason)
    except InvalidTransition:
        return [_told(citizen, desk, desk.ticket(ticket.id))]
    followup.mark(citizen, desk, followup.WITHDRAWN, (ticket.id,))
    return [say("withdrawn", ticket=ticket)]


def _reason(text: str) -> str:
    """What the citizen gave as the reason, besides asking to take it back."""
    rest = _NOT_REASON.sub("", text)
    return text.strip() if len(rest) >= 4 else ""


def _mine(citizen: Citizen, desk: Desk, *, open_only: bool) -> list[Ticket]:
    tickets = desk.recent_tickets(citizen.id, limit=20) + desk.followed_tickets(citizen.id)
    seen: set[int] = set()
    found = []
    for ticket in tickets:
        if ticket.id not in seen and (not open_only or ticket.status in OPEN_STATUSES):
            seen.add(ticket.id)
            found.append(ticket)
    return found[:LISTED]


def _referenced(text: str, citizen: Citizen, desk: Desk) -> Ticket | None:
    """A request the text names: its tracking code (linked when filed elsewhere), or its number, whole, with
    spaces, or only its last digits."""
    compact = re.sub(r"[\s\-－—_]", "", text)
    for code in _CODE.findall(compact):
        if looks_like_tracking_code(code):
            found = desk.by_tracking_code(code.upper())
            if found is not None:
                desk.link(citizen, found)
                return found
    # A number is written as one run of digits (spaces and dashes aside): "12栋3单元" names no ticket, and
    # the citizen's tickets are read only for a run long enough to be one.
    runs = [run for run in _DIGITS.findall(compact) if len(run) >= 4]
    if not runs:
        return None
    for ticket in _mine(citizen, desk, open_only=False):
        number = ticket.number.replace("-", "")
        if any(number == digits or number.endswith(digits.lstrip("0") and digits) for digits in runs):
            return ticket
    return None


def _told(citizen: Citizen, desk: Desk, ticket: Ticket) -> Reply:
    """The status of one request; what the citizen says next may be about it (followup.py)."""
    followup.mark(citizen, desk, followup.STATUS, (ticket.id,))
    return _status(ticket, desk)


def _by_words(text: str, tickets: list[Ticket]) -> Ticket | None:
    """The one request the words describe (烧烤摊油烟的事, 噪音那个), when one fits clearly better than the others."""
    said = set(objects_of(text)) | _bigrams(text)
    scored = sorted(((len(said & (set(objects_of(t.description)) | _bigrams(t.description))), n)
                     for n, t in enumerate(tickets)), reverse=True)
    if not scored or scored[0][0] < 2 or (len(scored) > 1 and scored[1][0] == scored[0][0]):
        return None
    return tickets[scored[0][1]]


def _bigrams(text: str) -> set[str]:
    runs = re.findall(r"[\u4e00-\u9fff]+", text)
    return {run[i:i + 2] for run in runs for i in range(len(run) - 1)} - _COMMON


def _status(ticket: Ticket, desk: Desk) -> Reply:
    return say(
        "ticket_status", ticket=ticket, last_note=desk.last_note(ticket.id), tracking_url=desk.tracking_url(ticket)
    )


def _choose(citizen: Citizen, desk: Desk, purpose: str, tickets: list[Ticket], *, reason: str = "") -> list[Reply]:
    citizen.dialog_data = {**citizen.dialog_data, Pending.CHOICE: {
        "purpose": purpose, "tickets": [t.id for t in tickets], "asked_at": desk.now.isoformat(), "reason": reason}}
    return [say("choose_request", tickets=tickets, purpose=purpose,
                urls=[desk.tracking_url(t) for t in tickets])]

