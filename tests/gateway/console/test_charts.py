"""Chart layout and the hourly/daily buckets of a petition's signatures."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from gateway.console.charts import HEIGHT, TOP, bars, cumulative_line, stacked_bars
from gateway.console.stats import signature_buckets
from tests.gateway.console.support import open_ticket
from tickets import petitions
from tickets.clock import utcnow
from tickets.petitions import Signer, SurgeRule
from tickets.settings import Settings


def test_stacked_bars_scale_to_a_round_axis() -> None:
    chart = stacked_bars("t", ["a", "b"], {"wechat": [3, 0], "alipay": [4, 2]})
    assert [label.text for label in chart.labels[:5]] == ["0", "2.5", "5", "7.5", "10"]
    a_total = sum(r.h for r in chart.rects if r.title.startswith("a "))
    assert round(a_total / (HEIGHT - TOP - 56), 2) == 0.7  # 7 of an axis up to 10
    assert chart.legend == [("wechat", "#0b5394"), ("alipay", "#b45f06")]
    assert chart.rows == [["a", "3", "4"], ["b", "0", "2"]]
    assert bars("empty", [("x", 0)]).empty


def test_cumulative_line_runs_up() -> None:
    chart = cumulative_line("t", [("1/1", 2), ("1/2", 0), ("1/3", 3)], ["", "+", "="])
    assert [row[2] for row in chart.rows] == ["2", "2", "5"]
    ys = [y for _, y, _ in chart.dots]
    assert ys[0] == ys[1] > ys[2]


def test_young_petitions_count_per_hour_with_empty_hours(engine: Engine, settings: Settings) -> None:
    ticket = open_ticket(engine, settings, "楼道灯坏了")
    start = utcnow().replace(minute=5) - timedelta(hours=5)
    with engine.begin() as conn:
        petition, _ = petitions.start(conn, ticket.id, now=start, days=30)
        for i, hours in enumerate((0, 0, 3)):
            petitions.sign(conn, petition.id, Signer(identity=f"wechat:{i}", channel="wechat"),
                           now=start + timedelta(hours=hours), surge=SurgeRule(), thresholds=[])
        unit, buckets = signature_buckets(conn, petition.id, settings.tz)
    assert unit == "hour"
    assert [n for _, n in buckets] == [2, 0, 0, 1]
