"""What a citizen says right after an exchange ended: the bot filed their request, told its status, took it
back, answered a question or said where to go.

People do not stop at the bot's last word: they acknowledge (`中，俺记下了`, `好吧 那我再等等`), urge
(`恁们多催催`, `对 快来`), ask when (`那大概还要几天`) or add what they see (`按了警铃没人应`). None of that is a
new problem: it gets a short answer, and a detail added soon after filing is put on the request's timeline
for the unit (tickets/progress.py `supplement`). A message naming another problem starts a draft as usual.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bots.conversations.desk import Desk
from bots.conversations.draft import Draft
from bots.conversations.pending import forget as forget_pending
from bots.conversations.states import Intake, Pending
from bots.replies import Reply, say
from language.acts import Act, Acts, acts_of
from language.routing.problem import objects_of
from tickets.inbox.citizens import Citizen
from tickets.lifecycle import OPEN_STATUSES

OPENED, STATUS, WITHDRAWN, ANSWERED, REDIRECTED, EMERGENCY = (
    "opened", "status", "withdrawn", "answered", "redirected", "emergency")
TTL = timedelta(hours=2)
_ERRANDS = frozenset({Act.PROGRESS, Act.WITHDRAW, Act.HELP, Act.HUMAN, Act.REPORT, Act.NOT_HELPFUL, Act.SIGN,
                      Act.PRIVACY})
SUPPLEMENT_TTL = timedelta(minutes=60)  # a detail this soon after filing belongs to the request
_ACKS = frozenset({Act.YES, Act.NO, Act.THANKS, Act.CLOSING, Act.CANCEL, Act.SATISFIED, Act.GREETING,
                   Act.NOT_SURE})


def mark(citizen: Citizen, desk: Desk, what: str, tickets: tuple[int, ...] = ()) -> None:
    """Remember that an exchange just ended, and about which requests."""
    citizen.dialog_data = {**citizen.dialog_data, Pending.AFTER: {
        "what": what, "tickets": list(tickets), "at": desk.now.isoformat()}}


def forget(citizen: Citizen) -> None:
    """A new exchange began."""
    forget_pending(citizen, Pending.AFTER)


def recent(citizen: Citizen, desk: Desk, within: timedelta = TTL) -> dict[str, Any] | None:
    """The exchange that just ended, when it ended less than `within` ago."""
    after = citizen.dialog_data.get(Pending.AFTER)
    if not isinstance(after, dict) or desk.now - datetime.fromisoformat(str(after["at"])) > within:
        return None
    return after


def answer(text: str, citizen: Citizen, desk: Desk) -> list[Reply] | None:
    """The reply to a message after an exchange ended, or None when it is something new."""
    after = recent(citizen, desk)
    if after is None or (citizen.dialog_state != Intake.IDLE and Draft.from_data(citizen.dialog_data).description):
        return None
    acts = acts_of(text)
    if acts.found & _ERRANDS:
        return None  # how is it going, take it back, help: their own answerers
    tickets = [int(t) for t in after.get("tickets", [])]
    new_problem = _new_problem(text, tickets, desk)
    if new_problem:
        forget(citizen)
        return None
    if Act.WHEN in acts and tickets:
        return [_when(tickets[0], desk)]
    if Act.URGE in acts and tickets:
        return [say("urged", number=desk.ticket(tickets[0]).number)]
    if acts.bare or (acts.lead & _ACKS and not objects_of(text)):
        return [say("welcome" if Act.THANKS in acts or Act.SATISFIED in acts else "noted")]
    if after["what"] == OPENED and tickets and len(acts.rest) >= 3 and _soon(after, desk):
        ticket = desk.supplement(citizen, tickets[0], text)
        return [say("supplemented", number=ticket.number)]
    if not objects_of(text) and after["what"] in (STATUS, WITHDRAWN, ANSWERED, REDIRECTED) and acts.short:
        return [say("noted")]
    forget(citizen)
    return None


def _soon(after: dict[str, Any], desk: Desk) -> bool:
    return desk.now - datetime.fromisoformat(str(after["at"])) <= SUPPLEMENT_TTL


def _new_problem(text: str, tickets: list[int], desk: Desk) -> bool:
    """Whether the message names a problem none of the requests it follows is about."""
    said = set(objects_of(text))
    if not said:
        return False
    known: set[str] = set()
    for ticket_id in tickets:
        known.update(objects_of(desk.ticket(ticket_id).description))
    return not said & known


def _when(ticket_id: int, desk: Desk) -> Reply:
    ticket = desk.ticket(ticket_id)
    due = desk.due_at(ticket.id) if ticket.status in OPEN_STATUSES else None
    return say("when", ticket=ticket, due=desk.local_time(due) if due else "", tracking_url=desk.tracking_url(ticket))


def acts_only(acts: Acts) -> bool:
    """Whether a message is only acknowledgements, with no word of a matter."""
    return acts.bare and bool(acts.found) and acts.found <= _ACKS
