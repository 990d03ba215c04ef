"""How well places are understood (language/places/), on the dev corpora, printed as figures.

    .venv/bin/python benchmarks/place_accuracy.py [--data catalogue/training/requests.jsonl] [--errors]

1. district accuracy on a routing corpus (`text`, `location_label`, `district`): exact, a null expected
   when no district can be known; then split by what the line gives: the district named (by its name or
   one of its aliases), only a place implying it, or nothing (null expected).
2. place detection on the dev conversations: for each conversation whose expected ticket lists
   `place_has` words, whether one place found in the citizen's messages (or a pin's label) holds them all.
3. `is_place_answer` on the labelled replies to "where is it?" (tests/data/places/answers.jsonl).
4. speed: the median CPU microseconds of one `find_place` over the routing corpus's lines (target <= 60 us).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

from language.places import find_place, is_place_answer, load_gazetteer
from language.places.gazetteer import Gazetteer

ROOT = Path(__file__).resolve().parents[1]
ROUTING = ROOT / "catalogue" / "training" / "requests.jsonl"
CONVERSATIONS = ROOT / "tests" / "data" / "conversations" / "dev.jsonl"
ANSWERS = ROOT / "tests" / "data" / "places" / "answers.jsonl"
PLACES = ROOT / "catalogue" / "places.toml"
DISTRICTS = ROOT / "catalogue" / "districts.toml"


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _named_forms() -> dict[str, list[str]]:
    """Every way each district is written (names, full names, aliases), to tell which lines name it."""
    rows = tomllib.loads(DISTRICTS.read_text(encoding="utf-8"))["district"]
    return {row["name"]: [row["name"], row["full_name"], *row.get("aliases", [])] for row in rows}


def district_accuracy(gazetteer: Gazetteer, path: Path, show_errors: bool) -> None:
    """Exact district (null included), overall and by what the line gives."""
    forms = _named_forms()
    hits: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    errors = []
    for row in _lines(path):
        expected = row.get("district")
        label = row.get("location_label", "")
        place = find_place(row["text"], gazetteer, label=label)
        if expected is None:
            group = "none (null expected)"
        elif any(form in row["text"] + label for form in forms[expected]):
            group = "named"
        else:
            group = "implied by a place"
        for key in ("all", group):
            totals[key] += 1
            hits[key] += place.district == expected
        sources[place.district_source or "-"] += 1
        if place.district != expected:
            errors.append((group, expected, place.district, place.district_source, row["text"], label, place.address))
    print(f"district accuracy on {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    for key in ("all", "named", "implied by a place", "none (null expected)"):
        if totals[key]:
            print(f"  {key:<22} {hits[key]:4d}/{totals[key]:<4d} {100 * hits[key] / totals[key]:5.1f}%")
    print("  sources: " + ", ".join(f"{k} {v}" for k, v in sources.most_common()))
    if show_errors:
        for group, expected, got, source, text, label, address in errors:
            print(f"  ✗ [{group}] want {expected} got {got} ({source}) | {text} | {label} | {address}")


def place_detection(gazetteer: Gazetteer, show_errors: bool) -> None:
    """Whether the expected place words are in one place found in a conversation's citizen messages or pins."""
    found = total = 0
    for conversation in _lines(CONVERSATIONS):
        words = ((conversation.get("expect") or {}).get("ticket") or {}).get("place_has")
        if not words:
            continue
        total += 1
        addresses = []
        for turn in conversation["turns"]:
            said = turn.get("text") or turn.get("voice")
            if said:
                addresses.append(find_place(said, gazetteer).address)
            if "location" in turn:
                pin = turn["location"]
                addresses.append(find_place("", gazetteer, label=pin.get("label", ""), lat=pin.get("lat"),
                                            lon=pin.get("lon")).address)
        ok = any(all(word in address for word in words) for address in addresses)
        found += ok
        if show_errors and not ok:
            print(f"  ✗ {conversation['id']} {words}: {[a for a in addresses if a]}")
    print(f"place detection on {CONVERSATIONS.relative_to(ROOT)}: {found}/{total} {100 * found / max(total, 1):5.1f}%")


def answers(gazetteer: Gazetteer, show_errors: bool) -> None:
    """is_place_answer on the labelled replies: accuracy, and the mistakes of each side."""
    rows = _lines(ANSWERS)
    right = 0
    for row in rows:
        got = is_place_answer(row["text"], gazetteer)
        right += got == row["place"]
        if show_errors and got != row["place"]:
            print(f"  ✗ want {row['place']} got {got}: {row['text']}")
    places = sum(1 for r in rows if r["place"])
    print(f"is_place_answer on {ANSWERS.relative_to(ROOT)}: {right}/{len(rows)} {100 * right / len(rows):5.1f}%"
          f" ({places} places, {len(rows) - places} not)")


def speed(gazetteer: Gazetteer, path: Path) -> None:
    """The median over the corpus's lines of one find_place's CPU time (each line's best of five rounds).

    CPU time of this thread (not wall time) and the best of five, so that other processes on the machine
    change the figure little.
    """
    texts = [(row["text"], row.get("location_label", "")) for row in _lines(path)]
    best = [float("inf")] * len(texts)
    for _ in range(6):  # the first round warms up
        for i, (text, label) in enumerate(texts):
            start = time.thread_time_ns()
            find_place(text, gazetteer, label=label)
            best[i] = min(best[i], time.thread_time_ns() - start)
    best.sort()
    median, p90 = statistics.median(best) / 1000, best[len(best) * 9 // 10] / 1000
    print(f"find_place: median {median:.1f} us, p90 {p90:.1f} us of CPU over {len(texts)} lines (target <= 60 us)")


def main() -> None:
    """Print every figure."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROUTING, help="routing corpus (JSON lines)")
    parser.add_argument("--errors", action="store_true", help="print every miss")
    args = parser.parse_args()
    start = time.perf_counter()
    gazetteer = load_gazetteer(PLACES, DISTRICTS)
    print(f"gazetteer loaded in {1000 * (time.perf_counter() - start):.0f} ms")
    district_accuracy(gazetteer, args.data.resolve(), args.errors)
    place_detection(gazetteer, args.errors)
    if ANSWERS.exists():
        answers(gazetteer, args.errors)
    speed(gazetteer, args.data.resolve())


if __name__ == "__main__":
    main()
