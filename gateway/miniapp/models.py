"""The mini-program API's request and response bodies (documented at /docs)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import UploadFile
from pydantic import BaseModel, Field

from bots.conversations.draft import MAX_ADDRESS, MAX_DESCRIPTION, MAX_MEDIA
from gateway.deps import BodyId
from tickets.lifecycle import Status
from tickets.progress import Satisfaction


class SignInIn(BaseModel):
    """The code `my.getAuthCode` gave the mini-program (scopes auth_base or auth_user)."""

    auth_code: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")


class SessionOut(BaseModel):
    """A session: send `token` as `Authorization: Bearer <token>` until `expires_at`."""

    token: str
    expires_at: datetime
    user: str = Field(description="The citizen's Alipay id, masked")


class RequestForm(BaseModel):
    """A citizen's request, as multipart/form-data; the same rules as the chat's submit step.

    A description and a place (an address, or a location) are required. Photos are JPEG or PNG
    (the bytes decide, not the declared type), each at most UPLOAD_MAX_BYTES.
    """

    description: str = Field(default="", description=f"What is wrong, at most {MAX_DESCRIPTION} characters")
    address: str = Field(default="", description=f"Where, as typed, at most {MAX_ADDRESS} characters")
    latitude: float | None = Field(default=None, ge=-90, le=90, description="Where, from my.getLocation")
    longitude: float | None = Field(default=None, ge=-180, le=180)
    location_label: str = Field(default="", max_length=200, description="The place's name from my.chooseLocation")
    zone: str = Field(default="", max_length=32, description="A hot-topic zone (HOT_TOPIC_ZONES), or empty")
    request_id: str = Field(default="", max_length=64, pattern=r"^[A-Za-z0-9_-]*$",
                            description="The client's id of this submission: sent again, it opens nothing new")
    photos: list[UploadFile] = Field(default_factory=list, description=f"At most {MAX_MEDIA} photos")


class TicketBrief(BaseModel):
    """One of the citizen's own tickets."""

    id: int
    number: str
    status: Status
    status_label: str
    description: str
    place: str
    zone: str
    tracking_url: str
    can_rate: bool
    created_at: datetime
    updated_at: datetime


class SubmittedOut(BaseModel):
    """The ticket a request opened (or opened before, for a repeated `request_id`)."""

    ticket: TicketBrief
    photos: int
    message: str = Field(description="What to show the citizen")


class TicketList(BaseModel):
    """The citizen's tickets, newest first."""

    items: list[TicketBrief]
    total: int


class TimelineItem(BaseModel):
    """One change on a ticket's timeline, as the citizen sees it."""

    status: Status
    status_label: str
    note: str
    unit: str
    expected_at: datetime | None
    created_at: datetime


class TimelineOut(BaseModel):
    """A ticket with its timeline, oldest change first."""

    ticket: TicketBrief
    timeline: list[TimelineItem]


class EvaluationIn(BaseModel):
    """The citizen's rating of a resolved ticket."""

    satisfaction: Satisfaction
    solved: bool
    reason: str = Field(default="", max_length=1000, description="Why not, when unsatisfied or unsolved")


class EvaluationOut(BaseModel):
    """The ticket after the rating: closed, or reopened with the reason."""

    ticket: TicketBrief
    message: str


class ConsentIn(BaseModel):
    """What `my.requestSubscribeMessage` answered: each template id with accept or reject."""

    decisions: dict[str, Literal["accept", "reject"]] = Field(
        min_length=1, max_length=20, description="Template id -> accept / reject (the callback's dynamic keys)")


class ConsentOut(BaseModel):
    """How many decisions were recorded."""

    recorded: int


class CosignIn(BaseModel):
    """A scanned joint-petition QR code."""

    link: str = Field(min_length=1, max_length=512, description="The code's content: the …/j/{token} URL or the token")
    consent: bool = Field(default=False, description="Whether to hear of the petition's progress")
    name: str = Field(default="", max_length=32, description="Optional name, shown to officers masked")


class CosignOut(BaseModel):
    """The petition after signing."""

    petition_id: int
    number: str
    title: str
    signed: bool = Field(description="False: this citizen had signed already")
    signature_count: int
    message: str


class PetitionStartIn(BaseModel):
    """One's own ticket, to become a joint petition."""

    ticket_id: BodyId


class PetitionStartOut(BaseModel):
    """The petition and where neighbours sign it."""

    petition_id: int
    number: str
    title: str
    status: str
    signature_count: int
    expires_at: datetime
    link: str = Field(description="The co-sign link: draw it as a QR code")
    card_url: str = Field(description="The printable card (PNG) of the link")
    message: str
