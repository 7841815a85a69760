"""Slack's own bar chart for the estimate: used only where it shows what the PNG shows,
and within the block's documented limits."""

from __future__ import annotations

from dataclasses import replace

from bot.estimate import Estimate, card
from bot.slack.estimate_blocks import estimate_message
from bot.slack.native_chart import MAX_CATEGORY, has_native_chart, native_chart
from tests.estimate.test_card import estimated
from tests.slack.conftest import assert_valid_native_chart

TRAINING = (("Training", "10-100B params", "Active"), ("70B", "2T tokens"))
SERVING = (
    ("we serve a chatbot", "under 80 ms", "high", "prompt cache"),
    ("405B", "500M tokens a day"),
)


def test_costs_within_ten_times_get_a_native_chart_in_the_cards_order() -> None:
    estimate, rec = estimated(*TRAINING)
    block = native_chart(estimate)
    assert block is not None
    assert_valid_native_chart(block)
    rows = card.card_rows(estimate)
    points = block["chart"]["series"][0]["data"]
    assert [p["label"] for p in points] == [r.option.instance for r in rows]
    assert [p["value"] for p in points] == [round(r.cost.likely or 0) for r in rows]
    assert block["title"] == f"Cost per run (pick: {estimate.recommended.instance})"
    message = estimate_message(estimate, rec, native_chart=True)
    assert has_native_chart(message)
    assert not has_native_chart(estimate_message(estimate, rec))  # off unless asked


def test_an_option_without_a_cost_keeps_the_png() -> None:
    estimate, _ = estimated(*SERVING)  # some offerings do not fit a 405B model
    assert any(r.cost.likely is None for r in card.card_rows(estimate))
    assert native_chart(estimate) is None


def test_costs_more_than_ten_times_apart_keep_the_png() -> None:
    estimate, _ = estimated(*TRAINING)
    cheap = replace(estimate.options[1], cost_usd=(estimate.options[0].cost_usd or 0) / 20)
    spread = replace(estimate, options=(estimate.options[0], cheap, *estimate.options[2:]))
    assert native_chart(spread) is None


def test_a_name_longer_than_a_category_keeps_the_png() -> None:
    estimate, _ = estimated(*TRAINING)
    long = replace(estimate.options[1], instance="x" * (MAX_CATEGORY + 1))
    named: Estimate = replace(estimate, options=(estimate.options[0], long, *estimate.options[2:]))
    assert native_chart(named) is None
