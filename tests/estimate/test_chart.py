"""The estimate's bar chart on its own (bot/estimate/chart.py): what the outbox keeps of it, when
the axis turns logarithmic, the axis labels, and the PNG it draws."""

from __future__ import annotations

import struct

import pytest

from bot.estimate.chart import LOG_ABOVE, Bar, CostChart, render_cost_chart, tick

PNG = b"\x89PNG\r\n\x1a\n"


def chart(*costs: float | None) -> CostChart:
    bars = tuple(
        Bar(f"offer-{i}", cost, "does not fit", pick=i == 0) for i, cost in enumerate(costs)
    )
    return CostChart(bars, "per run", "Training a 70B model on 2T tokens")


def test_the_outbox_payload_reads_back_the_same_chart() -> None:
    drawn = CostChart(
        (Bar("p5en (flowchart's pick)", 6088.5, pick=True), Bar("trn2", None, "not estimated")),
        "per month",
        "Serving",
    )
    payload = drawn.to_payload()
    assert payload["bars"][1] == ["trn2", None, "not estimated", False]
    assert CostChart.from_payload(payload) == drawn


def test_a_row_written_before_bars_said_why_reads_as_does_not_fit() -> None:
    old = {"bars": [["a", 10], ["b", None]], "unit": "per run", "title": "t"}
    read = CostChart.from_payload(old)
    assert read.bars == (Bar("a", 10.0, "does not fit"), Bar("b", None, "does not fit"))


def test_a_cost_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(TypeError, match="a number or null"):
        CostChart.from_payload({"bars": [["a", "$10"]], "unit": "u", "title": "t"})


@pytest.mark.parametrize(
    ("costs", "log"),
    [
        ((100.0, 100.0 * LOG_ABOVE), False),  # exactly ten times: still linear
        ((100.0, 100.0 * LOG_ABOVE + 1), True),
        ((6088.0, 3.21e6, None), True),  # a bar without a cost does not count
        ((None, None), False),
        ((5.0,), False),
    ],
)
def test_the_axis_is_logarithmic_only_beyond_ten_times(costs: tuple, log: bool) -> None:
    assert chart(*costs).logarithmic is log


@pytest.mark.parametrize(
    ("usd", "label"),
    [(0, "$0"), (950, "$950"), (25_000, "$25K"), (1_500_000, "$1.5M"), (1e8, "$100M")],
)
def test_axis_labels_are_short(usd: float, label: str) -> None:
    assert tick(usd) == label


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG)
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_png_grows_with_the_number_of_bars() -> None:
    two = png_size(render_cost_chart(chart(1000.0, 2000.0)))
    five = png_size(render_cost_chart(chart(1000.0, 2000.0, None, 3000.0, 4000.0)))
    assert two[0] == five[0]
    assert five[1] > two[1]


def test_a_chart_without_any_cost_still_draws() -> None:
    assert render_cost_chart(chart(None, None)).startswith(PNG)


def test_the_chart_benchmark_draws_with_the_chart_s_current_interface() -> None:
    """bench/chart_bench.py calls render_cost_chart as the sender does; one round of it
    keeps the benchmark from falling behind the chart's interface unnoticed."""
    from bench import chart_bench

    assert len(chart_bench.chart_ms(1)) == 1
