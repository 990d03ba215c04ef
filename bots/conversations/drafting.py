"""The draft: what the citizen says about a problem, from one message or several, until it is filed.

- The place is taken from the description when it is there (language/places), and then "where?" is not
  asked; asked, a reply that is not a place is not stored as one: it is kept as description and the bot
  asks once more (pointing at the location pin), then accepts "not sure" with what the citizen could say.
- Everything the citizen said about the problem stays in the description; ID and bank card numbers are
  masked before they are kept (a phone number is kept: the unit may call back), and no reply shows them.
- At most one question per reply. An urgent draft is filed as soon as its place is known.
- Fragments sent in a burst (BURST_S apart) are one draft: the first gets its reply, the others none, and
  one reply follows the burst by customer-service message (workers/notify.py `draft_prompt`).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from bots.conversations import followup, similar
from bots.conversations.desk import Desk
from bots.conversations.draft import Draft
from bots.conversations.pending import take
from bots.conversations.states import Intake, Pending
from bots.replies import Reply, say
from language.acts import Act, Acts, acts_of
from language.places import is_place_answer
from language.routing.problem import objects_of
from language.routing.vague import is_vague
from tickets.inbox.citizens import Citizen
from tickets.inbox.message import Channel, InboundMessage, Kind
from tickets.masking import mask_kept, mask_text

_ACKS = frozenset({Act.YES, Act.THANKS, Act.GREETING, Act.NO})
_WEAK = frozenset({"district", "road", "building"})  # kinds of mention that do not pin a place down
_STRETCH = re.compile(r"[东西南北中]段|[东西南北]侧|路口|附近|一带|那一段|这一段")
_GATE = re.compile(r"[东西南北]门|[东西南北]口|[东西南北]侧|[东西南北]边")
BURST_S = 8.0  # fragments closer than this are one burst: one reply after the last
MAX_PLACE_ASKS = 2


EMERGENCY_TTL = timedelta(hours=2)


def after_emergency(citizen: Citizen, desk: Desk) -> Draft | None:
    """The words of an emergency told where to call a moment ago, as the start of a draft (then forgotten):
    the place or detail the citizen sends next files it, urgent, when the city has a duty too."""
    pending = take(citizen, Pending.EMERGENCY, desk.now, EMERGENCY_TTL, stamp="at")
    if pending is None:
        return None
    return Draft(description=str(pending.get("text", "")), urgent=True)


def draft_of(citizen: Citizen) -> Draft:
    """The citizen's draft (empty when there is none)."""
    return Draft.from_data(citizen.dialog_data)


def store(citizen: Citizen, desk: Desk, state: Intake, draft: Draft | None) -> None:
    """Keep the draft and the intake state on the citizen (None: no draft any more)."""
    citizen.dialog_state = state.value
    others = {k: v for k, v in citizen.dialog_data.items() if k != "draft"}
    citizen.dialog_data = others | (draft.to_data() if draft is not None else {})
    citizen.dialog_updated_at = desk.now


def add_said(draft: Draft, text: str, desk: Desk) -> None:
    """Add what the citizen said to the draft outside the usual path (a danger read first), with the voice
    recording it was recognised from."""
    draft.add_text(kept(text))
    if desk.message is not None and desk.message.kind is Kind.VOICE:
        _media(desk.message, draft)


def kept(text: str) -> str:
    """A citizen's words as the draft keeps them: ID and bank card numbers masked."""
    return mask_kept(text.strip())


def find_place(draft: Draft, desk: Desk) -> None:
    """Fill the draft's place from its description when it names one (then "where?" is not asked)."""
    if draft.has_place or not draft.description:
        return
    place = desk.place_of(draft.description)
    kinds = {m.kind for m in place.mentions}
    # A compound, a junction, a landmark, a number ... is a place; a road is one with its district or a
    # stretch of it (二七区兴华南街, 东明路北段); a district alone is not.
    if place.address and (kinds - {"district", "road"} or ("road" in kinds and (
            "district" in kinds or _STRETCH.search(place.address)))):
        draft.address = place.address[:200]


def content(msg: InboundMessage, citizen: Citizen, desk: Desk) -> list[Reply]:
    """Take a message into the draft and say what comes next."""
    draft = draft_of(citizen)
    before = Intake(citizen.dialog_state)
    text = msg.text.strip() if msg.kind in (Kind.TEXT, Kind.VOICE) else ""
    acts = acts_of(text) if text else None
    if before is Intake.IDLE or draft.is_empty:
        from_emergency = after_emergency(citizen, desk)
        if from_emergency is not None and acts is not None and acts.found & {Act.CANCEL, Act.NO}:
            return [say("noted")]  # 已经给燃气公司打过电话了，恁这边先不用报了
        if from_emergency is not None:
            draft = from_emergency
        elif acts is not None and not _about_a_matter(text, acts):
            return [say("welcome" if acts.found & {Act.THANKS, Act.SATISFIED} else "noted")]
    replies: list[Reply] = []
    if text and acts is not None and acts.short and acts.found and acts.found <= _ACKS:
        text = ""  # 好的, 嗯, 谢谢: an acknowledgement, not a word about the problem
    if text and acts is not None:
        if Act.CONFIDENTIAL in acts:
            draft.confidential = True
        if before is Intake.LOCATING and not draft.has_place:
            replies += _place_answer(text, acts, draft, desk)
        elif before is Intake.CONFIRMING and _corrects_place(text, acts, draft, desk):
            pass
        else:
            fits = draft.add_text(kept(text))
            if not fits:
                replies.append(say("too_long"))
    _media(msg, draft)
    find_place(draft, desk)
    burst = _in_burst(msg, citizen, desk, before)
    following = advance(citizen, desk, draft, before, got=_got(msg), replies=replies)
    if burst:
        desk.prompt_later(citizen, BURST_S)
        return []
    return following


_SOCIAL = frozenset({Act.YES, Act.NO, Act.THANKS, Act.CLOSING, Act.CANCEL, Act.SATISFIED, Act.GREETING,
                     Act.NOT_SURE, Act.URGE, Act.WHEN})


def _about_a_matter(text: str, acts: Acts) -> bool:
    """Whether a message that would start a draft says something about a matter: not only thanks, okay,
    never mind or goodbye (`好吧 那我再等等`, `先不报了 我去跟街道办说`, `谢谢你们，上回办得挺好`)."""
    if objects_of(text):
        return True
    if acts.bare and acts.found <= _SOCIAL:
        return False
    return not (acts.lead & {Act.CANCEL, Act.CLOSING, Act.THANKS, Act.SATISFIED})


def _corrects_place(text: str, acts: Acts, draft: Draft, desk: Desk) -> bool:
    """A place said after the summary: it replaces the place when the citizen corrects it (不对，是南门 /
    说错了 是中原路和桐柏路口), and completes it when the place was only a building or a gate. False when
    the message is no place (then it is more about the problem)."""
    gates = _GATE.findall(text)
    if acts.found & {Act.CORRECTION, Act.NO} and gates and draft.address and not is_place_answer(
            _GATE.sub("", text), desk.gazetteer):
        draft.address = _GATE.sub(gates[0], draft.address, count=1) if _GATE.search(draft.address) \
            else f"{draft.address}{gates[0]}"  # 不对，是南门
        return True
    if not is_place_answer(text, desk.gazetteer):
        return False
    place = desk.place_of(text)
    if not place.address:
        return False
    if acts.found & {Act.CORRECTION, Act.NO}:
        draft.address = place.address[:200]
        return True
    current = {m.kind for m in desk.place_of(draft.address or "").mentions}
    said = {m.kind for m in place.mentions}
    if current <= {"building", "district"}:
        draft.address = f"{place.address}{draft.address}"[:200]  # 12号楼下面 + 枫杨小区
        return True
    if said - _WEAK and not current - _WEAK:
        draft.address = place.address[:200]  # 幸福路口, then 幸福路与文化路交叉口
        return True
    return False


def _place_answer(text: str, acts: Any, draft: Draft, desk: Desk) -> list[Reply]:
    """The reply to "where is it?": a place, "not sure", a question, or more about the problem."""
    if Act.PRIVACY in acts:
        return [say("privacy")]
    if is_place_answer(text, desk.gazetteer) and not _only_personal(text):
        place = desk.place_of(text)
        draft.address = (place.address or text)[:200]
        return []
    if Act.NOT_SURE in acts:
        if draft.place_asked >= MAX_PLACE_ASKS:
            draft.place_unknown = True
        draft.place_asked += 1
        return []
    if _only_personal(text):
        return [say("no_personal_data")]
    draft.add_text(kept(text))  # more about the problem: kept, and the place asked once more
    if draft.place_asked >= MAX_PLACE_ASKS:
        draft.place_unknown = True
    return []


def _only_personal(text: str) -> bool:
    """A reply that is a phone or ID number and nothing else."""
    return mask_text(text) != text and len(mask_text(text).replace("*", "").strip()) <= 12


def _media(msg: InboundMessage, draft: Draft) -> None:
    if msg.kind is Kind.VOICE and msg.media:
        draft.add_media(draft.voices, {"media_id": msg.media.media_id, "format": msg.media.format,
                                       "recognition": msg.text})
    elif msg.kind is Kind.IMAGE and msg.media:
        draft.add_media(draft.photos, {"media_id": msg.media.media_id, "url": msg.media.url})
    elif msg.kind is Kind.VIDEO and msg.media:
        draft.add_media(draft.videos, {"media_id": msg.media.media_id})
    elif msg.kind is Kind.LOCATION and msg.location:
        loc = msg.location
        draft.location = {"latitude": loc.latitude, "longitude": loc.longitude, "label": loc.label}
    elif msg.kind is Kind.LINK and msg.link:
        draft.add_text(f"{msg.link.title} {msg.link.url}".strip())


def _got(msg: InboundMessage) -> str:
    if msg.kind is Kind.VOICE:
        return "voice" if msg.text.strip() else "voice_unrecognised"
    return {Kind.IMAGE: "photo", Kind.VIDEO: "video", Kind.LOCATION: "location", Kind.LINK: "link"}.get(
        msg.kind, "text")


def _in_burst(msg: InboundMessage, citizen: Citizen, desk: Desk, before: Intake) -> bool:
    """Whether this fragment follows another by less than BURST_S (by the platform's send times)."""
    if msg.channel is not Channel.WECHAT:
        return False  # the one reply after the burst goes by WeChat customer-service message
    last = citizen.dialog_data.get(Pending.BURST)
    citizen.dialog_data = {**citizen.dialog_data, Pending.BURST: {"at": msg.created_at.isoformat()}}
    if before is Intake.IDLE or not isinstance(last, dict):
        return False
    gap = msg.created_at - datetime.fromisoformat(str(last["at"]))
    return timedelta(0) <= gap < timedelta(seconds=BURST_S)


def advance(citizen: Citizen, desk: Desk, draft: Draft, before: Intake, *, got: str = "text",
            replies: list[Reply] | None = None) -> list[Reply]:
    """Store the draft in its next state and ask the one thing missing: what, where, or to confirm; an
    urgent draft with its place is filed at once."""
    replies = list(replies or [])
    if not draft.description or is_vague(draft.description):
        store(citizen, desk, Intake.DESCRIBING, draft)
        return [*replies, say("ask_description", got=got, vague=bool(draft.description))]
    if not draft.has_place:
        draft.place_asked += 1
        store(citizen, desk, Intake.LOCATING, draft)
        return [*replies, say("ask_location", again=draft.place_asked > 1)]
    if draft.urgent:
        return [*replies, *submit(citizen, desk, draft)]
    store(citizen, desk, Intake.CONFIRMING, draft)
    replies.append(say("confirm", draft=draft, note="added" if before is Intake.CONFIRMING else ""))
    offered = similar.offer(citizen, desk, draft, again=before is Intake.CONFIRMING)
    return replies + ([offered] if offered is not None else [])


_NOT_A_YES = frozenset({Act.NO, Act.CORRECTION, Act.CANCEL, Act.NOT_SURE, Act.PRIVACY, Act.CLOSING})


def confirms(text: str, acts: Acts, citizen: Citizen, desk: Desk) -> bool:
    """Whether a message in answer to the summary is a yes: it starts with one (对 / 中 / 嗯 / 确认) or urges
    (对 快来), names no other place and no other problem, and takes nothing back."""
    if not (Act.YES in acts.lead or (Act.YES in acts and acts.short) or Act.URGE in acts):
        return False
    if acts.found & _NOT_A_YES and not (Act.CLOSING in acts.found and Act.YES in acts.lead and acts.bare):
        return False
    if is_place_answer(text, desk.gazetteer) and len(acts.rest) > 4:
        return False  # 对，是在东门: a correction of the place
    known = set(objects_of(draft_of(citizen).description))
    return not (set(objects_of(text)) - known)


def answered(citizen: Citizen) -> None:
    """The citizen got a reply in the chat: the reply promised after a burst is not needed any more."""
    burst = citizen.dialog_data.get(Pending.BURST)
    if isinstance(burst, dict) and not burst.get("answered"):
        citizen.dialog_data = {**citizen.dialog_data, Pending.BURST: {**burst, "answered": True}}


def after_burst(citizen: Citizen, desk: Desk, burst: str) -> list[str] | None:
    """The texts of the one reply after the burst of fragments that ended at `burst` (an ISO time), or None
    when the chat answered since or a later fragment will. They are kept on the citizen until `burst_sent`,
    so a push that failed is retried with the same words."""
    mark = citizen.dialog_data.get(Pending.BURST)
    if not isinstance(mark, dict) or mark.get("at") != burst or mark.get("answered"):
        return None
    if "texts" not in mark:
        mark = {**mark, "texts": [r.text for r in prompt(citizen, desk) if r.text]}
        citizen.dialog_data = {**citizen.dialog_data, Pending.BURST: mark}
    return list(mark["texts"])


def burst_sent(citizen: Citizen, burst: str) -> None:
    """The reply after the burst ending at `burst` reached the citizen."""
    mark = citizen.dialog_data.get(Pending.BURST)
    if isinstance(mark, dict) and mark.get("at") == burst:
        citizen.dialog_data = {**citizen.dialog_data, Pending.BURST: {"at": burst, "answered": True}}


def prompt(citizen: Citizen, desk: Desk) -> list[Reply]:
    """What the draft waits for now (the one reply after a burst of fragments)."""
    draft = draft_of(citizen)
    if citizen.dialog_state == Intake.IDLE or draft.is_empty:
        return []
    return advance(citizen, desk, draft, Intake(citizen.dialog_state))


def submit(citizen: Citizen, desk: Desk, draft: Draft) -> list[Reply]:
    """File the draft as a ticket and clear it."""
    ticket = desk.open_ticket(citizen, draft, route_later=True)  # the answer names no routing (tickets/opening.py)
    store(citizen, desk, Intake.IDLE, None)
    desk.opened.append(ticket.id)
    followup.mark(citizen, desk, followup.OPENED, (ticket.id,))
    return [say("opened", ticket=ticket, tracking_url=desk.tracking_url(ticket), urgent=draft.urgent,
                confidential=draft.confidential)]
