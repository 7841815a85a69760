"""The chart's cost-against-traffic panel (issue 17): the API as a line, self-hosting as
steps, a marker where the person is. Asserted on the figure's data, not its pixels."""

from __future__ import annotations

import pytest

from bot.estimate.card import traffic_curve
from bot.estimate.chart import Bar, CostChart, TrafficCurve, cost_figure, render_cost_chart
from bot.estimate.dialog import EstimateInputs, compute
from bot.flow.loader import DEFAULT_FLOWS_DIR, load_flow

# the API: $0.0001 a month per token a day; a step: $5,000 a month for 40M tokens a day
CURVE = TrafficCurve("Big 70B on Amazon Bedrock", 1e-4, "inf2.24xlarge", 5_000.0, 40e6,
                     100e6, 15_000.0)  # fmt: skip
BARS = (Bar("inf2.24xlarge (flowchart's pick)", 15_000.0, pick=True), Bar("c7g", None))


def test_no_break_even_when_a_full_step_costs_more_than_the_api() -> None:
    # a full step carries 40M tokens a day, which cost $4,000 a month through the API:
    # less than the step's $5,000, and every later step adds the same: the API stays cheaper
    assert CURVE.break_even is None
    assert "the API stays cheaper at every traffic shown" in CURVE.alt_text()
    figure = cost_figure(CostChart(BARS, "per month", "t", CURVE))
    assert len(figure.axes[1].lines) == 3  # no break-even rule drawn


def test_the_panel_draws_the_api_line_the_steps_and_the_person() -> None:
    curve = TrafficCurve("Big 70B on Amazon Bedrock", 2e-4, "inf2.24xlarge", 5_000.0, 40e6,
                         100e6, 15_000.0)  # fmt: skip
    assert curve.break_even == pytest.approx(25e6)  # $5,000 / $0.0002
    figure = cost_figure(CostChart(BARS, "per month", "t", curve))
    bars_axes, panel = figure.axes
    api, steps, you = panel.lines[:3]
    assert api.get_label().startswith("Big 70B on Amazon Bedrock")
    (x0, x1), (y0, y1) = api.get_data()
    assert (x0, y0) == (0.0, 0.0) and y1 == pytest.approx(2e-4 * x1)  # a straight line
    assert x1 == curve.span == pytest.approx(200e6)  # twice the person's traffic
    xs, ys = steps.get_data()
    # flat at k × $5,000 from (k-1) × 40M to k × 40M: one more instance per 40M a day
    assert list(ys[:5]) == [5_000.0, 5_000.0, 10_000.0, 10_000.0, 15_000.0]
    assert list(xs[:5]) == [0.0, 40e6, 40e6, 80e6, 80e6]
    assert xs[-1] >= curve.span and ys[-1] == 5_000.0 * 5
    assert list(zip(*you.get_data(), strict=True)) == [(100e6, 15_000.0)]
    assert you.get_label() == "you: 100M tokens a day"
    assert panel.get_xlabel() == "Traffic, tokens a day"
    assert [line.get_xdata()[0] for line in panel.lines[3:]] == [pytest.approx(25e6)]
    assert bars_axes.get_xlabel() == "US dollars per month"


def test_without_a_curve_there_is_one_panel_and_the_payload_round_trips() -> None:
    assert len(cost_figure(CostChart(BARS, "per month", "t")).axes) == 1
    chart = CostChart(BARS, "per month", "t", CURVE)
    assert CostChart.from_payload(chart.to_payload()) == chart
    assert render_cost_chart(chart).startswith(b"\x89PNG")


def test_the_cards_curve_agrees_with_the_estimates_break_even() -> None:
    flow = load_flow("llm_cost", DEFAULT_FLOWS_DIR)
    inputs = EstimateInputs(kind="inference", params=8e9, tokens_per_second=500e6 / 86_400)
    estimate = compute(flow, inputs, "Inf2", ["Inf2", "Direct"])
    assert estimate is not None and estimate.api is not None
    curve = traffic_curve(estimate)
    assert curve is not None
    pick = estimate.recommended
    assert curve.at_tokens_per_day == pytest.approx(500e6)
    assert curve.at_usd == pick.monthly_cost_usd
    assert curve.api_usd_per_token_day * 500e6 == pytest.approx(estimate.api.monthly_cost_usd)
    even = dict(estimate.api.break_even_tokens_per_day)[pick.instance]
    if even is None:
        assert curve.break_even is None
    else:
        assert curve.break_even == pytest.approx(even, abs=1)
    assert "you are at 500M tokens a day" in curve.alt_text()


def test_training_has_no_traffic_curve() -> None:
    flow = load_flow("llm_cost", DEFAULT_FLOWS_DIR)
    inputs = EstimateInputs(kind="training", params=70e9, tokens=2e12)
    estimate = compute(flow, inputs, "P5en", ["P5en", "S3Std"])
    assert estimate is not None and traffic_curve(estimate) is None


def test_break_even_is_one_steps_cost_over_the_apis_rate_on_a_real_estimate() -> None:
    flow = load_flow("llm_cost", DEFAULT_FLOWS_DIR)
    inputs = EstimateInputs(kind="inference", params=8e9, tokens_per_second=500e6 / 86_400)
    estimate = compute(flow, inputs, "Inf2", ["Inf2", "Direct"])
    assert estimate is not None and estimate.api is not None
    pick = estimate.recommended
    assert pick.instances > 1 and pick.monthly_cost_usd and pick.tokens_per_second_capacity
    steps = min(pick.instances, pick.replicas or pick.instances)
    rate = estimate.api.monthly_cost_usd / (500e6 / 86_400)  # the API's $ per token/s-month
    by_hand = pick.monthly_cost_usd / steps / rate * 86_400
    one_step = pick.tokens_per_second_capacity / steps * 86_400
    # inside one step's capacity it is the break-even; past it, the API is cheaper at any
    # traffic (every step adds the same cost and capacity)
    expected = round(by_hand) if by_hand <= one_step else None
    assert dict(estimate.api.break_even_tokens_per_day)[pick.instance] == expected


def test_a_serving_card_with_a_traffic_panel_keeps_the_png() -> None:
    from bot.slack.native_chart import native_chart
    from tests.estimate.test_card import estimated

    answers = ("Inference", "Standard 100-500ms", "Throughput", "No Cache")
    estimate, _rec = estimated(answers, ("8B", "100M tokens a day"))
    assert traffic_curve(estimate) is not None
    assert native_chart(estimate) is None  # Slack's bar chart cannot draw the panel
