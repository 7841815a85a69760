"""Milliseconds to draw the estimate's chart, against matplotlib's floor in the same run.

    python -m bench.chart_bench [--rounds N]

The chart is drawn by the outbox sender, after the ack, once per estimate. The
baseline draws a figure of the same size with nothing on it and saves it as PNG:
the part of the cost that is matplotlib's, whatever we draw. Prints medians and
their ratio; not a test.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

from bot.estimate.chart import BAR_HEIGHT, DPI, WIDTH, Bar, CostChart, render_cost_chart

# Bar lengths to draw (a training card's shape: five offerings, one picked); the
# drawing's cost does not depend on them.
BARS = (
    Bar("p5en.48xlarge (recommended)", 4.91e6, pick=True),
    Bar("u-p6e-gb200x72", 2.60e6),
    Bar("trn2.48xlarge", 2.06e6),
    Bar("p5e.48xlarge", 3.71e6),
    Bar("p4d.24xlarge", 5.13e6),
)
CHART = CostChart(BARS, "per run", "Estimated cost per run: 70B on 2T tokens")


def chart_ms(rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        render_cost_chart(CHART)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def empty_figure_ms(rounds: int) -> list[float]:
    from matplotlib.figure import Figure

    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        figure = Figure(figsize=(WIDTH, 1.4 + BAR_HEIGHT * len(BARS)), dpi=DPI)
        figure.add_subplot()
        figure.savefig(io.BytesIO(), format="png")
        times.append((time.perf_counter() - t0) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    rounds = parser.parse_args().rounds
    t0 = time.perf_counter()
    render_cost_chart(CostChart(BARS[:1], "per run", "warm-up"))  # imports matplotlib
    first = (time.perf_counter() - t0) * 1000
    chart, floor = statistics.median(chart_ms(rounds)), statistics.median(empty_figure_ms(rounds))
    print(f"first chart in a process (imports matplotlib): {first:.0f} ms")
    print(f"estimate chart, median of {rounds}: {chart:.1f} ms")
    print(f"empty figure saved as PNG (baseline), median of {rounds}: {floor:.1f} ms")
    print(f"ratio chart / baseline: {chart / floor:.2f}x")


if __name__ == "__main__":
    main()
