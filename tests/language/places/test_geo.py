"""Distances on the ground and the district of a location pin."""

from __future__ import annotations

import pytest

from language.places import distance_m
from language.places.gazetteer import Point
from language.places.geo import district_near


def test_distance_along_a_meridian_and_a_parallel() -> None:
    assert distance_m(34.0, 113.0, 35.0, 113.0) == pytest.approx(111_195, rel=1e-3)
    assert distance_m(34.0, 113.0, 34.0, 114.0) == pytest.approx(92_185, rel=2e-3)  # 111.2 km x cos 34°
    assert distance_m(34.75, 113.66, 34.75, 113.66) == 0.0


def test_a_pin_lies_in_a_district_only_when_every_point_near_it_does() -> None:
    points = (Point(34.75, 113.66, "二七区", 1000.0), Point(34.76, 113.66, "金水区", 1000.0))
    assert district_near(34.7480, 113.66, points) == "二七区"  # 220 m from the first, 1.3 km from the second
    assert district_near(34.7550, 113.66, points) is None  # within reach of both
    assert district_near(34.90, 113.66, points) is None  # near neither
