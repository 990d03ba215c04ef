"""The city's places: its gazetteer (catalogue/places.toml, catalogue/districts.toml) and where a request is.

language/places reads citizens' words; this module gives it the deployment's gazetteer, read once per
process. Another city replaces the two files.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from language.places import Gazetteer, Place, find_place, load_gazetteer
from tickets.settings import CATALOGUE_DIR


@cache
def gazetteer(folder: Path = CATALOGUE_DIR) -> Gazetteer:
    """The gazetteer of the catalogue folder."""
    return load_gazetteer(folder / "places.toml", folder / "districts.toml")


def place_of(text: str, *, label: str = "", latitude: float | None = None, longitude: float | None = None,
             folder: Path = CATALOGUE_DIR) -> Place:
    """Where `text` (with a pin's label and coordinates, when sent) says the matter is."""
    return find_place(text, gazetteer(folder), label=label, lat=latitude, lon=longitude)
