"""The bulk offer-file parser keeps plain Linux on-demand rows and skips the rest."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from bot.pricing.model import PriceRefreshError, Purchase
from bot.pricing.offer_file import parse_offer, read_offer_files
from tests.pricing.offers import ROWS, offer, product, write_offer

WANTED = {"p4d.24xlarge", "inf2.48xlarge", "p5en.48xlarge"}


def test_keeps_linux_shared_used_rows_and_skips_the_others() -> None:
    quotes = parse_offer(offer(), "index.json", WANTED)
    got = {(q.instance, q.region): q.usd_per_hour for q in quotes}
    assert got == {
        ("p4d.24xlarge", "eu-west-1"): 24.1535,
        ("inf2.48xlarge", "eu-west-1"): 14.279,
        ("p4d.24xlarge", "us-east-2"): 21.9576,
    }
    assert {q.purchase for q in quotes} == {Purchase.ON_DEMAND}
    assert {q.as_of for q in quotes} == {dt.date(2026, 11, 27)}
    assert all("20261127180512" in q.source_url for q in quotes)


def test_without_a_wanted_set_every_plain_row_counts() -> None:
    quotes = parse_offer(offer(), "index.json", None)
    assert ("m5.xlarge", "eu-west-1") in {(q.instance, q.region) for q in quotes}
    assert len(quotes) == 4


@pytest.mark.parametrize(
    "skipped",
    [
        product("X", "p4d.24xlarge", os="Windows"),
        product("X", "p4d.24xlarge", tenancy="Dedicated"),
        product("X", "p4d.24xlarge", tenancy="Host"),
        product("X", "p4d.24xlarge", software="SQL Web"),
        product("X", "p4d.24xlarge", capacity="UnusedCapacityReservation"),
    ],
)
def test_each_row_to_ignore_alone_gives_nothing(tmp_path: Path, skipped: dict) -> None:
    path = write_offer(tmp_path / "one.json", offer([(skipped, "9.0")]))
    with pytest.raises(PriceRefreshError, match="no Linux price"):
        read_offer_files([path], WANTED)


def test_a_later_file_wins_for_the_same_price(tmp_path: Path) -> None:
    first = write_offer(tmp_path / "a.json")
    newer = offer([(product("P4D1", "p4d.24xlarge"), "20.0")], published="2026-12-01T00:00:00Z")
    second = write_offer(tmp_path / "b.json", newer)
    quotes = read_offer_files([first, second], WANTED)
    p4d = next(q for q in quotes if q.key[:2] == ("p4d.24xlarge", "eu-west-1"))
    assert (p4d.usd_per_hour, p4d.as_of) == (20.0, dt.date(2026, 12, 1))


def test_two_prices_for_one_instance_and_region_are_refused() -> None:
    rows = [(product("A", "p4d.24xlarge"), "1.0"), (product("B", "p4d.24xlarge"), "2.0")]
    with pytest.raises(PriceRefreshError, match="two Linux on-demand prices"):
        parse_offer(offer(rows), "f.json", WANTED)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "is not JSON"),
        (json.dumps([1, 2]), "not an AWS offer file"),
        (json.dumps({"products": {}}), "needs `products` and `terms`"),
        (json.dumps({"products": {}, "terms": {"Reserved": {}}}), "no `terms.OnDemand`"),
        (json.dumps({**offer(), "publicationDate": None}), "no publicationDate"),
        (json.dumps({**offer(), "publicationDate": "last week"}), "is not a date"),
    ],
)
def test_malformed_files_say_what_is_wrong(tmp_path: Path, content: str, says: str) -> None:
    path = tmp_path / "index.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PriceRefreshError, match=says):
        read_offer_files([path], WANTED)


def test_a_price_that_is_not_a_number_is_refused() -> None:
    data = offer(ROWS[:1])
    dims = data["terms"]["OnDemand"]["P4D1"]["P4D1.JRTCKXETXF"]["priceDimensions"]
    next(iter(dims.values()))["pricePerUnit"] = {"USD": "twenty"}
    with pytest.raises(PriceRefreshError, match="not a number"):
        parse_offer(data, "f.json", WANTED)


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(PriceRefreshError, match="cannot read the offer file"):
        read_offer_files([tmp_path / "absent.json"], WANTED)
