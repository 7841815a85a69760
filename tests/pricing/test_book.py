"""Which price an estimate gets: the snapshot, refreshed prices over it, Regions without
a price (and the nearest that have one), Savings Plans, Spot and Capacity Blocks."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.flow.catalogue import Catalogue
from bot.flow.loader import DEFAULT_FLOWS_DIR, load_flow
from bot.pricing.book import PriceBook, priced_catalogue
from bot.pricing.model import NoPrice, Purchase, Quote
from bot.pricing.regions import nearest, read_region

DAY = dt.date(2026, 11, 27)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_flow("llm_cost", DEFAULT_FLOWS_DIR).catalogue


def quote(instance: str, region: str, purchase: Purchase, usd: float) -> Quote:
    return Quote(instance, region, purchase, usd, DAY, "https://example.test/p", "test prices")


def test_the_shipped_case_leaves_the_catalogue_as_it_is(catalogue: Catalogue) -> None:
    priced = priced_catalogue(catalogue, PriceBook.of(catalogue), "us-east-1", Purchase.ON_DEMAND)
    assert priced.catalogue == catalogue
    assert priced.missing == {}


def test_snapshot_quotes_carry_their_date_and_source(catalogue: Catalogue) -> None:
    found = PriceBook.of(catalogue).quote("p4d.24xlarge", "us-east-1", Purchase.ON_DEMAND)
    assert isinstance(found, Quote)
    assert (found.usd_per_hour, found.as_of) == (21.9576, dt.date(2026, 9, 19))
    assert found.source_url.startswith("https://b0.p.awsstatic.com/pricing/")


def test_no_price_in_a_region_names_the_nearest_that_have_one(catalogue: Catalogue) -> None:
    stored = [
        quote("p4d.24xlarge", "eu-west-1", Purchase.ON_DEMAND, 24.1535),
        quote("p4d.24xlarge", "ap-northeast-1", Purchase.ON_DEMAND, 30.0),
    ]
    book = PriceBook.of(catalogue, stored)
    found = book.quote("p4d.24xlarge", "eu-central-1", Purchase.ON_DEMAND)
    assert isinstance(found, NoPrice)
    assert found.nearest == ("eu-west-1", "us-east-1", "ap-northeast-1")
    assert "nearest regions with one: eu-west-1, us-east-1" in found.message()


def test_an_instance_without_a_price_there_is_left_out_not_priced_elsewhere(
    catalogue: Catalogue,
) -> None:
    stored = [quote("p4d.24xlarge", "eu-west-1", Purchase.ON_DEMAND, 24.1535)]
    priced = priced_catalogue(
        catalogue, PriceBook.of(catalogue, stored), "eu-west-1", Purchase.ON_DEMAND
    )
    p4d = priced.catalogue.instances["p4d.24xlarge"]
    assert (p4d.price.usd_per_hour, p4d.price.where) == (24.1535, "eu-west-1")
    assert priced.catalogue.sources[p4d.price.source].read_on == DAY
    assert "inf2.48xlarge" in priced.missing
    assert priced.missing["inf2.48xlarge"].nearest == ("us-east-1",)
    assert priced.keep([("inf2.48xlarge", "p4d.24xlarge"), ("inf2.xlarge",)]) == [("p4d.24xlarge",)]


def test_a_refreshed_price_wins_over_the_snapshot(catalogue: Catalogue) -> None:
    stored = [quote("p4d.24xlarge", "us-east-1", Purchase.ON_DEMAND, 19.0)]
    priced = priced_catalogue(
        catalogue, PriceBook.of(catalogue, stored), "us-east-1", Purchase.ON_DEMAND
    )
    assert priced.catalogue.instances["p4d.24xlarge"].price.usd_per_hour == 19.0
    untouched = priced.catalogue.instances["inf2.48xlarge"]
    assert untouched == catalogue.instances["inf2.48xlarge"]


@pytest.mark.parametrize(
    "purchase", [Purchase.SAVINGS_PLAN_1Y, Purchase.SAVINGS_PLAN_3Y, Purchase.SPOT]
)
def test_savings_plan_and_spot_rates_price_the_hour(
    catalogue: Catalogue, purchase: Purchase
) -> None:
    stored = [quote("p5en.48xlarge", "us-east-1", purchase, 40.0)]
    priced = priced_catalogue(catalogue, PriceBook.of(catalogue, stored), "us-east-1", purchase)
    p5en = priced.catalogue.instances["p5en.48xlarge"]
    assert (p5en.on_demand.usd_per_hour if p5en.on_demand else None) == 40.0
    assert p5en.capacity_block is None
    # nothing in the snapshot is a Savings Plan or Spot rate: every other one is missing
    assert set(priced.missing) == set(catalogue.instances) - {"p5en.48xlarge"}
    assert priced.missing["p4d.24xlarge"].purchase is purchase


def test_capacity_blocks_use_the_sheet_price_where_it_applies(catalogue: Catalogue) -> None:
    book = PriceBook.of(catalogue)
    priced = priced_catalogue(catalogue, book, "us-east-2", Purchase.CAPACITY_BLOCK)
    p5e = priced.catalogue.instances["p5e.48xlarge"]  # sheet: US East (Ohio)
    assert p5e.on_demand is None and p5e.price.usd_per_hour == 47.76
    assert "p5en.48xlarge" in priced.missing  # its sheet says "US Regions": not Ohio by name


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("eu-west-1", "eu-west-1"),
        ("in eu-central-1 please", "eu-central-1"),
        ("Frankfurt", "eu-central-1"),
        ("EU (Ireland)", "eu-west-1"),
        ("tokyo", "ap-northeast-1"),
        ("Ireland", "eu-west-1"),
        ("northern virginia", "us-east-1"),
        ("Oregon", "us-west-2"),
        ("atlantis", None),
        ("xx-west-9", None),
    ],
)
def test_regions_read_from_codes_cities_and_price_list_names(text: str, region: str) -> None:
    assert read_region(text) == region


def test_nearest_orders_by_distance_and_lists_unknown_codes_last() -> None:
    assert nearest("eu-west-2", {"eu-west-1", "us-east-1", "ap-south-1", "zz-new-1"}, 4) == (
        "eu-west-1",
        "us-east-1",
        "ap-south-1",
        "zz-new-1",
    )
