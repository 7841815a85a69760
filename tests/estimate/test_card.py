"""The estimate card's layout, its chart and the text helpers: the table, the chart and
its alt text say the same thing in the same order."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from bot.conversation import Conversation, EstimateReady
from bot.conversation.recommendation import Recommendation
from bot.estimate import Estimate, card
from bot.estimate.chart import CostChart, render_cost_chart
from bot.estimate.view import DOES_NOT_FIT, NOT_ESTIMATED, job_line
from bot.quantities import article
from bot.slack.blocks import header
from bot.slack.estimate_blocks import chart_payload
from bot.text import clip
from tests.slack.test_blocks import FLOW

PNG = b"\x89PNG\r\n\x1a\n"


def estimated(
    answers: tuple[str, ...], replies: tuple[str, ...]
) -> tuple[Estimate, Recommendation]:
    """The estimate after typing ``answers`` to the flowchart and ``replies`` to its
    follow-ups, and the result it belongs to."""
    conversation = Conversation.start(FLOW)
    for text in answers:
        conversation.answer(text)
    outcome = conversation.run("estimate")
    for text in replies:
        outcome = conversation.answer(text)
    assert isinstance(outcome, EstimateReady), outcome
    recommendation = conversation.recommendation()
    assert recommendation is not None
    return outcome.estimate, recommendation


def estimate(answers: tuple[str, ...], replies: tuple[str, ...]) -> Estimate:
    return estimated(answers, replies)[0]


@pytest.fixture(scope="module")
def training() -> Estimate:
    return estimate(("Training", "10-100B params", "Active"), ("70B", "2T tokens"))


@pytest.fixture(scope="module")
def serving_405b() -> Estimate:
    return estimate(
        ("we serve a chatbot", "under 80 ms", "high", "prompt cache"), ("405B", "500M tokens a day")
    )


def test_four_columns_cost_second_cheapest_first_pick_in_words(training: Estimate) -> None:
    table = card.table(training)
    assert table[0] == ["Offering", "Cost per run", "Instances", "Wall-clock"]
    assert all(len(row) == 4 for row in table)
    costs = [r.cost.likely for r in card.card_rows(training)]
    assert costs == sorted(costs)
    picks = [row[0] for row in table if "(flowchart's pick)" in row[0]]
    assert picks == [f"{training.recommended.instance} (flowchart's pick)"]
    # one short likely price per cell, the published runs' range on the line below
    assert all(len(row[1].splitlines()[0]) <= 8 for row in table[1:])
    assert all(len(row[1].splitlines()) == 2 for row in table[1:])


def test_options_without_a_cost_go_last_in_the_same_words_as_the_chart(
    serving_405b: Estimate,
) -> None:
    options = list(serving_405b.options)
    # One option the catalogue has no figures for: "not estimated", never "does not fit".
    options[-1] = replace(options[-1], estimable=False, fits=False, monthly_cost_usd=None)
    mixed = replace(serving_405b, options=tuple(options))
    table = card.table(mixed)
    missing = [row[1] for row in table[1:] if not row[1].startswith("$")]
    assert missing and missing[-1] == NOT_ESTIMATED and DOES_NOT_FIT in missing
    assert all(not row[1].startswith("$") for row in table[len(table) - len(missing) :])
    chart = CostChart.from_payload(chart_payload(mixed))
    assert [b.label for b in chart.bars] == [row[0] for row in table[1:]]
    assert [b.missing for b in chart.bars if b.cost is None] == missing
    assert [b.pick for b in chart.bars].count(True) == 1
    alt = chart_payload(mixed)["alt_txt"]
    assert alt.endswith(f"{table[-1][0]} {NOT_ESTIMATED}.")


def test_a_cost_cell_has_room_for_a_likely_value_and_a_range() -> None:
    assert card.CostCell(4.91e6).text == "$4.91M"
    assert card.CostCell(4.9e6, 3.8e6, 7.4e6).text == "$4.90M\n$3.80M–$7.40M"
    assert card.CostCell(None, missing=DOES_NOT_FIT).text == DOES_NOT_FIT


def test_the_other_purchase_option_is_a_note(training: Estimate) -> None:
    note = card.price_note(training)
    assert "As a Capacity Block instead: p5en.48xlarge $" in note
    # cheapest first, as in the table; P5, P4de and Trn1 are compared with the pick
    assert (
        "At on-demand prices: p5.48xlarge, trn1.32xlarge, p5en.48xlarge, p4d.24xlarge, "
        "p4de.24xlarge." in note
    )


def test_sources_are_named_for_what_they_prove(training: Estimate) -> None:
    catalogue = FLOW.catalogue
    named = dict((url, what) for what, url in card.named_sources(training, catalogue))
    assert set(named) == set(training.sources)
    prices = [w for w in named.values() if w.endswith("on-demand price")]
    assert sorted(prices) == [
        "p5.48xlarge and p4de.24xlarge on-demand price",  # a public copy of the price list
        "p5en.48xlarge, trn1.32xlarge and p4d.24xlarge on-demand price",  # AWS's price list
    ]
    assert "NVIDIA H200 memory, peak FLOPs and memory bandwidth" in named.values()
    for what in named.values():  # a title cut short ends at a word, with an ellipsis
        assert not what.endswith("…") or what[-2] != " "


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        (
            "Amazon EC2 Capacity Blocks for ML pricing (prices effective",
            30,
            "Amazon EC2 Capacity Blocks…",
        ),
        ("a" * 40, 10, "a" * 9 + "…"),
    ],
)
def test_clip_cuts_at_a_word(text: str, limit: int, expected: str) -> None:
    assert clip(text, limit) == expected
    assert len(clip(text, limit)) <= limit


def test_a_long_header_is_cut_at_a_word() -> None:
    text = "Recommendation: " + " ".join(["p5en.48xlarge with FSx for Lustre"] * 8)
    shown = header(text)["text"]["text"]
    assert len(shown) <= 150 and shown.endswith("…")
    assert text.startswith(shown[:-1]) and text[len(shown) - 1] == " "


@pytest.mark.parametrize(
    ("params", "word"),
    [
        ("8B", "an"),
        ("70B", "a"),
        ("11B", "an"),
        ("18B", "an"),
        ("180B", "a"),
        ("1.5T", "a"),
        ("80B", "an"),
        ("405B", "a"),
    ],
)
def test_the_article_before_a_size(params: str, word: str) -> None:
    assert article(params) == word


def test_an_8b_model_reads_an_8b_model() -> None:
    small = estimate(("we pre-train an 8B model", "cost", "checkpoints"), ("1T tokens",))
    assert "of an 8B-parameter model" in job_line(small)


def test_the_chart_is_drawn_on_a_log_axis_when_costs_span_ten_times() -> None:
    bars = [
        ["c7g.16xlarge", 6088.0, "", False],
        ["p5en.48xlarge (flowchart's pick)", 3.21e6, "", True],
    ]
    chart = CostChart.from_payload({"bars": bars, "unit": "per month", "title": "t"})
    assert chart.logarithmic
    assert render_cost_chart(chart).startswith(PNG)
    near = CostChart.from_payload(
        {"bars": [["a", 1.0e6], ["b", 2.0e6]], "unit": "per run", "title": "t"}
    )
    assert not near.logarithmic
    assert render_cost_chart(near).startswith(PNG)


def test_a_chart_row_written_before_this_layout_still_reads() -> None:
    old = {
        "bars": [["p5en.48xlarge (recommended)", 4.9e6], ["p4d.24xlarge", None]],
        "unit": "per run",
        "title": "t",
    }
    chart = CostChart.from_payload(old)
    assert chart.bars[1].missing == DOES_NOT_FIT and chart.bars[1].cost is None
    with pytest.raises(TypeError):
        CostChart.from_payload({**old, "bars": [["x", "not a number"]]})


def test_a_result_cards_links_are_named_by_their_page_not_a_host() -> None:
    from bot.slack.blocks import recommendation_message
    from tests.slack.test_blocks import finished

    rec = finished(("Training", "10-100B params", "Active")).recommendation()
    assert rec is not None
    text = json.dumps(recommendation_message(rec))
    names = re.findall(r"<https://[^|>]+\|([^>]+)>", text)
    assert names and "AWS price list behind the EC2 On-Demand pricing page" in names
    assert not [n for n in names if re.fullmatch(r"[\w.-]+\.(com|org|net|io)", n)]
    assert all(not n.endswith("…") or n[-2].isalnum() for n in names)  # cut at a word
