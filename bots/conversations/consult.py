"""Questions answered at once (即问即答) from the city's knowledge base, without filing anything.

A question that looks like a consultation (language/knowledge `looks_like_question`) and that an entry of
the knowledge base answers gets that entry's answer, its source office and number, at once; it is counted
(tickets/consultations.py), not filed. Only when the citizen then says it did not help (`没用`, `我要反映`)
does the chat offer to file: their words start a draft.
"""

from __future__ import annotations

from datetime import timedelta

from bots.conversations import drafting, followup
from bots.conversations.desk import Desk
from bots.conversations.pending import take
from bots.conversations.states import Intake, Pending
from bots.replies import Reply, say
from language.acts import Act, acts_of
from language.knowledge import looks_like_question
from language.routing.problem import objects_of
from tickets.inbox.citizens import Citizen

PENDING_TTL = timedelta(hours=2)


def question(text: str, citizen: Citizen, desk: Desk) -> list[Reply] | None:
    """The knowledge base's answer to `text`, or None when it is no question the base answers."""
    if not text or not looks_like_question(text):
        return None
    draft = drafting.draft_of(citizen)
    if citizen.dialog_state != Intake.IDLE and draft.description:
        return None  # a question in the middle of a report is part of the report
    hit = desk.config.knowledge.answer(text)
    if hit is None:
        return None
    consultation = desk.consulted(citizen, hit.entry.id, hit.entry.topic, text)
    citizen.dialog_data = {**citizen.dialog_data, Pending.CONSULT: {
        "consultation_id": consultation, "question": text[:500], "asked_at": desk.now.isoformat()}}
    followup.mark(citizen, desk, followup.ANSWERED)
    return [say("answer", entry=hit.entry)]


def follow_up(text: str, citizen: Citizen, desk: Desk) -> list[Reply] | None:
    """What the citizen says after an answer: it did not help (start a report), thanks, or something else."""
    pending = take(citizen, Pending.CONSULT, desk.now, PENDING_TTL)
    if pending is None or not text:
        return None
    acts = acts_of(text)
    if Act.NOT_HELPFUL in acts or Act.UNSATISFIED in acts or Act.REPORT in acts:
        desk.consultation_helped(int(pending["consultation_id"]), helped=False)
        draft = drafting.draft_of(citizen)
        if not draft.description:  # what they asked is the start of what they report
            draft.add_text(drafting.kept(str(pending.get("question", ""))))
        rest = text if len(acts.plain) > 8 else ""
        if rest:
            draft.add_text(drafting.kept(rest))
        drafting.find_place(draft, desk)
        return drafting.advance(citizen, desk, draft, Intake.DESCRIBING)
    if acts.lead & {Act.THANKS, Act.YES, Act.SATISFIED, Act.CLOSING} and not objects_of(text):
        desk.consultation_helped(int(pending["consultation_id"]), helped=True)  # 中，俺记下了
        return [say("welcome" if acts.found & {Act.THANKS, Act.SATISFIED} else "noted")]
    return None
