"""The co-sign conversation (联名) in chat: start a joint petition, its QR card, scans, signing.

Commands (in any state; an open draft is kept):

    联名 / 发起联名 [工单号]   the citizen's latest ticket still being handled (or the one named, theirs)
                              becomes a joint petition, them its representative; asked again, the card
                              is sent again
    二维码 / 联名二维码        the card of the representative's open petition, again
    结束联名                   the representative ends their open petition
    撤销联名 [工单号]          a co-signer takes back the signature they gave last in chat (or on the one named)

A scanned WeChat parametric QR code (scene `petition:{id}`, from SCAN or a follow) shows the petition
and asks whether to co-sign. The answer comes in words (同意, 算我一个, 我也签 / 不签, 算了; "会不会被
别人看到我的名字" is answered and the question stays) or digits (1 sign and hear of progress, 2 sign
without notices, 0 do not sign). The question waits in `dialog_data["cosign"]`; any other content drops
it and is handled as usual.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bots.conversations import drafting
from bots.conversations.desk import Desk
from bots.conversations.pending import forget as forget_pending
from bots.conversations.states import Intake, Pending
from bots.replies import Reply, say
from language.acts import Act, acts_of
from language.knowledge import looks_like_question
from language.routing.problem import objects_of
from language.text import normalise
from tickets.codes import parse_ticket_number
from tickets.errors import PetitionClosed
from tickets.inbox.citizens import Citizen
from tickets.lifecycle import Status
from tickets.petitions import OPEN, SCENE_PREFIX, Petition

PENDING = Pending.COSIGN  # the question asked after a scan
SIGNED_HERE = Pending.COSIGNED  # the petition last signed in chat
PENDING_TTL = timedelta(hours=24)
ENDED = frozenset({Status.CLOSED, Status.REJECTED, Status.MERGED, Status.WITHDRAWN})
LOOK_BACK = 20  # tickets searched for the latest one still being handled

_ANSWERS = {"1": True, "2": False}  # sign, and whether to hear of progress
_DECLINE = frozenset({"0", "取消", "不签", "不签名"})
_CARD = frozenset({"二维码", "联名二维码", "联名码"})
_CLOSE = frozenset({"结束联名", "停止联名"})
_WITHDRAW = ("撤销联名", "撤回联名", "撤销签名")
_START = ("发起联名", "联名")


def command(text: str, citizen: Citizen, desk: Desk) -> list[Reply] | None:
    """Replies if `text` is a petition command, else None (the message is handled as usual)."""
    word = normalise(text)
    if word in _CARD:
        return _card(citizen, desk)
    if word in _CLOSE:
        return _close(citizen, desk)
    number = _argument(word, _WITHDRAW)
    if number is not None:
        return _withdraw(citizen, desk, number)
    number = _argument(word, _START)
    if number is not None:
        return _start(citizen, desk, number)
    return None


def scanned(event_key: str, citizen: Citizen, desk: Desk, *, greet: bool = False) -> list[Reply] | None:
    """Replies to a parametric QR code of a petition, or None when the scene is not a petition's."""
    scene = event_key.removeprefix("qrscene_")  # a follow's key arrives stripped; be safe either way
    if not scene.startswith(SCENE_PREFIX):
        return None
    replies = [say("greeting")] if greet else []
    _forget(citizen)
    petition = desk.petition_by_scene(scene)
    if petition is not None:
        _drop_words_about(citizen, desk, petition)
    if petition is None:
        return [*replies, say("petition_unknown")]
    state = petition.state_at(desk.now)
    if state != OPEN:
        return [*replies, say("petition_over", petition=petition, status=state, doing="sign")]
    if desk.has_signed(citizen, petition.id):
        return [*replies, say("petition_already_signed", petition=petition, count=petition.signature_count)]
    citizen.dialog_data = {**citizen.dialog_data, PENDING: {"petition_id": petition.id,
                                                            "asked_at": desk.now.isoformat()}}
    return [say("petition_scan", petition=petition)]  # it greets on its own


def answer(text: str, citizen: Citizen, desk: Desk) -> list[Reply] | None:
    """Replies if `text` answers the co-sign question; any other content drops the question (None).

    In words as people say them (同意, 算我一个, 我也签; 不签, 算了) or the digits of the question
    (1 sign and hear of progress, 2 sign without notices, 0 no); "will others see my name?" is answered
    and the question stays open.
    """
    pending: dict[str, Any] | None = citizen.dialog_data.get(PENDING)
    if not pending:
        return None
    asked = pending.get("asked_at")
    if asked and desk.now - datetime.fromisoformat(str(asked)) > PENDING_TTL:
        _forget(citizen)
        return None  # asked a day ago or more: a "1" now is about something else
    acts = acts_of(text)
    word = normalise(text)
    if Act.PRIVACY in acts:
        return [say("cosign_privacy")]
    if word in _DECLINE or Act.DECLINE in acts or (acts.short and (Act.NO in acts or Act.CANCEL in acts)):
        _forget(citizen)
        return [say("cosign_declined")]
    if word in _ANSWERS:
        _forget(citizen)
        return _sign(citizen, desk, int(pending["petition_id"]), consent=_ANSWERS[word])
    if Act.SIGN in acts or Act.SIGN in acts.lead or (Act.YES in acts.lead and acts.bare):
        _forget(citizen)  # 那中，签吧; 俺也同意，俺家就住这楼
        return _sign(citizen, desk, int(pending["petition_id"]), consent=True)
    if looks_like_question(text) and not objects_of(text):
        return [say("cosign_what", petition=desk.petition(int(pending["petition_id"])))]  # 这是干啥的
    _forget(citizen)
    return None


def _drop_words_about(citizen: Citizen, desk: Desk, petition: Petition) -> None:
    """What the citizen wrote just before scanning (邻居让我扫这个码, 楼下那个事我也遇到了) was about the petition,
    not a request of their own: a draft without a place that names no other problem is set aside."""
    draft = drafting.draft_of(citizen)
    if not draft.description or draft.has_place or citizen.dialog_state == Intake.IDLE:
        return
    said = set(objects_of(draft.description))
    if said and not said & set(objects_of(petition.title)):
        return  # another problem: kept, and the citizen reminded of it later
    drafting.store(citizen, desk, Intake.IDLE, None)


def _argument(word: str, prefixes: tuple[str, ...]) -> str | None:
    """"" for the bare command, the ticket number after it, or None when `word` is not this command."""
    for prefix in prefixes:
        if word == prefix:
            return ""
        if word.startswith(prefix):
            number = parse_ticket_number(word[len(prefix):].strip(" :：#"))
            if number:
                return number
    return None


def _forget(citizen: Citizen) -> None:
    forget_pending(citizen, PENDING)


def _sign(citizen: Citizen, desk: Desk, petition_id: int, *, consent: bool) -> list[Reply]:
    petition = desk.petition(petition_id)
    if petition is None:
        return [say("petition_unknown")]
    try:
        outcome = desk.cosign(citizen, petition, consent=consent)
    except PetitionClosed as exc:
        return [say("petition_over", petition=petition, status=exc.status, doing="sign")]
    if not outcome.signed:
        return [say("petition_already_signed", petition=petition, count=outcome.signature_count)]
    citizen.dialog_data = {**citizen.dialog_data, SIGNED_HERE: petition.id}
    return [say("cosigned", petition=petition, count=outcome.signature_count, consent=consent)]


def _start(citizen: Citizen, desk: Desk, number: str) -> list[Reply]:
    if number:
        ticket = desk.find_for(citizen.id, number)
        if ticket is not None and ticket.status in ENDED:
            ticket = None
    else:
        ticket = next((t for t in desk.recent_tickets(citizen.id, limit=LOOK_BACK) if t.status not in ENDED), None)
    if ticket is None:
        return [say("petition_no_ticket", number=number)]
    petition, created = desk.start_petition(citizen, ticket)
    state = petition.state_at(desk.now)
    if state != OPEN:
        return [say("petition_over", petition=petition, status=state, doing="start")]
    return _with_card(citizen, desk, petition, "petition_started", created=created)


def _card(citizen: Citizen, desk: Desk) -> list[Reply]:
    petition = desk.open_petition_of(citizen.id)
    if petition is None:
        return [say("petition_none")]
    return _with_card(citizen, desk, petition, "petition_card")


def _with_card(citizen: Citizen, desk: Desk, petition: Petition, template: str, **context: Any) -> list[Reply]:
    link = desk.cosign_link(petition)
    desk.send_card(petition, citizen.id)
    return [say(template, petition=petition, link=link, card_url=f"{link}/card.png", **context)]


def _close(citizen: Citizen, desk: Desk) -> list[Reply]:
    petition = desk.open_petition_of(citizen.id)
    if petition is None:
        return [say("petition_none")]
    return [say("petition_closed", petition=desk.close_petition(petition.id))]


def _withdraw(citizen: Citizen, desk: Desk, number: str) -> list[Reply]:
    petition = _signed_one(citizen, desk, number)
    if petition is None:
        return [say("petition_nothing_to_withdraw", number=number)]
    if petition.representative_id == citizen.id:
        return [say("petition_rep_withdraw")]
    try:
        desk.withdraw(citizen, petition.id)
    except PetitionClosed as exc:
        return [say("petition_over", petition=petition, status=exc.status, doing="withdraw")]
    return [say("petition_withdrawn", petition=desk.petition(petition.id) or petition)]


def _signed_one(citizen: Citizen, desk: Desk, number: str) -> Petition | None:
    """The petition named by number, or else the one last signed in chat, if the citizen's signature stands."""
    if number:
        found = desk.petition_by_number(number)
        return found if found is not None and desk.has_signed(citizen, found.id) else None
    last = citizen.dialog_data.get(SIGNED_HERE)
    if last is None:
        return None
    # Only the latest: a second 撤销联名 must not reach back to an older petition unasked.
    petition = desk.petition(int(last))
    return petition if petition is not None and desk.has_signed(citizen, petition.id) else None
