"""`POST /api/v1/miniapp/requests`: a citizen's request with photos, as one multipart form.

Order: the body's declared size, the chat's rules on the text (bots/conversations/miniapp.py), the
citizen's limit of requests with photos (UPLOAD_CITIZEN_LIMITS; 429), a repeated `request_id`, each
photo's size and type, then the photos are stored and the ticket opened in one transaction. A refusal
at any step stores nothing; photos of a ticket that was not committed are removed again. The photo
checks and the transaction run in the thread pool: decoding a photo and flushing it to disk would
otherwise hold up every other request on the event loop. Decoding is bounded per process
(gateway/uploads.py); a photo that waits too long for its turn is answered 503 `busy`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import IntegrityError

from bots.conversations import miniapp
from bots.conversations.desk import Desk
from bots.conversations.draft import MAX_MEDIA
from bots.conversations.miniapp import Submission, SubmissionRefused
from bots.texts import render
from gateway.deps import State
from gateway.limits import Hit, Limiter, build_limiter
from gateway.miniapp.models import RequestForm, SubmittedOut
from gateway.miniapp.session import MiniappSession, Session, citizen_for, refusal
from gateway.miniapp.tickets import brief
from gateway.security import Fingerprints
from gateway.state import AppState
from gateway.uploads import LocalFolderStore, PhotoRefused, check_photo
from tickets import attachments as stored_media
from tickets import repository, zones
from tickets.clock import utcnow
from tickets.errors import RateLimited
from tickets.inbox import turns as inbox
from tickets.inbox.log import earlier_ticket
from tickets.inbox.message import Channel, InboundMessage, Kind, Location
from tickets.masking import mask_identifier
from tickets.settings import parse_limits
from tickets.storage.db import reader

log = logging.getLogger(__name__)
FORM_OVERHEAD = 64 * 1024  # the text fields and multipart framing around the photos


class UploadCapRoute(APIRoute):
    """Refuses a body over the upload cap, or of no declared length, before the form is read."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def capped(request: Request) -> Response:
            settings = request.app.state.gateway.settings
            declared = request.headers.get("content-length", "")
            refused = ((411, "length_required") if not declared.isdigit()
                       else (413, "too_large") if int(declared) > settings.upload_max_bytes * MAX_MEDIA + FORM_OVERHEAD
                       else None)
            if refused is not None:
                status, code = refused
                return JSONResponse({"detail": {"code": code, "message": render("miniapp_refused", code=code)}},
                                    status_code=status)
            return await handler(request)

        return capped


router = APIRouter(route_class=UploadCapRoute)
BUSY_RETRY_SECONDS = 10


def _limiter(request: Request, state: AppState) -> Limiter:
    """The application's limiter of uploads, built on first use (closed with the app, gateway/app.py)."""
    limiter: Limiter | None = getattr(request.app.state, "upload_limiter", None)
    if limiter is None:
        limiter = request.app.state.upload_limiter = build_limiter(state.settings.redis_url)
    return limiter


def _take_upload(request: Request, state: AppState, citizen_id: int) -> None:
    """Count a request with photos against the citizen's limit; raises RateLimited when over it."""
    settings = state.settings
    key = Fingerprints(settings.secret_key).key("upload-citizen", str(citizen_id))
    windows = tuple(parse_limits(settings.upload_citizen_limits))
    wait = _limiter(request, state).take([Hit("upload-citizen", key, windows)])
    if wait:
        raise RateLimited("upload-citizen", wait)


@router.post("/requests", status_code=201, response_model=SubmittedOut,
             responses={200: {"description": "The same request_id was filed before; nothing new was opened"},
                        411: {"description": "No Content-Length"},
                        413: {"description": "A photo or the body is too large"},
                        415: {"description": "A photo is not a JPEG or PNG"},
                        422: {"description": "No description, no place, too long, too many photos, unknown zone"},
                        429: {"description": "Too many requests with photos from this citizen; see Retry-After"},
                        503: {"description": "Too many photos being checked at once (busy); see Retry-After"}})
async def submit_request(form: Annotated[RequestForm, Form(media_type="multipart/form-data")], session: Session,
                         state: State, request: Request) -> JSONResponse:
    """File a request: it becomes a ticket through the chat's own draft and rules (channel `alipay`)."""
    location = None
    if (form.latitude is None) != (form.longitude is None):
        raise refusal(422, "place")
    if form.latitude is not None and form.longitude is not None:
        location = Location(form.latitude, form.longitude, form.location_label)
    zone = form.zone.strip()
    if zone and zone not in state.settings.hot_topic_zones:
        raise refusal(422, "zone_unknown")
    try:
        miniapp.check_photo_count(form.photos)
        miniapp.draft_of(Submission(form.description, form.address, location))  # before any photo is read
    except SubmissionRefused as exc:
        raise refusal(422, exc.missing) from None
    if form.photos:
        _take_upload(request, state, session.citizen_id)
    uploads = [await upload.read(state.settings.upload_max_bytes + 1) for upload in form.photos]
    submission = Submission(form.description, form.address, location)
    dedupe = f"r:{session.citizen_id}:{form.request_id}" if form.request_id else ""
    ticket_id, created = await run_in_threadpool(_file, state, session, submission, uploads, zone, dedupe)
    return await run_in_threadpool(_answer, state, ticket_id, created)


def _file(state: AppState, session: MiniappSession, submission: Submission, uploads: list[bytes], zone: str,
          dedupe: str) -> tuple[int, bool]:
    """Check and store the photos, open the ticket; (ticket id, whether this call opened it)."""
    earlier = _earlier(state, dedupe)
    if earlier is not None:
        return earlier, False
    photos = []
    for data in uploads:
        try:
            photos.append(check_photo(data, state.settings.upload_max_bytes))
        except PhotoRefused as exc:
            log.info("miniapp photo refused: %s", exc)
            if exc.reason == "busy":
                raise refusal(503, "busy", **{"Retry-After": str(BUSY_RETRY_SECONDS)}) from None
            raise refusal(413 if exc.reason == "too_large" else 415, exc.reason) from None
    store = LocalFolderStore(state.settings.uploads_path)
    now = utcnow()
    keys = tuple(store.put(photo.data, photo.extension, now) for photo in photos)
    try:
        ticket_id = _open(state, session, Submission(submission.description, submission.address,
                                                     submission.location, keys), zone, dedupe)
    except BaseException:
        for key in keys:  # the ticket was not committed: its photos must not linger
            store.delete(key)
        raise
    if ticket_id is not None:
        return ticket_id, True
    for key in keys:  # a copy of the same request_id was committed first: answer with its ticket
        store.delete(key)
    earlier = _earlier(state, dedupe)
    if earlier is None:
        raise refusal(503, "unavailable")
    return earlier, False


def _open(state: AppState, session: MiniappSession, submission: Submission, zone: str, dedupe: str) -> int | None:
    """Open the ticket in one transaction; None when its request_id was taken meanwhile."""
    settings = state.settings
    try:
        with state.engine.connect() as conn, conn.begin():
            now = utcnow()
            citizen = citizen_for(conn, state, session)
            ticket = miniapp.submit(Desk(conn, state.desk, now), citizen, submission, zone=zone)
            stored_media.publish_links(conn, ticket.id, settings.public_base_url)
            if dedupe:
                record = InboundMessage(Channel.ALIPAY, settings.alipay_app_id, citizen.key.external_id, Kind.TEXT,
                                        dedupe, now, text=submission.description, raw_type="miniapp:request",
                                        extra={"photos": len(submission.photo_keys), "zone": zone})
                inbox.record(conn, record, citizen.id, [], ticket.id, now)
    except IntegrityError:
        if dedupe:
            return None
        raise
    log.info("miniapp request from %s opened %s with %d photo(s)", mask_identifier(citizen.key.external_id),
             ticket.number, len(submission.photo_keys))
    return ticket.id


def _earlier(state: AppState, dedupe: str) -> int | None:
    """The ticket a submission with this request id opened before, if any."""
    if not dedupe:
        return None
    with reader(state.engine).connect() as conn:
        _, ticket_id = earlier_ticket(conn, Channel.ALIPAY.value, state.settings.alipay_app_id, dedupe)
    return ticket_id


def _answer(state: AppState, ticket_id: int, created: bool) -> JSONResponse:
    with reader(state.engine).connect() as conn:
        ticket = repository.get_ticket(conn, ticket_id)
        zone = zones.zones_of(conn, [ticket_id]).get(ticket_id, "")
        photos = sum(1 for a in repository.ticket_attachments(conn, ticket_id)
                     if a.media_id.startswith(stored_media.PREFIX))
    out = SubmittedOut(ticket=brief(state, ticket, zone), photos=photos,
                       message=render("miniapp_opened", ticket=ticket))
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if created else 200)
