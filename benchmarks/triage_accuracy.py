"""Triage accuracy on a labelled corpus: recall per class, false positives, and the cost per message.

    .venv/bin/python benchmarks/triage_accuracy.py                       # the test part (tests/data/triage/test.jsonl)
    .venv/bin/python benchmarks/triage_accuracy.py --data other.jsonl    # any file of the same format

Each line: {"text": ..., "label": "emergency|urgent|redirect|unsure|normal", "service"?, "concept"?,
"negative"?}. The triage is the product's: the concepts with the learned second opinion trained on
catalogue/training (--rules-only: the concepts alone). Recall of a class is the share of its lines given
exactly that class; a false positive is a `normal` line (hard negatives included) given `emergency` or
`urgent`. Danger caught counts emergency and urgent lines given emergency, urgent or unsure (the bot then
asks before anything else). Lines are printed only with --show (never look at the test part's lines while
tuning: tests/data/README.md).
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from language.triage import Kind, Triage  # noqa: E402
from language.triage.learned import examples_from, train  # noqa: E402

LABELS = [k.value for k in Kind]
TARGETS = {"emergency": 0.98, "urgent": 0.98, "redirect": 0.95}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "tests" / "data" / "triage" / "test.jsonl")
    parser.add_argument("--show", action="store_true", help="print the lines given the wrong class")
    parser.add_argument("--rules-only", action="store_true", help="without the learned second opinion")
    parser.add_argument("--training", type=Path, default=ROOT / "catalogue" / "training",
                        help="the labelled lines the second opinion learns from (as the product does)")
    args = parser.parse_args()
    triage = Triage(None if args.rules_only else train(examples_from(args.training)))
    rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines() if line.strip()]
    confusion: collections.Counter[tuple[str, str]] = collections.Counter()
    by_negative: collections.Counter[tuple[str, bool]] = collections.Counter()
    wrong = []
    for row in rows:
        decision = triage(row["text"])
        got = decision.kind.value
        confusion[(row["label"], got)] += 1
        if row.get("negative"):
            by_negative[(row["negative"], got in ("emergency", "urgent"))] += 1
        if got != row["label"]:
            wrong.append((row["label"], got, decision.concepts, row["text"]))
    timings = []
    for row in rows:
        start = time.perf_counter()
        triage.afresh(row["text"])  # a text the process has not read: the remembered decisions answer none
        timings.append((time.perf_counter() - start) * 1e6)

    name = args.data.relative_to(ROOT) if args.data.is_relative_to(ROOT) else args.data
    print(f"triage on {name}: {len(rows)} lines")
    print("gold \\ given  " + " ".join(f"{label[:9]:>9}" for label in LABELS))
    for gold in LABELS:
        print(f"{gold:<12}  " + " ".join(f"{confusion[(gold, got)]:>9}" for got in LABELS))
    print()
    for label in ("emergency", "urgent", "redirect", "unsure"):
        total = sum(confusion[(label, got)] for got in LABELS)
        if total:
            recall = confusion[(label, label)] / total
            target = TARGETS.get(label)
            verdict = "" if target is None else \
                f"  (target >= {100 * target:.0f}%: {'met' if recall >= target else 'MISSED'})"
            print(f"recall {label:<10} {100 * recall:5.1f}%  ({confusion[(label, label)]}/{total}){verdict}")
    for label in ("emergency", "urgent"):
        total = sum(confusion[(label, got)] for got in LABELS)
        caught = sum(confusion[(label, got)] for got in ("emergency", "urgent", "unsure"))
        if total:
            print(f"danger caught {label:<10} {100 * caught / total:5.1f}%  ({caught}/{total}; unsure asks first)")
    normals = sum(confusion[("normal", got)] for got in LABELS)
    flagged = confusion[("normal", "emergency")] + confusion[("normal", "urgent")]
    if normals:
        rate = flagged / normals
        print(f"false positives {100 * rate:5.1f}%  ({flagged}/{normals} normal lines flagged emergency or urgent; "
              f"target <= 3%: {'met' if rate <= 0.03 else 'MISSED'})")
        asked = confusion[("normal", "unsure")]
        print(f"normal lines asked a safety question: {asked}/{normals}")
    kinds = sorted({kind for kind, _ in by_negative})
    if kinds:
        counts = [f"{kind} {by_negative[(kind, True)]}/{by_negative[(kind, True)] + by_negative[(kind, False)]}"
                  for kind in kinds]
        print("hard negatives flagged: " + ", ".join(counts))
    print(f"cost per message: median {statistics.median(timings):.0f} µs, p90 "
          f"{sorted(timings)[int(0.9 * len(timings))]:.0f} µs")
    if args.show:
        for gold, got, concepts, text in wrong:
            print(f"{gold:>9} -> {got:<9} {','.join(concepts):<20} {text}")


if __name__ == "__main__":
    main()
