"""The Open311 view of our data: services from catalogue/services.toml, tickets as GeoReport requests.

A service stands for a hot-topic zone ("general" for tickets of no zone or of a zone no service names).
Requests carry no personal data: descriptions, addresses and notes are masked, and nobody's identity
is given.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from tickets.errors import ConfigurationError
from tickets.lifecycle import Status
from tickets.masking import mask_text
from tickets.settings import CATALOGUE_DIR
from tickets.storage.schema import attachments, ticket_events

SERVICES_FILE = CATALOGUE_DIR / "services.toml"
CLOSED = frozenset({Status.RESOLVED, Status.CLOSED, Status.REJECTED, Status.MERGED, Status.WITHDRAWN})
REQUEST_FIELDS = ("service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                  "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                  "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url")


@dataclass(frozen=True, slots=True)
class Service:
    """One GeoReport service."""

    service_code: str
    service_name: str
    description: str
    group: str
    keywords: tuple[str, ...]
    zone: str

    def as_geo(self) -> dict[str, Any]:
        """The spec's fields of a service list entry."""
        return {"service_code": self.service_code, "service_name": self.service_name,
                "description": self.description, "metadata": False, "type": "realtime",
                "keywords": ",".join(self.keywords), "group": self.group}


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The services, and which one a zone belongs to."""

    services: tuple[Service, ...]

    def get(self, code: str) -> Service | None:
        """A service by code."""
        return next((s for s in self.services if s.service_code == code), None)

    def for_zone(self, zone: str) -> Service:
        """The service of a ticket's zone (the zone-less one as the fallback)."""
        return next((s for s in self.services if s.zone == zone), None) or self.general

    @property
    def general(self) -> Service:
        """The service of tickets in no named zone."""
        return next(s for s in self.services if not s.zone)

    def zones_of(self, service: Service) -> tuple[list[str], bool]:
        """(zones, negate): the zones of its tickets, or for the general service all zones but the others'."""
        if service.zone:
            return [service.zone], False
        return [s.zone for s in self.services if s.zone], True


@cache
def load(path: Path = SERVICES_FILE) -> Catalogue:
    """Read the services file (once per process); raises ConfigurationError."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        services = tuple(
            Service(str(e["service_code"]), str(e["service_name"]), str(e.get("description", "")),
                    str(e.get("group", "")), tuple(str(k) for k in e.get("keywords", [])), str(e.get("zone", "")))
            for e in data.get("service", []))
    except (OSError, tomllib.TOMLDecodeError, KeyError) as exc:
        raise ConfigurationError(f"Open311 services {path}: {exc}") from exc
    codes = [s.service_code for s in services]
    if len(set(codes)) != len(codes) or sum(1 for s in services if not s.zone) != 1:
        raise ConfigurationError(f"Open311 services {path}: codes must be unique, and one service has no zone")
    return Catalogue(services)


def w3c(moment: datetime | None, tz: ZoneInfo) -> str | None:
    """A W3C datetime in the city's time with its offset, as the spec's examples give it."""
    return moment.astimezone(tz).isoformat(timespec="seconds") if moment is not None else None


def _notes(conn: sa.Connection, ticket_ids: Sequence[int]) -> dict[int, str]:
    latest = (sa.select(sa.func.max(ticket_events.c.id))
              .where(ticket_events.c.ticket_id.in_(ticket_ids), ticket_events.c.note != "")
              .group_by(ticket_events.c.ticket_id))
    rows = conn.execute(sa.select(ticket_events.c.ticket_id, ticket_events.c.note)
                        .where(ticket_events.c.id.in_(latest)))
    return {int(r.ticket_id): str(r.note) for r in rows}


MEDIA_NOTE = "open311"  # media posted through Open311 (public already); citizens' chat photos are not given


def _media(conn: sa.Connection, ticket_ids: Sequence[int]) -> dict[int, str]:
    first = (sa.select(sa.func.min(attachments.c.id))
             .where(attachments.c.ticket_id.in_(ticket_ids), attachments.c.kind == "image",
                    attachments.c.note == MEDIA_NOTE)
             .group_by(attachments.c.ticket_id))
    rows = conn.execute(sa.select(attachments.c.ticket_id, attachments.c.url).where(attachments.c.id.in_(first)))
    return {int(r.ticket_id): str(r.url) for r in rows}


def requests_of(conn: sa.Connection, rows: Sequence[Any], catalogue: Catalogue, tz: ZoneInfo,
                due: dict[int, datetime]) -> list[dict[str, Any]]:
    """Ticket rows (with zone) as GeoReport requests, every field of the spec present."""
    ids = [int(r.id) for r in rows]
    notes, media = (_notes(conn, ids), _media(conn, ids)) if ids else ({}, {})
    found: list[dict[str, Any]] = []
    for r in rows:
        service = catalogue.for_zone(r.zone)
        status = Status(r.status)
        expected = r.expected_at or (due.get(r.id) if status not in CLOSED else None)
        found.append({
            "service_request_id": r.number, "status": "closed" if status in CLOSED else "open",
            "status_notes": mask_text(notes.get(r.id, "")), "service_name": service.service_name,
            "service_code": service.service_code, "description": mask_text(r.description),
            "agency_responsible": r.unit, "service_notice": "", "requested_datetime": w3c(r.created_at, tz),
            "updated_datetime": w3c(r.updated_at, tz), "expected_datetime": w3c(expected, tz),
            "address": mask_text(r.address or r.location_label), "address_id": "", "zipcode": "",
            "lat": r.latitude, "long": r.longitude, "media_url": media.get(r.id, ""),
        })
    return found
