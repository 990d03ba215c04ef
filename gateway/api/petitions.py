"""`/api/v1/petitions`: start a joint petition from a ticket, read it, its QR codes and signatures, close it."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from gateway.deps import BodyId, Caller, Id, Offset, State
from gateway.state import AppState
from qr import images
from qr.links import signer_for
from tickets import outbox, petitions, warnings
from tickets.access.apikeys import Role
from tickets.clock import utcnow
from tickets.errors import NotFound
from tickets.inbox.citizens import get_citizen_key
from tickets.masking import mask_name
from tickets.petitions import Petition, Signer
from tickets.storage.db import reader

router = APIRouter(prefix="/api/v1", tags=["petitions"])
# Channels whose citizens sign with the same identity in the chat and on the co-sign page.
SIGNING_CHANNELS = frozenset({"wechat", "alipay", "sms"})


class PetitionIn(BaseModel):
    """Turn a ticket into a joint petition, its citizen the representative."""

    ticket_id: BodyId
    title: str = Field(default="", max_length=64, description="Short title; default: the ticket's first words")
    zone: str = Field(default="", max_length=32, description="Hot-topic zone, for the warning thresholds")
    days: int | None = Field(default=None, ge=1, le=365, description="How long it takes signatures")


class PetitionOut(BaseModel):
    """A petition with its counts and where to sign it."""

    id: int
    ticket_id: int
    number: str
    title: str
    zone: str
    status: str
    signature_count: int
    flagged_count: int
    created_at: datetime
    expires_at: datetime
    closed_at: datetime | None
    closed_reason: str = Field(description="Why it stopped taking signatures: representative, officer, expired, "
                                           "ticket_closed, ticket_rejected or ticket_merged (it ended with its "
                                           "ticket); empty while open")
    link: str
    wechat_qr_expires_at: datetime | None


class PetitionPage(BaseModel):
    """One page of petitions."""

    items: list[PetitionOut]
    total: int


class SignatureOut(BaseModel):
    """A signature; the name is masked except for admins, and no identity is shown."""

    id: int
    channel: str
    name: str
    consent: bool
    status: str
    flagged: bool
    flag_reason: str
    created_at: datetime


class ReviewIn(BaseModel):
    """An officer's decision on a flagged signature."""

    accept: bool


def link_of(state: AppState, petition: Petition) -> str:
    """The signed co-sign link a petition's QR code carries."""
    signer = signer_for(state.settings.secret_key, state.settings.link_key_ids)
    return signer.url(state.settings.public_base_url, petition.id, petition.expires_at)


def _out(state: AppState, petition: Petition) -> PetitionOut:
    return PetitionOut(
        id=petition.id, ticket_id=petition.ticket_id, number=petition.number, title=petition.title,
        zone=petition.zone, status=petition.state_at(utcnow()), signature_count=petition.signature_count,
        flagged_count=petition.flagged_count, created_at=petition.created_at, expires_at=petition.expires_at,
        closed_at=petition.closed_at, closed_reason=petition.closed_reason, link=link_of(state, petition),
        wechat_qr_expires_at=petition.wechat_qr_expires_at,
    )


@router.post("/petitions", status_code=201, response_model=PetitionOut,
             responses={200: {"description": "The ticket already is a petition; it is returned unchanged"}})
def start_petition(body: PetitionIn, state: State, caller: Caller) -> JSONResponse:
    """Start a joint petition from a ticket; its citizen becomes the representative and first signer,
    and receives the QR card in the chat when they came through WeChat."""
    caller.require(Role.DISPATCHER)
    settings = state.settings
    now = utcnow()
    with state.engine.begin() as conn:
        ticket_citizen = petitions.ticket_citizen(conn, body.ticket_id)
        key = get_citizen_key(conn, ticket_citizen) if ticket_citizen is not None else None
        representative = None
        if key is not None and key.channel in SIGNING_CHANNELS:
            identity = petitions.identity_of(petitions.identity_key(settings.secret_key), key.channel,
                                             key.external_id)
            representative = Signer(identity, key.channel, ticket_citizen, consent=True)
        petition, created = petitions.start(conn, body.ticket_id, now=now, days=body.days or settings.petition_days,
                                            title=body.title, zone=body.zone, representative=representative)
        if created and key is not None and key.channel == "wechat":
            card = {"petition_id": petition.id, "citizen_id": ticket_citizen}
            outbox.put(conn, outbox.Topic.PETITION_CARD, card, now)
    return JSONResponse(_out(state, petition).model_dump(mode="json"), status_code=201 if created else 200)


@router.get("/petitions", response_model=PetitionPage)
def list_petitions(state: State, caller: Caller,
                   status: Annotated[Literal["open", "closed", "expired"] | None, Query()] = None,
                   limit: Annotated[int, Query(ge=1, le=200)] = 50,
                   offset: Offset = 0) -> PetitionPage:
    """Petitions, newest first."""
    caller.require(Role.READER)
    with reader(state.engine).connect() as conn:
        items, total = petitions.list_petitions(conn, status=status, limit=limit, offset=offset)
    return PetitionPage(items=[_out(state, p) for p in items], total=total)


@router.get("/petitions/{petition_id}", response_model=PetitionOut)
def get_petition(petition_id: Id, state: State, caller: Caller) -> PetitionOut:
    """One petition with its counts and link."""
    caller.require(Role.READER)
    with reader(state.engine).connect() as conn:
        return _out(state, petitions.get(conn, petition_id))


@lru_cache(maxsize=256)
def _image(content: str, kind: Literal["png", "svg"]) -> bytes:
    # Each image depends only on what it encodes: made once, then served from memory (~9 ms to make).
    return images.png(content) if kind == "png" else images.svg(content).encode()


def _qr_content(state: AppState, petition_id: int, kind: str) -> str:
    with reader(state.engine).connect() as conn:
        petition = petitions.get(conn, petition_id)
    if kind == "wechat":
        expires = petition.wechat_qr_expires_at
        if not petition.wechat_qr_url or expires is None or expires <= utcnow():
            raise NotFound(f"petition {petition_id} has no current WeChat QR code")
        return petition.wechat_qr_url
    return link_of(state, petition)


QrKind = Annotated[Literal["link", "wechat"], Query(
    description="link: the signed co-sign link (any scanner); wechat: the Official Account's parametric code")]


@router.get("/petitions/{petition_id}/qr.png", response_class=Response,
            responses={200: {"content": {"image/png": {}}}})
def qr_png(petition_id: Id, state: State, caller: Caller, kind: QrKind = "link") -> Response:
    """The petition's QR code as PNG."""
    caller.require(Role.READER)
    content = _qr_content(state, petition_id, kind)
    return Response(_image(content, "png"), media_type="image/png", headers={"Cache-Control": "private, max-age=300"})


@router.get("/petitions/{petition_id}/qr.svg", response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}}}})
def qr_svg(petition_id: Id, state: State, caller: Caller, kind: QrKind = "link") -> Response:
    """The petition's QR code as SVG (scales to any poster size)."""
    caller.require(Role.READER)
    content = _qr_content(state, petition_id, kind)
    return Response(_image(content, "svg"), media_type="image/svg+xml",
                    headers={"Cache-Control": "private, max-age=300"})


@router.post("/petitions/{petition_id}/close", response_model=PetitionOut)
def close_petition(petition_id: Id, state: State, caller: Caller) -> PetitionOut:
    """End the petition: no more signatures (closing twice changes nothing)."""
    caller.require(Role.DISPATCHER)
    with state.engine.begin() as conn:
        return _out(state, petitions.close(conn, petition_id, utcnow(), reason=petitions.BY_OFFICER))


@router.get("/petitions/{petition_id}/signatures", response_model=list[SignatureOut])
def list_signatures(petition_id: Id, state: State, caller: Caller,
                    flagged: Annotated[bool | None, Query(description="Only flagged (or only trusted) ones")] = None,
                    limit: Annotated[int, Query(ge=1, le=500)] = 100,
                    offset: Offset = 0) -> list[SignatureOut]:
    """A petition's signatures, oldest first."""
    caller.require(Role.READER)
    whole = caller.role is Role.ADMIN
    with reader(state.engine).connect() as conn:
        petitions.get(conn, petition_id)
        found = petitions.list_signatures(conn, petition_id, flagged=flagged, limit=limit, offset=offset)
    return [SignatureOut(id=s.id, channel=s.channel, name=s.name if whole else mask_name(s.name), consent=s.consent,
                         status=s.status, flagged=s.flagged, flag_reason=s.flag_reason, created_at=s.created_at)
            for s in found]


@router.post("/petitions/{petition_id}/signatures/{signature_id}/review", response_model=PetitionOut,
             responses={409: {"description": "The signature is not flagged (reviewed already)"}})
def review_signature(petition_id: Id, signature_id: Id, body: ReviewIn, state: State,
                     caller: Caller) -> PetitionOut | JSONResponse:
    """Count a flagged signature (accept) or set it aside (reject)."""
    caller.require(Role.DISPATCHER)
    with state.engine.begin() as conn:
        petition = petitions.get(conn, petition_id)
        thresholds = warnings.thresholds_for(state.settings.warning_thresholds, petition.zone)
        if not petitions.review(conn, petition_id, signature_id, accept=body.accept, now=utcnow(),
                                thresholds=thresholds):
            return JSONResponse({"detail": "signature is not flagged"}, status_code=409)
        return _out(state, petitions.get(conn, petition_id))
