"""Routing accuracy on the labelled sample (tests/data/routing_sample.jsonl), through the real storage path.

    .venv/bin/python benchmarks/routing_accuracy.py [--threshold 0.6] [--database-url sqlite:///...]

1. baseline: every sample request is opened as a ticket (classified, recommendations stored), then given
   its expected unit as the final one: top-1 / top-3 accuracy, type and zone accuracy, auto-dispatch rate.
2. learning: on a fresh database, officers give the expected unit to half of the sample (even lines);
   the other half (odd lines) is then opened and measured, against its own baseline figures.
   The halves are swapped for a second round.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from tickets.repository import NewTicket, open_ticket
from tickets.routing import store as routing_store
from tickets.routing.store import RoutingConfig
from tickets.storage.db import create_db_engine, migrate

SAMPLE = Path(__file__).resolve().parents[1] / "tests" / "data" / "routing_sample.jsonl"
TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Case:
    """One labelled request."""

    text: str
    address: str
    zone: str
    type: str
    unit: str


@dataclass
class Tally:
    """Counts over a set of cases."""

    n: int = 0
    top1: int = 0
    top3: int = 0
    kind: int = 0
    zone: int = 0
    auto: int = 0
    auto_kept: int = 0

    def line(self, label: str) -> str:
        """One printed row."""
        def pct(k: int) -> str:
            return f"{100 * k / self.n:5.1f}%" if self.n else "   - "
        return (f"{label:<34} n={self.n:<4} top-1 {pct(self.top1)}  top-3 {pct(self.top3)}  type {pct(self.kind)}"
                f"  zone {pct(self.zone)}  auto-dispatched {pct(self.auto)}  auto & kept {pct(self.auto_kept)}")


def load(path: Path = SAMPLE) -> list[Case]:
    """The labelled sample."""
    with path.open(encoding="utf-8") as fh:
        return [Case(**json.loads(line)) for line in fh if line.strip()]


def run(engine: Engine, cases: list[Case], config: RoutingConfig, now: datetime, *, learn: bool) -> Tally:
    """Open each case as a ticket and score its recommendation; with `learn`, record its expected unit after."""
    tally = Tally()
    for n, case in enumerate(cases):
        moment = now + timedelta(seconds=n)
        with engine.begin() as conn:
            ticket = open_ticket(conn, NewTicket("web", None, case.text, address=case.address), moment, TZ)
            result, _ = routing_store.classify_new_ticket(conn, ticket, moment, config)
            if learn:
                routing_store.record_unit(conn, ticket.id, case.unit, actor="officer", now=moment)
        units = [r.unit for r in result.recommendations]
        auto = bool(units) and result.confidence >= config.auto_dispatch_confidence
        tally.n += 1
        tally.top1 += units[:1] == [case.unit]
        tally.top3 += case.unit in units
        tally.kind += result.kind == case.type
        tally.zone += result.zone == case.zone
        tally.auto += auto
        tally.auto_kept += auto and units[0] == case.unit
    return tally


def fresh(directory: Path, name: str, url: str | None) -> Engine:
    """A migrated database: a new SQLite file, or the given URL (its tickets are left there)."""
    target = url or f"sqlite:///{directory / name}.db"
    migrate(target)
    return create_db_engine(target)


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=0.6, help="auto-dispatch confidence")
    parser.add_argument("--database-url", default=None, help="default: temporary SQLite files")
    args = parser.parse_args()
    config = RoutingConfig(auto_dispatch_confidence=args.threshold)
    cases = load()
    even, odd = cases[0::2], cases[1::2]
    print(f"sample: {len(cases)} labelled requests; auto-dispatch threshold {args.threshold}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        engine = fresh(folder, "baseline", args.database_url)
        print(run(engine, cases, config, T0, learn=False).line("baseline (catalogue rules only)"))
        with engine.connect() as conn:
            figures = routing_store.figures(conn)
        engine.dispose()
        print(f"  stored: classified {figures['classified']}, auto-dispatch share {figures['auto_dispatch_share']}")
        for name, taught, measured in (("even->odd", even, odd), ("odd->even", odd, even)):
            engine = fresh(folder, name, None)
            before = run(engine, measured, config, T0, learn=False)
            engine.dispose()
            engine = fresh(folder, name + "-learn", None)
            run(engine, taught, config, T0, learn=True)
            after = run(engine, measured, config, T0 + timedelta(days=1), learn=False)
            engine.dispose()
            print(before.line(f"{name}: measured half, before"))
            print(after.line(f"{name}: after {len(taught)} corrections"))


if __name__ == "__main__":
    main()
