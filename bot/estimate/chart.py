"""The estimate's bar chart as a PNG: one bar per offering, cheapest at the top.

The flowchart's pick is named in its label ("p5en.48xlarge (flowchart's pick)"), not
only coloured; every bar has its cost written beside it, and an offering without a cost
says why in the table's own words ("does not fit", "not estimated"). When the costs
span more than ten times, the axis is logarithmic (and says so), so a $6,088 bar still
shows beside a $3.21M one.

matplotlib with the Agg backend, imported on first use so that a process that never
draws (the terminal, the CLI) does not pay for it. Pure apart from that: numbers in,
bytes out.
"""

from __future__ import annotations

import io
import math
import textwrap
import threading
from dataclasses import dataclass
from typing import Any

from bot.quantities import money

_LOCK = threading.Lock()  # matplotlib shares font and text caches: one chart at a time
WIDTH, BAR_HEIGHT, DPI = 8.0, 0.6, 110
LOG_ABOVE = 10.0  # the largest cost over the smallest beyond which the axis is logarithmic
PICK_COLOUR, OTHER_COLOUR = "#1d3557", "#8da9c4"


@dataclass(frozen=True)
class Bar:
    label: str  # the offering, with the pick said in words
    cost: float | None
    missing: str = "no cost"  # why there is no cost, in the table's words
    pick: bool = False

    def to_json(self) -> list[Any]:
        return [self.label, self.cost, self.missing, self.pick]


@dataclass(frozen=True)
class CostChart:
    """What the sender draws: bars in the card's order, the unit and the title. Kept as
    JSON in the outbox (``to_payload``); rows written before the chart said why a bar
    had no cost (``[label, cost]``) still read."""

    bars: tuple[Bar, ...]
    unit: str
    title: str

    def to_payload(self) -> dict[str, Any]:
        return {"bars": [b.to_json() for b in self.bars], "unit": self.unit, "title": self.title}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> CostChart:
        bars = []
        for raw in payload["bars"]:
            label, cost, *rest = raw
            if cost is not None and not isinstance(cost, (int, float)):
                raise TypeError(f"a bar's cost must be a number or null, not {cost!r}")
            missing = str(rest[0]) if rest else "does not fit"
            pick = bool(rest[1]) if len(rest) > 1 else False
            bars.append(Bar(str(label), None if cost is None else float(cost), missing, pick))
        return cls(tuple(bars), str(payload["unit"]), str(payload["title"]))

    @property
    def logarithmic(self) -> bool:
        costs = [b.cost for b in self.bars if b.cost]
        return bool(costs) and max(costs) / min(costs) > LOG_ABOVE


def render_cost_chart(chart: CostChart) -> bytes:
    """A horizontal bar chart of ``chart``, its first bar at the top."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    bars = list(chart.bars)[::-1]  # barh draws bottom-up
    costs = [b.cost for b in bars if b.cost]
    top = max(costs, default=1.0)
    log = chart.logarithmic
    floor = 10 ** math.floor(math.log10(min(costs))) / 2 if log else 0.0
    with _LOCK:
        height = 1.4 + BAR_HEIGHT * len(bars)
        figure = Figure(figsize=(WIDTH, height), dpi=DPI, layout="constrained")
        axes = figure.add_subplot()
        if log:
            axes.set_xscale("log")
        values = [b.cost if b.cost else floor for b in bars]
        colours = [PICK_COLOUR if b.pick else OTHER_COLOUR for b in bars]
        axes.barh([b.label for b in bars], [v - floor for v in values], left=floor, color=colours)
        for y, bar in enumerate(bars):
            text = money(bar.cost) if bar.cost is not None else bar.missing
            x = bar.cost if bar.cost else floor
            at = x * 1.08 if log else x + top * 0.01
            weight = "bold" if bar.pick else "normal"
            axes.text(at, y, text, va="center", fontsize=9, fontweight=weight)
        for name, bar in zip(axes.get_yticklabels(), bars, strict=False):
            if bar.pick:
                name.set_fontweight("bold")
        if log:
            axes.set_xlim(floor, top * 8)
            axes.set_xlabel(f"US dollars {chart.unit} (log scale: each step is ten times more)")
        else:
            axes.set_xlim(0, top * 1.25)
            axes.set_xlabel(f"US dollars {chart.unit}")
        figure.suptitle(textwrap.fill(chart.title, 90), fontsize=10)
        axes.spines[["top", "right"]].set_visible(False)
        axes.xaxis.set_major_formatter(lambda x, _pos: tick(x))
        if not log:
            axes.xaxis.set_major_locator(MaxNLocator(5))
        out = io.BytesIO()
        figure.savefig(out, format="png")
    return out.getvalue()


def tick(usd: float) -> str:
    """An axis label, short enough not to run into the next: $25K, $1.5M, $100M."""
    for suffix, scale in (("M", 1e6), ("K", 1e3)):
        if usd >= scale:
            return f"${usd / scale:,.3g}{suffix}"
    return f"${usd:,.0f}"
