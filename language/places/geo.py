"""Distances on the ground, and the district a location pin lies in by the gazetteer's points near it."""

from __future__ import annotations

import math
from collections.abc import Iterable

from language.places.gazetteer import Point

_EARTH_RADIUS_M = 6_371_008.8


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance in metres between two points (haversine; GCJ-02 offsets cancel at city scale)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * _EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def district_near(lat: float, lon: float, points: Iterable[Point]) -> str | None:
    """The district of the points whose radius the pin falls in, when they all lie in one district; else None."""
    near = {p.district for p in points if distance_m(lat, lon, p.lat, p.lon) <= p.radius_m}
    return next(iter(near)) if len(near) == 1 else None
