"""Charts for the console, laid out here and drawn as inline SVG by `console/_chart.html` (no script, no CDN).

Each chart keeps its numbers as a table too, so a screen reader (or a browser without SVG) reads the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# Colours that keep at least 3:1 against white (WCAG 1.4.11 for graphics) and differ for colour-blind readers.
PALETTE = ("#0b5394", "#b45f06", "#38761d", "#741b47", "#134f5c", "#7f6000", "#990000", "#351c75")
WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 16, 56


@dataclass(frozen=True, slots=True)
class Rect:
    """A bar (or a stacked segment) with its tooltip."""

    x: float
    y: float
    w: float
    h: float
    fill: str
    title: str


@dataclass(frozen=True, slots=True)
class Label:
    """A text on the chart: an axis tick or a category name."""

    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass(frozen=True, slots=True)
class Chart:
    """Everything the template needs to draw one chart and its table."""

    title: str
    width: int = WIDTH
    height: int = HEIGHT
    rects: list[Rect] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    gridlines: list[float] = field(default_factory=list)
    line: str = ""  # SVG polyline points
    dots: list[tuple[float, float, str]] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)  # the table: header and rows
    rows: list[list[str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing to draw."""
        return not self.rows


def _nice_max(value: float) -> float:
    """The axis top: 1, 2 or 5 times a power of ten, at least `value`."""
    if value <= 4:  # counts: four whole-number steps at least
        return 4
    step = 1.0
    while step * 10 <= value:
        step *= 10
    for factor in (1, 2, 5, 10):
        if factor * step >= value:
            return factor * step
    return 10 * step


def _axis(top: float) -> tuple[list[float], list[Label]]:
    plot_h = HEIGHT - TOP - BOTTOM
    lines, labels = [], []
    for i in range(5):
        value = top * i / 4
        y = TOP + plot_h - plot_h * i / 4
        lines.append(y)
        labels.append(Label(LEFT - 6, y + 4, f"{value:g}", "end"))
    return lines, labels


def _clip(text: str, size: int = 8) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def stacked_bars(title: str, categories: Sequence[str], series: Mapping[str, Sequence[float]],
                 *, unit: str = "") -> Chart:
    """Bars per category, each split by series (one series: plain bars)."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(categories))]
    top = _nice_max(max(totals, default=0))
    gridlines, labels = _axis(top)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(categories), 1)
    bar_w = min(max(slot * 0.7, 1), 64)
    rects: list[Rect] = []
    colours = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(series)}
    for i, category in enumerate(categories):
        x = LEFT + i * slot + (slot - bar_w) / 2
        base: float = TOP + plot_h
        for name, values in series.items():
            h = plot_h * values[i] / top
            if values[i]:
                base -= h
                rects.append(Rect(round(x, 1), round(base, 1), round(bar_w, 1), round(h, 1), colours[name],
                                  f"{category} {name}: {values[i]:g}{unit}"))
        every = max(1, len(categories) // 10)  # at most about ten category labels under the axis
        if i % every == 0:
            labels.append(Label(round(x + bar_w / 2, 1), HEIGHT - BOTTOM + 18, _clip(category)))
    legend = [(name, colour) for name, colour in colours.items()] if len(series) > 1 else []
    columns = ["", *series] if len(series) > 1 else ["", title]
    rows = [[c, *(f"{values[i]:g}{unit}" for values in series.values())] for i, c in enumerate(categories)]
    return Chart(title=title, rects=rects, labels=labels, gridlines=gridlines, legend=legend,
                 columns=columns, rows=rows if any(totals) else [])


def bars(title: str, items: Sequence[tuple[str, float]], *, unit: str = "") -> Chart:
    """One bar per item."""
    return stacked_bars(title, [k for k, _ in items], {title: [v for _, v in items]}, unit=unit)


def cumulative_line(title: str, buckets: Sequence[tuple[str, int]], columns: Sequence[str]) -> Chart:
    """A running total over time buckets (signatures of a petition), with the new count per bucket in the table."""
    running, totals = 0, []
    for _, n in buckets:
        running += n
        totals.append(running)
    top = _nice_max(max(totals, default=0))
    gridlines, labels = _axis(top)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(buckets) - 1, 1)
    dots: list[tuple[float, float, str]] = []
    every = max(1, len(buckets) // 8)
    for i, ((label, n), total) in enumerate(zip(buckets, totals, strict=True)):
        x = round(LEFT + i * step, 1)
        y = round(TOP + plot_h - plot_h * total / top, 1)
        dots.append((x, y, f"{label}: +{n}, {total}"))
        if i % every == 0:
            labels.append(Label(x, HEIGHT - BOTTOM + 18, _clip(label, 11)))
    return Chart(title=title, labels=labels, gridlines=gridlines, line=" ".join(f"{x},{y}" for x, y, _ in dots),
                 dots=dots, columns=list(columns),
                 rows=[[label, str(n), str(t)] for (label, n), t in zip(buckets, totals, strict=True)])
