"""The offer before a new request is confirmed: "a similar problem nearby is already being handled;
follow it instead?" (未诉先办). Replying 2 (or 关注) follows that ticket: the citizen hears its progress
and the draft is set aside; replying 1 files the request as usual.

The offer is kept in the conversation data as `similar: {ticket_id}` while the draft awaits confirmation.
"""

from __future__ import annotations

from bots.conversations.desk import Desk
from bots.conversations.draft import Draft
from bots.conversations.states import Intake, Pending
from bots.replies import Reply, say
from language.text import normalise
from tickets.inbox.citizens import Citizen
from tickets.masking import mask_text

KEY = Pending.SIMILAR
FOLLOW_WORDS = frozenset({"2", "关注", "跟进", "关注进度", "关注工单"})


def offer(citizen: Citizen, desk: Desk, draft: Draft, *, again: bool) -> Reply | None:
    """The offer for a draft about to be confirmed, or None (nothing similar, or offered already)."""
    match = desk.similar_nearby(citizen, draft)
    pending = citizen.dialog_data.get(KEY)
    if match is None:
        citizen.dialog_data.pop(KEY, None)
        return None
    if again and isinstance(pending, dict) and pending.get("ticket_id") == match.ticket_id:
        return None  # the same offer was made for this draft: do not repeat it at every addition
    citizen.dialog_data[KEY] = {"ticket_id": match.ticket_id}
    distance = None if match.distance_m is None else max(50, round(match.distance_m / 10) * 10)
    when = desk.local_time(match.created_at) if match.created_at is not None else ""
    return say("similar_offer", number=match.number, description=mask_text(match.description),
               status=match.status.value, distance=distance, place=mask_text(match.place), why=match.why[:2],
               when=when)


def answer(text: str, citizen: Citizen, desk: Desk) -> list[Reply] | None:
    """Replies if `text` takes up a pending offer, else None (the message is handled as usual)."""
    pending = citizen.dialog_data.get(KEY)
    if not isinstance(pending, dict):
        return None
    if citizen.dialog_state != Intake.CONFIRMING:  # the draft it was made for is gone
        citizen.dialog_data.pop(KEY, None)
        return None
    if normalise(text) not in FOLLOW_WORDS:
        return None
    ticket = desk.ticket(int(pending["ticket_id"]))
    new = desk.follow(citizen, ticket.id)
    citizen.dialog_state = Intake.IDLE.value
    citizen.dialog_data = {k: v for k, v in citizen.dialog_data.items() if k not in (KEY, "draft")}
    citizen.dialog_updated_at = desk.now
    return [say("similar_followed", number=ticket.number, tracking_url=desk.tracking_url(ticket), new=new)]
