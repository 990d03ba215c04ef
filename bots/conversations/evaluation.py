"""The evaluation conversation (结果能评): rating, whether it is solved, and why not.

After a ticket is resolved the citizen's state holds `evaluation: {ticket_id, step}` (for days: a citizen
may answer the notice late); the next answers fill it in. In plain words: `弄好了，谢谢` is satisfied and
solved; `还是老样子` / `说好的维修一直没来` is not solved and reopens the ticket with the citizen's own
words as the reason, at once. The steps (satisfaction, solved, reason) take words and digits; digits count
only when no draft is open (a "1" there submits the draft).
"""

from __future__ import annotations

from typing import Any

from bots.conversations.desk import Desk
from bots.conversations.states import Evaluation, Intake, Pending
from bots.replies import Reply, say
from language.acts import Act, acts_of
from language.routing.problem import objects_of
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


_OTHER_ERRANDS = frozenset({Act.PROGRESS, Act.WITHDRAW, Act.HELP, Act.HUMAN, Act.REPORT})


def answer(text: str, citizen: Citizen, desk: Desk) -> list[Reply] | None:
    """Replies if `text` answers a pending evaluation, else None (the message is handled as usual)."""
    pending: dict[str, Any] | None = citizen.dialog_data.get(Pending.EVALUATION)
    if not pending:
        return None
    drafting = citizen.dialog_state != Intake.IDLE
    word = normalise(text)
    step = pending.get("step")
    acts = acts_of(text)
    if acts.found & _OTHER_ERRANDS and not acts.anywhere & {Act.SATISFIED, Act.UNSATISFIED}:
        return None  # 查下进度, 撤单: another errand; the rating stays pending
    said = set(objects_of(text))
    if said and not said & set(objects_of(desk.ticket(int(pending["ticket_id"])).description)):
        return None  # 楼下的路灯又不亮了, asked to rate the rubbish collection: another problem
    if step in (Evaluation.SATISFACTION, Evaluation.SOLVED) and word not in _GRADES and word not in _SOLVED:
        if Act.UNSATISFIED in acts.anywhere:  # 还是老样子, 三天又坏了: not solved, the words are the reason
            pending.update(satisfaction=Satisfaction.UNSATISFIED.value, solved=False)
            return _finish(citizen, desk, pending, reason=text.strip())
        if Act.SATISFIED in acts.anywhere and not drafting:  # 弄好了，谢谢; 问题已解决，非常满意
            pending.update(satisfaction=Satisfaction.SATISFIED.value, solved=True)
            return _finish(citizen, desk, pending, reason="")
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
