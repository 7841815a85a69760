"""The cheapest sensible purchase option for a path (issue 17): each option costed on
the estimate's own size at its rate, judged for the path, the cheapest sensible marked
with the commitment it needs; checked against arithmetic done by hand."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from bot.estimate.model import OptionEstimate
from bot.flow.loader import DEFAULT_FLOWS_DIR
from bot.pricing.model import PriceRefreshError, Purchase
from bot.pricing.purchase_advice import Rate, advice_line, cheapest, purchase_options
from bot.pricing.purchase_file import PathNeeds, load_purchase_file

DAY = dt.date(2026, 12, 4)
MONTH = 730.0


def option(**kw: object) -> OptionEstimate:
    base: dict[str, object] = dict(
        instance="p5.48xlarge",
        family="P5",
        accelerator="H100",
        accelerators_per_instance=8,
        instances=10,
        fits=True,
        price_per_hour_usd=50.0,
        price_basis="on-demand",
        price_where="us-east-1",
        notes=(),
        sources=(),
    )
    base.update(kw)
    return OptionEstimate(**base)  # type: ignore[arg-type]


# 10 instances for 30 days: 7,200 instance-hours
RUN = option(instance_hours=7_200.0, wall_clock_hours=720.0, cost_usd=360_000.0,
             capacity_block_cost_usd=300_000.0)  # fmt: skip
SERVE = option(monthly_cost_usd=10 * 50.0 * MONTH, tokens_per_second_capacity=5_000.0)
RATES: dict[Purchase, Rate | str] = {
    Purchase.ON_DEMAND: Rate(50.0, DAY, "https://example.test/od"),
    Purchase.CAPACITY_BLOCK: Rate(40.0, DAY, "https://example.test/cb"),
    Purchase.SAVINGS_PLAN_1Y: Rate(35.0, DAY, "https://example.test/sp"),
    Purchase.SAVINGS_PLAN_3Y: Rate(25.0, DAY, "https://example.test/sp"),
    Purchase.SPOT: Rate(20.0, DAY, "https://example.test/spot"),
}


def by_purchase(options):  # type: ignore[no-untyped-def]
    return {o.purchase: o for o in options}


def test_checkpointed_training_takes_spot_with_its_caveat() -> None:
    options = purchase_options(RUN, PathNeeds("training", checkpoints=True), RATES, MONTH)
    got = by_purchase(options)
    assert got[Purchase.SPOT].cost_usd == pytest.approx(7_200 * 20.0)  # $144,000
    assert got[Purchase.ON_DEMAND].cost_usd == pytest.approx(7_200 * 50.0)
    assert got[Purchase.CAPACITY_BLOCK].cost_usd == pytest.approx(300_000.0)  # the estimator's
    best = cheapest(options)
    assert best is not None and best.purchase is Purchase.SPOT
    assert best.caveat is not None and "two minutes' notice" in best.caveat
    line = advice_line(options, "p5.48xlarge", "us-east-1", "per run")
    assert line is not None
    assert line.startswith(
        "Cheapest sensible way to buy p5.48xlarge in us-east-1: Spot, $144,000 per run "
        "(no commitment)."
    )
    assert "not for a latency target" in line  # the caveat, said with it


def test_training_without_checkpoints_is_not_put_on_spot() -> None:
    options = purchase_options(RUN, PathNeeds("training"), RATES, MONTH)
    got = by_purchase(options)
    assert not got[Purchase.SPOT].sensible
    assert "saves checkpoints" in got[Purchase.SPOT].why
    best = cheapest(options)
    assert best is not None and best.purchase is Purchase.CAPACITY_BLOCK
    assert "booked up to 8 weeks ahead" in best.why


def test_a_savings_plan_for_a_short_run_pays_for_the_whole_term() -> None:
    got = by_purchase(purchase_options(RUN, PathNeeds("training"), RATES, MONTH))
    sp1 = got[Purchase.SAVINGS_PLAN_1Y]
    assert sp1.cost_usd == pytest.approx(35.0 * 10 * 8_760)  # every committed hour
    assert not sp1.sensible and "paid for every hour, for a 30-day run" in sp1.why
    assert got[Purchase.SAVINGS_PLAN_3Y].cost_usd == pytest.approx(25.0 * 10 * 26_280)


def test_a_run_longer_than_182_days_cannot_be_one_capacity_block() -> None:
    long_run = option(instance_hours=50_000.0, wall_clock_hours=5_000.0, cost_usd=2.5e6,
                      capacity_block_cost_usd=2e6)  # fmt: skip
    got = by_purchase(purchase_options(long_run, PathNeeds("training"), RATES, MONTH))
    assert not got[Purchase.CAPACITY_BLOCK].sensible
    assert "182 days" in got[Purchase.CAPACITY_BLOCK].why


def test_always_on_serving_takes_a_savings_plan_never_a_capacity_block() -> None:
    options = purchase_options(SERVE, PathNeeds("inference"), RATES, MONTH)
    got = by_purchase(options)
    assert got[Purchase.SAVINGS_PLAN_3Y].cost_usd == pytest.approx(25.0 * 10 * MONTH)
    block = got[Purchase.CAPACITY_BLOCK]
    assert not block.sensible
    assert "prepaid" in block.why and "182 days" in block.why
    assert not got[Purchase.SPOT].sensible  # cheaper, but serving has a latency target
    best = cheapest(options)
    assert best is not None and best.purchase is Purchase.SAVINGS_PLAN_3Y
    # the commitment: $250 an hour for 3 years, $6.57M in all
    assert best.why == "commits $250.00 an hour for 3 years ($6.57M in all), used or not"
    line = advice_line(options, "p5.48xlarge", "us-east-1", "per month")
    assert line is not None and "a 3-year Savings Plan, $182,500 per month" in line
    assert "Capacity Block $292,000, not for this path (prepaid" in line


def test_latency_bound_serving_says_why_not_spot() -> None:
    got = by_purchase(purchase_options(SERVE, PathNeeds("inference", latency_bound=True),
                                       RATES, MONTH))  # fmt: skip
    assert "not for a latency target" in got[Purchase.SPOT].why


def test_an_instance_without_spot_or_a_rate_says_so_and_borrows_nothing() -> None:
    rates = {**RATES, Purchase.SAVINGS_PLAN_1Y: "no savings-plan-1y price for x in y"}
    options = purchase_options(SERVE, PathNeeds("inference"), rates, MONTH, spot_sold=False)
    got = by_purchase(options)
    assert got[Purchase.SAVINGS_PLAN_1Y].cost_usd is None
    assert got[Purchase.SAVINGS_PLAN_1Y].why == "no savings-plan-1y price for x in y"
    assert "sells no Spot" in got[Purchase.SPOT].why
    only_blocks = {p: RATES[p] if p is Purchase.CAPACITY_BLOCK else "none" for p in RATES}
    none = purchase_options(SERVE, PathNeeds("inference"), only_blocks, MONTH)
    assert cheapest(none) is None
    line = advice_line(none, "p5e.48xlarge", "us-east-1", "per month")
    assert line is not None and line.startswith("No sensible way to buy p5e.48xlarge")


def test_an_option_that_does_not_fit_has_no_purchase_options() -> None:
    assert purchase_options(option(fits=False), PathNeeds("training"), RATES, MONTH) == ()


def test_the_shipped_file_names_the_paths_and_sources_its_bedrock_features() -> None:
    data = load_purchase_file(DEFAULT_FLOWS_DIR)
    needs = data.needs("training", ["Start", "P5en", "S3Std"])
    assert needs.checkpoints and not needs.latency_bound
    assert data.needs("inference", ["P6B200", "Direct"]).latency_bound
    assert data.needs("inference", ["Inf2", "BedrockCache"]).prompt_caching
    text, url = data.feature("batch") or ("", "")
    assert "50%" in text and url.startswith("https://docs.aws.amazon.com/bedrock/")
    assert data.feature("prompt_caching") is not None


def test_a_shipped_rate_is_a_quote_and_an_unsourced_one_is_refused(tmp_path: Path) -> None:
    source = '[sources.s]\ntitle = "t"\nurl = "https://example.test/sp"\nread_on = 2026-12-01\n'
    rate = '[[prices]]\ninstance = "p5.48xlarge"\nregion = "us-east-1"\nusd_per_hour = 30.0\n'
    (tmp_path / "purchase.toml").write_text(
        source + rate + 'purchase = "savings-plan-1y"\nsource = "s"\n', encoding="utf-8"
    )
    (quote,) = load_purchase_file(tmp_path).quotes()
    assert (quote.purchase, quote.usd_per_hour, quote.as_of) == (
        Purchase.SAVINGS_PLAN_1Y,
        30.0,
        dt.date(2026, 12, 1),
    )
    (tmp_path / "purchase.toml").write_text(
        rate + 'purchase = "spot"\nsource = "nowhere"\n', encoding="utf-8"
    )
    with pytest.raises(PriceRefreshError, match="unknown source 'nowhere'"):
        load_purchase_file(tmp_path)
    (tmp_path / "purchase.toml").write_text(
        source + rate + 'purchase = "on-demand"\nsource = "s"\n', encoding="utf-8"
    )
    with pytest.raises(PriceRefreshError, match=r"belong in offerings\.toml"):
        load_purchase_file(tmp_path)


def test_the_cli_json_lists_purchase_options_for_the_path(capsys: pytest.CaptureFixture) -> None:
    from bot.__main__ import main

    args = ["estimate", "training", "--params", "70B", "--tokens", "2T", "--json"]
    assert main([*args, "--instance", "p5en.48xlarge"]) == 0
    (first,) = [o for o in json.loads(capsys.readouterr().out) if o["kind"] == "self-hosted"]
    got = {o["purchase"]: o for o in first["purchase_options"]}
    assert first["cheapest_sensible_purchase"] == "capacity-block"  # no checkpoints: no Spot
    assert got["spot"]["sensible"] is False and "checkpoints" in got["spot"]["why"]
    assert main([*args, "--instance", "p5.48xlarge", "--checkpoints"]) == 0
    (first,) = [o for o in json.loads(capsys.readouterr().out) if o["kind"] == "self-hosted"]
    spot = {o["purchase"]: o for o in first["purchase_options"]}["spot"]
    assert spot["sensible"] is True and spot["cost_usd"] is None  # no price: none borrowed
    assert "prices refresh --spot" in spot["why"]


def test_the_shipped_spot_sample_prices_a_checkpointed_run_at_its_own_date(
    capsys: pytest.CaptureFixture,
) -> None:
    """flows/purchase.toml ships one Spot figure (p5en.48xlarge, us-east-1, $27.1988 on
    2026-08-06): a checkpointed run is priced at it, dated the day it was posted, and it
    is the cheapest sensible option beside on-demand at $63.296."""
    from bot.__main__ import main

    args = ["estimate", "training", "--params", "70B", "--tokens", "2T", "--json"]
    assert main([*args, "--instance", "p5en.48xlarge", "--checkpoints", "--purchase", "spot"]) == 0
    (first,) = [o for o in json.loads(capsys.readouterr().out) if o["kind"] == "self-hosted"]
    assert (first["price_per_hour_usd"], first["price_basis"]) == (27.1988, "spot")
    assert first["price_as_of"] == "2026-08-06"
    assert first["price_source"] == "https://github.com/dstackai/dstack/pull/4110"
    assert first["cost_usd"] == pytest.approx(
        first["instance_hours"] * 27.1988, abs=0.5
    )  # hours rounded to 0.01
    assert any("two minutes" in note for note in first["notes"])
    got = {o["purchase"]: o for o in first["purchase_options"]}
    assert first["cheapest_sensible_purchase"] == "spot"
    assert got["spot"]["cost_usd"] == pytest.approx(first["cost_usd"], abs=0.01)
    ratio = got["on-demand"]["cost_usd"] / got["spot"]["cost_usd"]
    assert ratio == pytest.approx(63.296 / 27.1988, rel=1e-6)


def test_a_rate_dated_after_its_source_was_read_or_listed_twice_is_refused(
    tmp_path: Path,
) -> None:
    source = '[sources.s]\ntitle = "t"\nurl = "https://example.test/spot"\nread_on = 2026-12-01\n'
    rate = (
        '[[prices]]\ninstance = "p5en.48xlarge"\nregion = "us-east-1"\nusd_per_hour = 27.0\n'
        'purchase = "spot"\nsource = "s"\n'
    )
    (tmp_path / "purchase.toml").write_text(source + rate + "as_of = 2026-08-06\n", "utf-8")
    (quote,) = load_purchase_file(tmp_path).quotes()
    assert quote.as_of == dt.date(2026, 8, 6)
    (tmp_path / "purchase.toml").write_text(source + rate + "as_of = 2026-12-02\n", "utf-8")
    with pytest.raises(PriceRefreshError, match="after the day its source was read"):
        load_purchase_file(tmp_path)
    (tmp_path / "purchase.toml").write_text(source + rate + rate, "utf-8")
    with pytest.raises(PriceRefreshError, match="listed twice"):
        load_purchase_file(tmp_path)


def test_rates_in_a_region_without_prices_are_reasons_not_us_east_1_rates() -> None:
    from bot.flow.loader import load_flow
    from bot.pricing.purchase_advice import rates_of
    from bot.pricing.source import SnapshotPrices

    catalogue = load_flow("llm_cost", DEFAULT_FLOWS_DIR).catalogue
    source = SnapshotPrices(catalogue, DEFAULT_FLOWS_DIR)
    here = rates_of("p4d.24xlarge", source.pricer("us-east-1"))
    on_demand = here[Purchase.ON_DEMAND]
    assert isinstance(on_demand, Rate) and on_demand.usd_per_hour == pytest.approx(21.9576)
    assert isinstance(here[Purchase.SPOT], str)  # none shipped: said, not guessed
    away = rates_of("p4d.24xlarge", source.pricer("eu-west-1"))
    assert all(isinstance(rate, str) for rate in away.values())
    assert "eu-west-1" in str(away[Purchase.ON_DEMAND])


def test_the_cli_text_names_the_cheapest_sensible_purchase(capsys: pytest.CaptureFixture) -> None:
    from bot.__main__ import main

    assert main(["estimate", "training", "--params", "70B", "--tokens", "2T"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Prices: us-east-1, on-demand, as of ")
    assert lines[1].startswith("Cheapest sensible way to buy ")
    assert "Spot, not for this path" in lines[1]


def test_the_cheapest_line_dates_a_price_read_apart_from_on_demand() -> None:
    from bot.pricing.model import PurchaseOption

    def opt(purchase: Purchase, cost: float, as_of: str | None) -> PurchaseOption:
        best = purchase is Purchase.SPOT
        return PurchaseOption(
            purchase, 1.0, cost, True, "no commitment", price_as_of=as_of, cheapest=best
        )

    older = (opt(Purchase.ON_DEMAND, 10.0, "2026-09-19"), opt(Purchase.SPOT, 4.0, "2026-08-06"))
    line = advice_line(older, "p5en.48xlarge", "us-east-1", "per run") or ""
    assert "Spot, $4.00 per run (no commitment; price of 2026-08-06)" in line
    same = (opt(Purchase.ON_DEMAND, 10.0, "2026-09-19"), opt(Purchase.SPOT, 4.0, "2026-09-19"))
    assert "price of" not in (advice_line(same, "p5en.48xlarge", "us-east-1", "per run") or "")
