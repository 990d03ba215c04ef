"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2): discovery, services, and service requests.

Each path ends in `.json` or `.xml`. Reading is public (requests carry no personal data); posting a
request needs an `api_key` form field holding one of our API keys. A posted request becomes a ticket
through the same path as a chat (Draft, Desk.open_ticket) on channel "open311"; the client's personal
fields (email, names, phone, device and account ids) are not kept.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from bots.conversations.desk import Desk
from bots.conversations.draft import MAX_ADDRESS, Draft
from bots.texts import render
from gateway.deps import State, read_capped
from gateway.open311 import catalogue as geo
from gateway.open311.responses import FORMATS, Open311Error, error, respond
from tickets.access.apikeys import authenticate
from tickets.clock import utcnow
from tickets.deadlines import policy as deadlines
from tickets.errors import AuthError
from tickets.inbox.citizens import CitizenKey, lock_citizen
from tickets.repository import NewAttachment
from tickets.storage.db import reader
from tickets.storage.schema import tickets

log = logging.getLogger(__name__)
router = APIRouter(prefix="/open311/v2", tags=["open311"])
CHANNEL = "open311"
SPEC = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-24T00:00:00+08:00"
DEFAULT_DAYS, MAX_RESULTS = 90, 1000


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise Open311Error(404, f"format {fmt[:10]!r} not supported: use .json or .xml")
    return fmt


@router.get("/discovery.{fmt}")
def discovery(fmt: str, state: State) -> Response:
    """Where the GeoReport v2 endpoint is and what it speaks."""
    try:
        base = state.settings.public_base_url
        body = {"changeset": CHANGESET, "contact": f"{base}/", "key_service": f"{base}/docs",
                "endpoints": [{"specification": SPEC, "url": f"{base}/open311/v2", "changeset": CHANGESET,
                               "type": "production", "formats": ["text/xml", "application/json"]}]}
        return respond(_format(fmt), "discovery", None, body)
    except Open311Error as exc:
        return error(fmt, exc)


@router.get("/services.{fmt}")
def services(fmt: str) -> Response:
    """The services requests may be filed under."""
    try:
        return respond(_format(fmt), "services", "service", [s.as_geo() for s in geo.load().services])
    except Open311Error as exc:
        return error(fmt, exc)


@router.get("/services/{code}.{fmt}")
def service_definition(code: str, fmt: str) -> Response:
    """A service's definition: none asks extra attributes."""
    try:
        _format(fmt)
        service = geo.load().get(code)
        if service is None:
            raise Open311Error(404, f"service_code {code[:40]!r} not found")
        return respond(fmt, "service_definition", None, {"service_code": service.service_code, "attributes": []})
    except Open311Error as exc:
        return error(fmt, exc)


def _float(form: dict[str, str], name: str, limit: float) -> float | None:
    raw = form.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(400, f"{name} must be a number") from None
    if not math.isfinite(value) or abs(value) > limit:
        raise Open311Error(400, f"{name} out of range")
    return value


def _draft(form: dict[str, str]) -> Draft:
    draft = Draft(address=form.get("address_string", "").strip()[:MAX_ADDRESS])
    lat, lon = _float(form, "lat", 90), _float(form, "long", 180)
    if (lat is None) != (lon is None):
        raise Open311Error(400, "lat and long go together")
    if lat is not None and lon is not None:
        draft.location = {"latitude": lat, "longitude": lon, "label": ""}
    if not draft.has_place:
        raise Open311Error(400, "a location is required: lat and long, or address_string")
    if not form.get("description", "").strip():
        raise Open311Error(400, "description is required")
    draft.add_text(form["description"])
    return draft


async def _form(request: Request, cap: int) -> dict[str, str]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise Open311Error(400, "post the request as application/x-www-form-urlencoded")
    body = await read_capped(request, cap)
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=100)
    except (UnicodeDecodeError, ValueError):
        raise Open311Error(400, "the form could not be read") from None
    return {name: values[0] for name, values in fields.items()}


@router.post("/requests.{fmt}")
async def create_request(fmt: str, request: Request, state: State) -> Response:
    """File a service request (api_key required); answers its service_request_id."""
    try:
        _format(fmt)
        form = await _form(request, state.settings.max_body_bytes)
        created = await run_in_threadpool(_create, state, form)
        return respond(fmt, "service_requests", "request", [created])
    except Open311Error as exc:
        return error(fmt, exc)


def _create(state: State, form: dict[str, str]) -> dict[str, Any]:
    service = geo.load().get(form.get("service_code", "").strip())
    if not form.get("service_code", "").strip():
        raise Open311Error(400, "service_code is required")
    if service is None:
        raise Open311Error(400, "service_code not found")
    draft = _draft(form)
    media = form.get("media_url", "").strip()
    if media and (not media.startswith(("https://", "http://")) or len(media) > 1024):
        raise Open311Error(400, "media_url must be an http(s) address")
    with state.engine.begin() as conn:
        try:
            caller = authenticate(conn, form.get("api_key", "").strip())
        except AuthError:
            raise Open311Error(403, "api_key missing or not valid") from None
        now = utcnow()
        citizen = lock_citizen(conn, CitizenKey(CHANNEL, CHANNEL, f"key:{caller.id}"), now)
        desk = Desk(conn, state.desk, now)
        photo = (NewAttachment("image", url=media, note=geo.MEDIA_NOTE),) if media else ()
        ticket = desk.open_ticket(citizen, draft, zone=service.zone, attachments=photo)
        due = deadlines.due_of(conn, [ticket.id]).get(ticket.id)
    log.info("open311 request from key %s opened %s (%s)", caller.name, ticket.number, service.service_code)
    local_due = desk.local_time(due) if due else ""
    return {"service_request_id": ticket.number, "service_notice": render("open311_notice", number=ticket.number,
                                                                          due=local_due), "account_id": None}


def _when(query: dict[str, str], name: str) -> datetime | None:
    raw = query.get(name, "").strip()
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise Open311Error(400, f"{name} must be a W3C datetime, e.g. 2026-11-24T09:00:00+08:00") from None
    if moment.tzinfo is None:
        raise Open311Error(400, f"{name} needs a time zone offset")
    return moment


def _select(query: dict[str, str]) -> sa.Select[Any]:
    columns = sa.select(tickets.c.id, tickets.c.number, tickets.c.status, tickets.c.description, tickets.c.zone,
                        tickets.c.unit, tickets.c.address, tickets.c.location_label, tickets.c.latitude,
                        tickets.c.longitude, tickets.c.created_at, tickets.c.updated_at, tickets.c.expected_at)
    ids = [i.strip() for i in query.get("service_request_id", "").split(",") if i.strip()]
    if ids:  # the spec: other parameters are ignored when ids are given
        return columns.where(tickets.c.number.in_(ids[:MAX_RESULTS])).order_by(tickets.c.id)
    start, end = _when(query, "start_date"), _when(query, "end_date")
    if start is None and end is None:
        start = utcnow() - timedelta(days=DEFAULT_DAYS)
    conditions: list[sa.ColumnElement[bool]] = []
    if start is not None:
        conditions.append(tickets.c.created_at >= start)
    if end is not None:
        conditions.append(tickets.c.created_at <= end)
    code = query.get("service_code", "").strip()
    if code:
        catalogue = geo.load()
        service = catalogue.get(code)
        if service is None:
            raise Open311Error(400, "service_code not found")
        names, negate = catalogue.zones_of(service)
        conditions.append(tickets.c.zone.not_in(names) if negate else tickets.c.zone.in_(names))
    wanted = {s.strip() for s in query.get("status", "").split(",") if s.strip()}
    if wanted - {"open", "closed"}:
        raise Open311Error(400, "status must be open, closed or both")
    if len(wanted) == 1:
        closed = [s.value for s in geo.CLOSED]
        conditions.append(tickets.c.status.in_(closed) if "closed" in wanted else tickets.c.status.not_in(closed))
    return columns.where(*conditions).order_by(tickets.c.created_at.desc(), tickets.c.id.desc()).limit(MAX_RESULTS)


def _requests(state: State, select: sa.Select[Any]) -> list[dict[str, Any]]:
    with reader(state.engine).connect() as conn:
        rows = conn.execute(select).all()
        due = deadlines.due_of(conn, [r.id for r in rows])
        return geo.requests_of(conn, rows, geo.load(), state.settings.tz, due)


@router.get("/requests.{fmt}")
def list_requests(fmt: str, request: Request, state: State) -> Response:
    """Service requests by id list, or by service_code, start_date, end_date and status (last 90 days)."""
    try:
        _format(fmt)
        found = _requests(state, _select(dict(request.query_params)))
        return respond(fmt, "service_requests", "request", found)
    except Open311Error as exc:
        return error(fmt, exc)


@router.get("/requests/{request_id}.{fmt}")
def get_request(request_id: str, fmt: str, state: State) -> Response:
    """One service request by its service_request_id (the ticket number)."""
    try:
        _format(fmt)
        found = _requests(state, _select({"service_request_id": request_id.replace(",", "")}))
        if not found:
            raise Open311Error(404, f"service_request_id {request_id[:40]!r} not found")
        return respond(fmt, "service_requests", "request", found)
    except Open311Error as exc:
        return error(fmt, exc)
