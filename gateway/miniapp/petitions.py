"""`/api/v1/miniapp/petitions`: a signed-in Alipay citizen turns their own ticket into a joint petition (联名).

The same `tickets.petitions.start` as the chat's 联名 command and `POST /api/v1/petitions`: the citizen is
the representative and first signer; the answer carries the co-sign link for the mini-program to draw as
a QR code, and the printable card's address (`/j/{token}/card.png`).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from bots.texts import render
from gateway.deps import State
from gateway.miniapp.models import PetitionStartIn, PetitionStartOut
from gateway.miniapp.session import Session, citizen_for, refusal
from qr.links import signer_for
from tickets import petitions, repository
from tickets.clock import utcnow
from tickets.errors import NotFound
from tickets.inbox.message import Channel
from tickets.lifecycle import Status
from tickets.masking import mask_identifier
from tickets.petitions import Signer

router = APIRouter()
log = logging.getLogger(__name__)
ENDED = frozenset({Status.CLOSED, Status.REJECTED, Status.MERGED, Status.WITHDRAWN})


@router.post("/petitions", status_code=201, response_model=PetitionStartOut,
             responses={200: {"description": "The ticket already is a petition; it is returned unchanged"},
                        404: {"description": "No such ticket of this citizen"},
                        409: {"description": "The ticket is closed, rejected or merged"}})
def start_petition(body: PetitionStartIn, session: Session, state: State) -> JSONResponse:
    """Start a joint petition from one's own ticket; asking again returns the same petition."""
    settings = state.settings
    now = utcnow()
    with state.engine.connect() as conn, conn.begin():
        citizen = citizen_for(conn, state, session)
        try:
            ticket = repository.get_ticket(conn, body.ticket_id)
        except NotFound:
            raise refusal(404, "not_found") from None
        if ticket.citizen_id != citizen.id:
            raise refusal(404, "not_found")
        if ticket.status in ENDED:
            raise refusal(409, "petition_ticket_ended")
        identity = petitions.identity_of(petitions.identity_key(settings.secret_key), Channel.ALIPAY.value,
                                         citizen.key.external_id)
        petition, created = petitions.start(conn, ticket.id, now=now, days=settings.petition_days,
                                            representative=Signer(identity, Channel.ALIPAY.value, citizen.id,
                                                                  consent=True))
    link = signer_for(settings.secret_key, settings.link_key_ids).url(settings.public_base_url, petition.id,
                                                                      petition.expires_at)
    log.info("miniapp petition %d %s by %s", petition.id, "started" if created else "asked again",
             mask_identifier(citizen.key.external_id))
    out = PetitionStartOut(petition_id=petition.id, number=petition.number, title=petition.title,
                           status=petition.state_at(now), signature_count=petition.signature_count,
                           expires_at=petition.expires_at, link=link, card_url=f"{link}/card.png",
                           message=render("miniapp_petition", created=created, title=petition.title))
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if created else 200)
