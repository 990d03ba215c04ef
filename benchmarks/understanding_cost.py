"""What understanding one chat message costs, step by step, on the messages of the conversation corpus.

    .venv/bin/python benchmarks/understanding_cost.py [--data tests/data/conversations/dev.jsonl]

The steps every text message goes through before the conversation decides (bots/conversations): the dialog
acts (language/acts.py), danger and scope (language/triage, with its learned second opinion), whether it
names a place (language/places), the problem objects (language/routing/problem.py) and whether it reads as
a question (language/knowledge). Each step's caches are cleared between rounds, so a message is read as the
first time. Target (issue 14): the median of the whole reading at most 150 µs.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from language.acts import acts_of  # noqa: E402
from language.knowledge import looks_like_question  # noqa: E402
from language.places import is_place_answer  # noqa: E402
from language.routing.problem import objects_of  # noqa: E402
from tickets import places, safety  # noqa: E402

DATA = ROOT / "tests" / "data" / "conversations" / "dev.jsonl"


def messages(path: Path) -> list[str]:
    """The citizens' typed and spoken texts of a conversation corpus."""
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            for turn in json.loads(line)["turns"]:
                text = turn.get("text") or turn.get("voice")
                if text and "{" not in text:
                    found.append(str(text))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    texts = messages(args.data)
    triage, gazetteer = safety.triager(), places.gazetteer()
    steps: dict[str, Callable[[str], object]] = {
        "acts": acts_of,
        "triage": triage,
        "place": lambda text: is_place_answer(text, gazetteer),
        "objects": objects_of,
        "question": looks_like_question,
    }
    for step in steps.values():  # load lexicons and models once, as a running process has
        step(texts[0])
    per_step: dict[str, list[float]] = {name: [] for name in steps}
    totals: list[float] = []
    gc.disable()
    for round_ in range(args.rounds):
        tail = " " * (round_ + 1)  # another string each round: no step's memory of texts answers it
        for text in texts:
            total = 0.0
            for name, step in steps.items():
                start = time.perf_counter()
                step(text + tail)
                elapsed = (time.perf_counter() - start) * 1e6
                per_step[name].append(elapsed)
                total += elapsed
            totals.append(total)
    gc.enable()
    print(f"understanding one message: {len(texts)} messages x {args.rounds} rounds")
    for name, values in per_step.items():
        p90 = statistics.quantiles(values, n=10)[-1]
        print(f"  {name:<9} median {statistics.median(values):6.0f} µs   p90 {p90:6.0f} µs")
    median = statistics.median(totals)
    print(f"  all       median {median:6.0f} µs   p90 {statistics.quantiles(totals, n=10)[-1]:6.0f} µs"
          f"   (target <= 150 µs: {'met' if median <= 150 else 'MISSED'})")


if __name__ == "__main__":
    main()
