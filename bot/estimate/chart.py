"""The estimate's bar chart as a PNG: one bar per offering, cheapest at the top.

The flowchart's pick is named in its label ("p5en.48xlarge (flowchart's pick)"), not
only coloured; every bar has its cost written beside it, and an offering without a cost
says why in the table's own words ("does not fit", "not estimated"). When the costs
span more than ten times, the axis is logarithmic (and says so), so a $6,088 bar still
shows beside a $3.21M one.

For serving with an API alternative, a second panel shows monthly cost against
traffic: the API (Amazon Bedrock) as a straight line, paid by the token; self-hosting
as steps, one more instance (or replica) each time the traffic outgrows the last; and a
marker where the person's traffic is. Its numbers are in `TrafficCurve`, so tests read
them (and the drawn lines) rather than pixels.

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

from bot.quantities import money, short

_LOCK = threading.Lock()  # matplotlib shares font and text caches: one chart at a time
WIDTH, BAR_HEIGHT, DPI = 8.0, 0.6, 110
LOG_ABOVE = 10.0  # the largest cost over the smallest beyond which the axis is logarithmic
PICK_COLOUR, OTHER_COLOUR, API_COLOUR = "#1d3557", "#8da9c4", "#e76f51"
TRAFFIC_HEIGHT = 3.2  # inches for the cost-against-traffic panel


@dataclass(frozen=True)
class Bar:
    label: str  # the offering, with the pick said in words
    cost: float | None
    missing: str = "no cost"  # why there is no cost, in the table's words
    pick: bool = False

    def to_json(self) -> list[Any]:
        return [self.label, self.cost, self.missing, self.pick]


@dataclass(frozen=True)
class TrafficCurve:
    """Monthly cost against traffic (tokens a day) for serving: the API's price per
    token-a-day, self-hosting's step (one instance or replica: its monthly cost and the
    tokens a day it carries), the person's traffic and their self-hosted cost there."""

    api_label: str
    api_usd_per_token_day: float  # a month of 1 token a day through the API
    step_label: str
    step_usd: float
    step_tokens_per_day: float
    at_tokens_per_day: float
    at_usd: float  # the estimate's monthly cost of self-hosting at that traffic

    @property
    def break_even(self) -> float | None:
        """Where the API line meets the first step (None: the API is cheaper throughout)."""
        even = self.step_usd / self.api_usd_per_token_day
        return even if even <= self.step_tokens_per_day else None

    @property
    def span(self) -> float:
        """The traffic the panel runs to: past the person, the break-even and one step."""
        return max(2 * self.at_tokens_per_day, 1.5 * (self.break_even or 0.0),
                   2 * self.step_tokens_per_day)  # fmt: skip

    def api_line(self) -> tuple[list[float], list[float]]:
        end = self.span
        return [0.0, end], [0.0, self.api_usd_per_token_day * end]

    def steps(self) -> tuple[list[float], list[float]]:
        """Self-hosting as a staircase: k steps cost k × step up to k × capacity."""
        count = max(1, math.ceil(self.span / self.step_tokens_per_day))
        xs = [0.0]
        ys = [self.step_usd]
        for k in range(1, count + 1):
            xs += [k * self.step_tokens_per_day, k * self.step_tokens_per_day]
            ys += [k * self.step_usd, (k + 1) * self.step_usd]
        return xs[:-1], ys[:-1]

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrafficCurve:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})

    def alt_text(self) -> str:
        even = self.break_even
        where = (
            f"they cost the same at {short(even)} tokens a day"
            if even
            else "the API stays cheaper at every traffic shown"
        )
        return (
            f"Monthly cost against traffic: {self.api_label} rises in a straight line; "
            f"{self.step_label} rises in steps of {money(self.step_usd)} every "
            f"{short(self.step_tokens_per_day)} tokens a day; {where}; you are at "
            f"{short(self.at_tokens_per_day)} tokens a day ({money(self.at_usd)} self-hosted)."
        )


@dataclass(frozen=True)
class CostChart:
    """What the sender draws: bars in the card's order, the unit and the title, and for
    serving the traffic curve. Kept as JSON in the outbox (``to_payload``); rows written
    before the chart said why a bar had no cost (``[label, cost]``) still read."""

    bars: tuple[Bar, ...]
    unit: str
    title: str
    traffic: TrafficCurve | None = None

    def to_payload(self) -> dict[str, Any]:
        payload = {"bars": [b.to_json() for b in self.bars], "unit": self.unit, "title": self.title}
        if self.traffic is not None:
            payload["traffic"] = self.traffic.to_json()
        return payload

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
        traffic = payload.get("traffic")
        curve = TrafficCurve.from_json(traffic) if isinstance(traffic, dict) else None
        return cls(tuple(bars), str(payload["unit"]), str(payload["title"]), curve)

    @property
    def logarithmic(self) -> bool:
        costs = [b.cost for b in self.bars if b.cost]
        return bool(costs) and max(costs) / min(costs) > LOG_ABOVE


def render_cost_chart(chart: CostChart) -> bytes:
    """``chart`` as a PNG (see `cost_figure`)."""
    with _LOCK:
        out = io.BytesIO()
        cost_figure(chart).savefig(out, format="png")
    return out.getvalue()


def cost_figure(chart: CostChart) -> Any:
    """A horizontal bar chart of ``chart``, its first bar at the top, and under it the
    traffic panel when ``chart.traffic`` is set. A matplotlib Figure; callers that draw
    concurrently hold ``_LOCK`` (`render_cost_chart` does)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    bars = list(chart.bars)[::-1]  # barh draws bottom-up
    costs = [b.cost for b in bars if b.cost]
    top = max(costs, default=1.0)
    log = chart.logarithmic
    floor = 10 ** math.floor(math.log10(min(costs))) / 2 if log else 0.0
    height = 1.4 + BAR_HEIGHT * len(bars)
    extra = TRAFFIC_HEIGHT if chart.traffic is not None else 0.0
    figure = Figure(figsize=(WIDTH, height + extra), dpi=DPI, layout="constrained")
    if chart.traffic is not None:
        axes, below = figure.subplots(2, 1, height_ratios=[height, extra])
        _traffic_panel(below, chart.traffic)
    else:
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
    return figure


def _traffic_panel(axes: Any, curve: TrafficCurve) -> None:
    """The API's line, self-hosting's steps and the person's marker, labelled in words."""
    xs, ys = curve.api_line()
    axes.plot(xs, ys, color=API_COLOUR, label=f"{curve.api_label} (per token)")
    sx, sy = curve.steps()
    axes.plot(sx, sy, color=PICK_COLOUR, label=f"{curve.step_label}, self-hosted (in steps)")
    axes.plot([curve.at_tokens_per_day], [curve.at_usd], "o", color=PICK_COLOUR,
              label=f"you: {short(curve.at_tokens_per_day)} tokens a day")  # fmt: skip
    even = curve.break_even
    if even is not None:
        axes.axvline(even, color="#999999", linestyle=":", linewidth=1)
        axes.annotate(f"same cost at {short(even)}/day", (even, curve.step_usd),
                      textcoords="offset points", xytext=(6, 16), fontsize=8)  # fmt: skip
    axes.set_xlim(0, curve.span)
    axes.set_ylim(0, max(max(ys), max(sy)) * 1.05)
    axes.set_xlabel("Traffic, tokens a day")
    axes.set_ylabel("US dollars per month")
    axes.set_title("Monthly cost against traffic: API or self-hosted", fontsize=10)
    axes.xaxis.set_major_formatter(lambda x, _pos: short(x) if x else "0")
    axes.yaxis.set_major_formatter(lambda y, _pos: tick(y) if y else "$0")
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(fontsize=8, loc="upper left", frameon=False)


def tick(usd: float) -> str:
    """An axis label, short enough not to run into the next: $25K, $1.5M, $100M."""
    for suffix, scale in (("M", 1e6), ("K", 1e3)):
        if usd >= scale:
            return f"${usd / scale:,.3g}{suffix}"
    return f"${usd:,.0f}"
