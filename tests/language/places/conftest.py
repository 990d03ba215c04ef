"""The shipped Zhengzhou gazetteer, loaded once for the place tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from language.places import Gazetteer, load_gazetteer

CATALOGUE = Path(__file__).resolve().parents[3] / "catalogue"


@pytest.fixture(scope="session")
def gazetteer() -> Gazetteer:
    return load_gazetteer(CATALOGUE / "places.toml", CATALOGUE / "districts.toml")
