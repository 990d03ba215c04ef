"""A request filed in one go from the Alipay mini-program: the same draft, rules and ticket as the chat.

The mini-program sends in one form what a WeChat citizen says over several messages. It becomes the
same `Draft` (bots/conversations/draft.py), is held to the same rules as the chat's submit step (a description and a
place, the same length limits, at most `MAX_MEDIA` photos) and is opened by the same `Desk.open_ticket`.

    GatewayError
    └── SubmissionRefused       `missing` names what is wrong: description / place / too_long / too_many_photos
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bots.conversations.desk import Desk
from bots.conversations.draft import MAX_ADDRESS, MAX_MEDIA, Draft
from tickets import attachments as stored_media
from tickets.errors import GatewayError
from tickets.inbox.citizens import Citizen
from tickets.inbox.message import Location
from tickets.masking import mask_kept
from tickets.repository import Ticket


class SubmissionRefused(GatewayError):
    """A submission the intake rules refuse; nothing was written."""

    def __init__(self, missing: str) -> None:
        super().__init__(f"submission refused: {missing}")
        self.missing = missing


@dataclass(frozen=True, slots=True)
class Submission:
    """What the mini-program's form carries (photos already checked and stored)."""

    description: str
    address: str = ""
    location: Location | None = None
    photo_keys: tuple[str, ...] = ()


def draft_of(submission: Submission) -> Draft:
    """The draft the chat would have built from the same content; raises SubmissionRefused."""
    draft = Draft()
    # ID and bank card numbers masked before they are kept, as the chat keeps a citizen's words.
    if submission.description.strip() and not draft.add_text(mask_kept(submission.description)):
        raise SubmissionRefused("too_long")
    address = submission.address.strip()
    if len(address) > MAX_ADDRESS:
        raise SubmissionRefused("too_long")
    draft.address = mask_kept(address)
    if submission.location is not None:
        loc = submission.location
        draft.location = {"latitude": loc.latitude, "longitude": loc.longitude, "label": loc.label.strip()}
    check_photo_count(submission.photo_keys)
    for key in submission.photo_keys:
        draft.add_media(draft.photos, {"media_id": stored_media.media_id(key), "url": ""})
    if not draft.description:
        raise SubmissionRefused("description")
    if not draft.has_place:
        raise SubmissionRefused("place")
    return draft


def check_photo_count(photos: Sequence[object]) -> None:
    """The chat keeps at most `MAX_MEDIA` photos per request; so does the form."""
    if len(photos) > MAX_MEDIA:
        raise SubmissionRefused("too_many_photos")


def submit(desk: Desk, citizen: Citizen, submission: Submission, *, zone: str = "") -> Ticket:
    """Open the ticket, inside the caller's transaction; raises SubmissionRefused before writing anything."""
    return desk.open_ticket(citizen, draft_of(submission), zone=zone, route_later=True)  # its page names no routing
