"""An estimate as words and rows (bot/estimate/view.py), on estimates of the shipped
catalogue: the table's cells, why an option has no cost, ranges that collapse, the
headline, the cheaper option beside the flowchart's pick, and the terminal's chart."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.estimate import Estimate, OptionEstimate, view
from bot.estimate.dialog import EstimateInputs, compute
from bot.flow.catalogue import PriceBasis
from bot.flow.loader import load_flow
from bot.quantities import money

FLOW = load_flow()


def estimate(**inputs: float | str) -> Estimate:
    found = compute(FLOW, EstimateInputs(**inputs), None)
    assert found is not None
    return found


@pytest.fixture(scope="module")
def training() -> Estimate:
    return estimate(kind="training", params=7e10, tokens=2e12)


@pytest.fixture(scope="module")
def serving() -> Estimate:
    return estimate(kind="inference", params=7e10, tokens_per_second=5000.0)


def with_options(found: Estimate, *options: OptionEstimate) -> Estimate:
    return replace(found, options=options)


def test_the_table_has_a_header_of_its_kind_and_one_row_per_option(
    training: Estimate, serving: Estimate
) -> None:
    assert view.header(training)[-1] == "Cost per run"
    assert view.header(serving)[-1] == "Cost per month"
    for found in (training, serving):
        table = view.rows(found)
        assert len(table) == len(found.options)
        assert all(len(r) == len(view.header(found)) for r in table)
        assert table[0][0] == f"{found.recommended.instance} (recommended)"
        assert [r[0] for r in table[1:]] == [o.instance for o in found.options[1:]]


def test_an_option_without_a_cost_says_why_in_every_cost_column(training: Estimate) -> None:
    pick = training.recommended
    no_fit = replace(pick, fits=False, recommended=False)
    unknown = replace(pick, estimable=False, fits=False, recommended=False)
    assert view.no_cost(no_fit) == view.DOES_NOT_FIT
    assert view.no_cost(unknown) == view.NOT_ESTIMATED
    assert view.row(training, no_fit) == [pick.instance, "does not fit", "-", "-", "does not fit"]
    assert view.row(training, unknown)[1::3] == ["not estimated", "not estimated"]


def test_a_cost_range_that_rounds_to_one_figure_is_shown_once(training: Estimate) -> None:
    pick = training.recommended
    assert pick.cost_usd is not None and pick.cost_usd_range is not None
    low, high = pick.cost_usd_range
    assert view.likely_range(pick) == (
        f"likely {money(pick.cost_usd)} (range {money(low)}-{money(high)})"
    )
    flat = replace(pick, cost_usd_range=(pick.cost_usd, pick.cost_usd * 1.0001))
    assert view.likely_range(flat) == money(pick.cost_usd)
    assert view.cost_cell(flat) == f"{money(pick.cost_usd)} {pick.price_basis}"


def test_a_wall_clock_range_names_its_unit_once(training: Estimate) -> None:
    pick = training.recommended
    text = view.duration_range(pick)
    assert text.count("days") == 2  # "27.2 days (26.1-32.6 days)"
    assert view.duration_range(replace(pick, wall_clock_hours_range=None)).count("days") == 1


def test_a_cost_cell_adds_the_capacity_block_and_says_too_slow(training: Estimate) -> None:
    both = next(o for o in training.options if o.capacity_block_cost_usd is not None)
    cell = view.cost_cell(both)
    assert cell.startswith(money(both.cost)) and cell.endswith("as a Capacity Block")
    assert f"; {money(both.capacity_block_cost_usd)}" in cell
    assert view.cost_cell(replace(both, meets_latency=False)) == f"{cell}, too slow"


def test_the_headline_says_how_many_how_long_how_much(
    training: Estimate, serving: Estimate
) -> None:
    pick = training.recommended
    assert view.headline(training) == (
        f"{pick.instances:,} × {pick.instance} for {view.duration_range(pick)}: "
        f"{view.likely_range(pick)} per run ({pick.price_basis})"
    )
    served = serving.recommended
    assert view.headline(serving).endswith(
        f"{money(served.monthly_cost_usd)} per month ({served.price_basis})"
    )
    unfit = with_options(training, replace(pick, fits=False), *training.options[1:])
    assert view.headline(unfit) == f"{pick.instance}: does not fit"


def test_the_cheaper_option_is_named_with_the_saving(training: Estimate) -> None:
    pick = training.recommended
    assert pick.cost is not None
    rivals = [o for o in training.options[1:] if o.fits and o.cost and o.cost < pick.cost]
    best = min(rivals, key=lambda o: o.cost or 0.0)
    line = view.cheaper_alternative(training)
    assert line is not None and line.startswith(f"{best.instance} meets this for ")
    assert f"{1 - (best.cost or 0) / pick.cost:.0%} less ({money(best.cost)})" in line
    alone = with_options(training, pick, *(o for o in training.options[1:] if o not in rivals))
    assert view.cheaper_alternative(alone) is None
    slow = [replace(o, meets_latency=False) if o in rivals else o for o in training.options[1:]]
    assert view.cheaper_alternative(with_options(training, pick, *slow)) is None


def test_serving_never_suggests_a_capacity_block_only_option(serving: Estimate) -> None:
    line = view.cheaper_alternative(serving)
    blocks = [o.instance for o in serving.options if o.price_basis == PriceBasis.CAPACITY_BLOCK]
    assert blocks, "the shipped catalogue has a Capacity Block option for serving"
    assert line is not None and not any(line.startswith(b) for b in blocks)


def test_the_terminal_bar_chart_scales_to_the_dearest_option(serving: Estimate) -> None:
    lines = view.bar_chart(serving, width=40)
    assert len(lines) == len(serving.options)
    costs = [o.cost for o in serving.options if o.fits and o.cost]
    dearest = max(costs)
    for option, line in zip(serving.options, lines, strict=True):
        if not option.fits:
            assert line.endswith(view.no_cost(option)) and "#" not in line
            continue
        assert line.count("#") == max(1, round(40 * (option.cost or 0) / dearest))
        assert line.endswith(money(option.cost))


def test_the_text_table_lines_up_its_columns(training: Estimate) -> None:
    lines = view.text_table(training)
    assert len(lines) == len(training.options) + 2
    rule = lines[1].split("  ")
    assert all(set(dashes) == {"-"} for dashes in rule)
    starts = [lines[0].index(h) for h in view.header(training)]
    assert starts == [sum(len(d) + 2 for d in rule[:i]) for i in range(len(rule))]


def test_the_charts_alt_text_names_every_option_and_its_cost(serving: Estimate) -> None:
    text = view.chart_alt_text(serving)
    assert text.startswith("Bar chart of the estimated cost per month: ")
    for option in serving.options:
        said = money(option.cost) if option.fits else view.no_cost(option)
        assert f"{option.instance} {said}" in text


def test_prices_say_where_and_when_and_what_was_left_out(training: Estimate) -> None:
    assert view.estimate_price_lines(replace(training, priced_in=None), "2026-01-01") == [
        "Prices as of 2026-01-01; they drift."
    ]
    priced = training.priced_in
    assert priced is not None
    left = replace(training, priced_in=replace(priced, missing=("p4d.24xlarge (no price)",)))
    lines = view.estimate_price_lines(left, "2026-01-01")
    assert lines[0].startswith(f"Priced in {priced.region}, {priced.purchase}; prices as of ")
    assert lines[1:] == ["Left out: p4d.24xlarge (no price)."]


def test_the_job_line_is_in_the_persons_terms(training: Estimate, serving: Estimate) -> None:
    assert view.job_line(training) == "full training of a 70B-parameter model on 2T tokens"
    assert view.job_line(serving) == (
        "serving a 70B-parameter model at bf16, 5,000 tokens/s on average"
    )
    assert view.serving_line(training) is None
    line = view.serving_line(serving)
    assert line is not None and line.startswith(f"vLLM on {serving.recommended.instance}: ")
