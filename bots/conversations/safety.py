"""Danger first: the emergency number and one line of advice before anything else, a fast path for an
urgent danger the city must fix, one safety question when a danger is possible, and a kind word about
where to go for a matter that is not the city's (the triage: language/triage; the words: tickets/safety.py).

    emergency   the number(s) and one line of advice, and no question; what the citizen says next (the
                place, more detail) may still file it, urgent, when the city has a duty too (a gas leak)
    urgent      one line of advice; filed as soon as the place is known (asked only if missing)
    unsure      `现在有人被困或者受伤吗？`: yes makes it urgent, no goes on as an ordinary request
    redirect    where to go instead; no draft is left open
"""

from __future__ import annotations

from datetime import timedelta

from bots.conversations import drafting, followup
from bots.conversations.desk import Desk
from bots.conversations.pending import take
from bots.conversations.states import Intake, Pending
from bots.replies import Reply, say
from language.acts import Act, acts_of
from language.triage import Decision, Kind
from tickets.inbox.citizens import Citizen

PENDING_TTL = timedelta(hours=2)
_PEOPLE = ("有人", "被困", "困住", "受伤", "伤了", "流血", "在里面", "在里头", "出不来", "晕", "老人", "孩子",
           "小孩", "我爸", "我妈", "俺爹", "俺娘", "邻居")


def check(text: str, citizen: Citizen, desk: Desk) -> list[Reply] | None:
    """The replies to a danger or a matter that is not ours in `text`, or None for an ordinary message."""
    if not text:
        return None
    decision = desk.config.triage(text)
    if decision.kind is Kind.NORMAL:
        return None
    just_filed = followup.recent(citizen, desk, followup.SUPPLEMENT_TTL)
    if decision.kind in (Kind.UNSURE, Kind.URGENT) and just_filed and just_filed["what"] == followup.OPENED \
            and not drafting.draft_of(citizen).description:
        return None  # 按了警铃没人应: more about the danger just filed, for its timeline (followup.py)
    if decision.kind is Kind.EMERGENCY:
        return emergency(text, decision, citizen, desk)
    if decision.kind is Kind.URGENT:
        return urgent(text, decision, citizen, desk)
    if decision.kind is Kind.UNSURE:
        draft = drafting.draft_of(citizen)
        drafting.add_said(draft, text, desk)
        drafting.store(citizen, desk, Intake.DESCRIBING, draft)
        citizen.dialog_data = {**citizen.dialog_data, Pending.SAFETY: {"asked_at": desk.now.isoformat()}}
        return [say("safety_question", question=desk.config.safety.advice(decision).question)]
    advice = desk.config.safety.advice(decision)
    drafting.store(citizen, desk, Intake.IDLE, None)  # a matter for elsewhere leaves no draft open
    followup.mark(citizen, desk, followup.REDIRECTED)
    return [say("redirect", where=advice.referral)]


def emergency(text: str, decision: Decision, citizen: Citizen, desk: Desk) -> list[Reply]:
    """The numbers and the advice, in one short reply with no question; the words are kept for a moment."""
    advice = desk.config.safety.advice(decision)
    draft = drafting.draft_of(citizen)
    if not draft.is_empty:  # a draft in progress turns urgent: the next place or "yes" files it
        drafting.add_said(draft, text, desk)
        draft.urgent = True
        drafting.store(citizen, desk, Intake(citizen.dialog_state) if citizen.dialog_state != Intake.IDLE
                       else Intake.DESCRIBING, draft)
    else:
        citizen.dialog_data = {**citizen.dialog_data, Pending.EMERGENCY: {"text": drafting.kept(text)[:500],
                                                                         "at": desk.now.isoformat()}}
    return [say("emergency", services=advice.services, lines=advice.lines)]


def urgent(text: str, decision: Decision, citizen: Citizen, desk: Desk) -> list[Reply]:
    """One line of advice, then the fastest way to a ticket: filed now if the place is known."""
    advice = desk.config.safety.advice(decision)
    draft = drafting.draft_of(citizen)
    drafting.add_said(draft, text, desk)
    draft.urgent = True
    drafting.find_place(draft, desk)
    return [say("urgent_advice", lines=advice.lines, people=False),
            *drafting.advance(citizen, desk, draft, Intake.DESCRIBING)]


def answer(text: str, citizen: Citizen, desk: Desk) -> list[Reply] | None:
    """The answer to `现在有人被困或者受伤吗？`, or None when the message is about something else."""
    if take(citizen, Pending.SAFETY, desk.now, PENDING_TTL) is None or not text:
        return None
    draft = drafting.draft_of(citizen)
    decision = desk.config.triage(f"{draft.description}\n{text}")
    if decision.kind is Kind.EMERGENCY:
        return emergency(text, decision, citizen, desk)
    acts = acts_of(text)
    people = any(word in text for word in _PEOPLE)
    if decision.kind is Kind.URGENT or (acts.short and Act.YES in acts) or (people and Act.NO not in acts):
        drafting.add_said(draft, text, desk)
        draft.urgent = True
        drafting.find_place(draft, desk)
        lines = desk.config.safety.advice(decision).lines if decision.kind is Kind.URGENT else ()
        return [say("urgent_advice", lines=lines, people=True),
                *drafting.advance(citizen, desk, draft, Intake.DESCRIBING)]
    if Act.NO in acts or Act.NOT_SURE in acts:
        return drafting.advance(citizen, desk, draft, Intake.DESCRIBING)
    return None
