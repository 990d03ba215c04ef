"""Places in citizens' words: where a request is, and in which district (shared by routing, duplicates, the chat).

    gazetteer.py  the city's districts, street offices and named places, read from the deployment's TOML files
    normal.py     place text normalised in place (full-width, misheard place words), Chinese numerals
    shapes.py     the shapes places are written in: roads, numbers, junctions, compounds, buildings, positions
    mentions.py   every place a text mentions (PlaceMention), the gazetteer's names and the shapes together
    find.py       find_place: the mentions, the address to store and the district (Place); relative_part
    answer.py     is_place_answer: is a reply to "where is it?" a place
    geo.py        distances, and the district a location pin lies in

Reads only the files it is given (`load_gazetteer`); imports nothing of ours outside language/.
"""

from language.places.answer import is_place_answer
from language.places.find import Place, find_place, relative_part
from language.places.gazetteer import Gazetteer, load_gazetteer
from language.places.geo import distance_m
from language.places.mentions import PlaceMention

__all__ = [
    "Gazetteer",
    "Place",
    "PlaceMention",
    "distance_m",
    "find_place",
    "is_place_answer",
    "load_gazetteer",
    "relative_part",
]
