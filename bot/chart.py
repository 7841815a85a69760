"""The estimate's bar chart as a PNG: one bar per offering, its cost written on it.

matplotlib with the Agg backend, imported on first use so that a process that
never draws (the terminal, the CLI) does not pay for it. Pure apart from that:
numbers in, bytes out.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence

from bot.quantities import money

_LOCK = threading.Lock()  # matplotlib shares font and text caches: one chart at a time
WIDTH, BAR_HEIGHT, DPI = 8.0, 0.6, 110


def render_cost_chart(bars: Sequence[tuple[str, float | None]], unit: str, title: str) -> bytes:
    """A horizontal bar chart of ``bars`` (label, cost or None for "does not fit")."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    labels = [label for label, _ in bars][::-1]
    values = [cost or 0.0 for _, cost in bars][::-1]
    top = max(values, default=0.0) or 1.0
    with _LOCK:
        figure = Figure(figsize=(WIDTH, 1.2 + BAR_HEIGHT * len(bars)), dpi=DPI)
        axes = figure.add_subplot()
        colours = ["#1d3557" if i == len(bars) - 1 else "#8da9c4" for i in range(len(bars))]
        axes.barh(labels, values, color=colours)
        for y, (value, (_, cost)) in enumerate(zip(values, list(bars)[::-1], strict=True)):
            text = money(cost) if cost is not None else "does not fit"
            axes.text(value + top * 0.01, y, text, va="center", fontsize=9)
        axes.set_xlim(0, top * 1.25)
        axes.set_xlabel(f"US dollars {unit}")
        axes.set_title(title, fontsize=10)
        axes.spines[["top", "right"]].set_visible(False)
        axes.xaxis.set_major_formatter(lambda x, _pos: money(x))
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="png")
    return out.getvalue()
