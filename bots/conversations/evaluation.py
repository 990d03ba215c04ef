"""The evaluation conversation (结果能评): rating, whether it is solved, and why not.

After a ticket is resolved the citizen's state holds `evaluation: {ticket_id, step}`; the next
answers fill it in. Digits count as answers only when no draft is open (a "1" there submits the
draft); words (满意, 不满意, 已解决 ...) always do.
"""

from __future__ import annotations

from typing import Any

from bots.conversations.desk import Desk
from bots.conversations.states import Evaluation, Intake, Pending
from bots.replies import Reply, say
from language.text import normalise
from tickets.errors import InvalidTransition
from tickets.inbox.citizens import Citizen
from tickets.progress import Satisfaction

_GRADES = {
    "满意": Satisfaction.SATISFIED, "非常满意": Satisfaction.SATISFIED, "很满意": Satisfaction.SATISFIED,
    "基本满意": Satisfaction.BASICALLY, "还行": Satisfaction.BASICALLY, "一般": Satisfaction.BASICALLY,
    "不满意": Satisfaction.UNSATISFIED, "很不满意": Satisfaction.UNSATISFIED, "非常不满意": Satisfaction.UNSATISFIED,
}
_GRADE_DIGITS = {"1": Satisfaction.SATISFIED, "2": Satisfaction.BASICALLY, "3": Satisfaction.UNSATISFIED}
_SOLVED = {"已解决": True, "解决了": True, "解决": True, "没解决": False, "未解决": False, "没有解决": False,
           "没有": False}
_SOLVED_DIGITS = {"1": True, "2": False}
SHORT_ANSWER = 4  # an unrecognised answer this short is re-asked; longer text is a new message


def answer(text: str, citizen: Citizen, desk: Desk) -> list[Reply] | None:
    """Replies if `text` answers a pending evaluation, else None (the message is handled as usual)."""
    pending: dict[str, Any] | None = citizen.dialog_data.get(Pending.EVALUATION)
    if not pending:
        return None
    drafting = citizen.dialog_state != Intake.IDLE
    word = normalise(text)
    step = pending.get("step")
    if step == Evaluation.SATISFACTION:
        grade = _GRADES.get(word) or (None if drafting else _GRADE_DIGITS.get(word))
        if grade is None:
            return _reask(word, drafting, "ask_rating", number=_number(desk, pending))
        pending.update(step=Evaluation.SOLVED.value, satisfaction=grade.value)
        return _keep(citizen, pending, [say("ask_solved")])
    if step == Evaluation.SOLVED:
        solved = _SOLVED.get(word, None if drafting else _SOLVED_DIGITS.get(word))
        if solved is None:
            return _reask(word, drafting, "ask_solved")
        pending["solved"] = solved
        if solved and pending["satisfaction"] != Satisfaction.UNSATISFIED.value:
            return _finish(citizen, desk, pending, reason="")
        pending["step"] = Evaluation.REASON.value
        return _keep(citizen, pending, [say("ask_reason")])
    if step == Evaluation.REASON and text.strip():
        return _finish(citizen, desk, pending, reason=text)
    return None


def _reask(word: str, drafting: bool, template: str, **context: Any) -> list[Reply] | None:
    if drafting or len(word) > SHORT_ANSWER:
        return None
    return [say(template, **context)]


def _keep(citizen: Citizen, pending: dict[str, Any], replies: list[Reply]) -> list[Reply]:
    citizen.dialog_data = {**citizen.dialog_data, Pending.EVALUATION: pending}
    return replies


def _number(desk: Desk, pending: dict[str, Any]) -> str:
    return desk.ticket(int(pending["ticket_id"])).number


def _finish(citizen: Citizen, desk: Desk, pending: dict[str, Any], *, reason: str) -> list[Reply] | None:
    data = dict(citizen.dialog_data)
    data.pop(Pending.EVALUATION, None)
    citizen.dialog_data = data
    try:
        ticket = desk.evaluate(citizen, int(pending["ticket_id"]), Satisfaction(pending["satisfaction"]),
                               bool(pending["solved"]), reason)
    except InvalidTransition:
        return None  # rated elsewhere (the progress page) or reopened meanwhile: nothing pending any more
    template = "reopened" if ticket.status.value == "reopened" else "evaluated"
    return [say(template, number=ticket.number)]
