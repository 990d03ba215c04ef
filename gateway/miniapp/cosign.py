"""`/api/v1/miniapp/cosign`: co-sign a joint petition (联名) from its scanned QR code, as a signed-in Alipay user."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request

from bots.texts import render
from gateway.deps import State
from gateway.miniapp.models import CosignIn, CosignOut
from gateway.miniapp.session import Session, citizen_for, refusal
from gateway.security import Fingerprints
from qr.links import LinkError, LinkExpired, signer_for
from tickets import petitions, warnings
from tickets.clock import utcnow
from tickets.errors import NotFound, PetitionClosed
from tickets.inbox.message import Channel
from tickets.masking import mask_identifier
from tickets.petitions import Signer, SurgeRule

router = APIRouter()
log = logging.getLogger(__name__)
LINK_PATH = "/j/"


def token_of(scanned: str) -> str:
    """The token in a scanned code: the last `/j/{token}` path segment of a URL, or the text itself."""
    text = scanned.strip()
    if LINK_PATH in text:
        text = text.rsplit(LINK_PATH, 1)[1]
        for end in "?#/":
            text = text.split(end, 1)[0]
    return text


@router.post("/cosign", responses={400: {"description": "Not a co-sign code, or tampered"},
                                   404: {"description": "No such petition"}, 409: {"description": "Petition over"},
                                   410: {"description": "The code has expired"}})
def cosign(body: CosignIn, request: Request, session: Session, state: State) -> CosignOut:
    """Sign the petition a scanned code names, once per Alipay user (a second call changes nothing)."""
    settings = state.settings
    try:
        petition_id = signer_for(settings.secret_key, settings.link_key_ids).verify(token_of(body.link))
    except LinkExpired:
        raise refusal(410, "link_expired") from None
    except LinkError as exc:
        log.info("miniapp co-sign link refused: %s", exc.reason)
        raise refusal(400, "link_invalid") from None
    now = utcnow()
    host = request.client.host if request.client else ""
    try:
        with state.engine.connect() as conn, conn.begin():
            citizen = citizen_for(conn, state, session)
            petition = petitions.get(conn, petition_id)
            identity = petitions.identity_of(petitions.identity_key(settings.secret_key), Channel.ALIPAY.value,
                                             citizen.key.external_id)
            signer = Signer(identity, Channel.ALIPAY.value, citizen.id if body.consent else None, name=body.name,
                            consent=body.consent, source_block=Fingerprints(settings.secret_key).block(host))
            outcome = petitions.sign(conn, petition_id, signer, now=now,
                                     surge=SurgeRule(settings.surge_block_per_hour, settings.surge_device_per_hour),
                                     thresholds=warnings.thresholds_for(settings.warning_thresholds, petition.zone))
    except NotFound:
        raise refusal(404, "not_found") from None
    except PetitionClosed:
        raise refusal(409, "petition_closed") from None
    log.info("miniapp co-sign of petition %d by %s: %s", petition_id, mask_identifier(citizen.key.external_id),
             "signed" if outcome.signed else "had signed")
    return CosignOut(petition_id=petition.id, number=petition.number, title=petition.title, signed=outcome.signed,
                     signature_count=outcome.signature_count,
                     message=render("miniapp_cosigned", signed=outcome.signed, consent=body.consent,
                                    title=petition.title, count=outcome.signature_count))
