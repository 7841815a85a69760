"""Savings Plans price files: Compute Savings Plans, no upfront, Linux shared rates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from bot.pricing.model import PriceRefreshError, Purchase
from bot.pricing.offer_file import read_offer_files
from tests.pricing.offers import write_offer

WANTED = {"p4d.24xlarge", "inf2.48xlarge"}


def plan(sku: str, family: str, option: str, term: str) -> dict[str, Any]:
    return {
        "sku": sku,
        "productFamily": family,
        "serviceCode": "ComputeSavingsPlans",
        "attributes": {
            "purchaseOption": option,
            "purchaseTerm": term,
            "granularity": "hourly",
            "locationType": "AWS Region",
        },
    }


def rate(
    instance: str,
    usd: str,
    *,
    op: str = "RunInstances",
    usage: str = "BoxUsage",
    service: str = "AmazonEC2",
) -> dict[str, Any]:
    return {
        "discountedSku": f"D-{instance}-{op}",
        "discountedUsageType": f"EU-{usage}:{instance}",
        "discountedOperation": op,
        "discountedServiceCode": service,
        "discountedInstanceType": instance,
        "discountedRegionCode": "eu-west-1",
        "rateCode": "R",
        "unit": "Hrs",
        "discountedRate": {"price": usd, "currency": "USD"},
    }


def term(sku: str, rates: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "sku": sku,
        "description": "Compute Savings Plan",
        "effectiveDate": "2026-11-01T00:00:00Z",
        "leaseContractLength": {"duration": 1, "unit": "year"},
        "rates": rates,
    }


def savings_plans_file() -> dict[str, Any]:
    rates = [
        rate("p4d.24xlarge", "16.1020"),
        rate("p4d.24xlarge", "25.0000", op="RunInstances:0002"),  # Windows
        rate("p4d.24xlarge", "18.0000", usage="DedicatedUsage"),
        rate("inf2.48xlarge", "9.5000"),
        rate("m5.xlarge", "0.1500"),  # not in the catalogue
    ]
    return {
        "version": "20261127000000",
        "publicationDate": "2026-11-27T00:00:00Z",
        "products": [
            plan("CSP1", "ComputeSavingsPlans", "No Upfront", "1yr"),
            plan("CSP3", "ComputeSavingsPlans", "No Upfront", "3yr"),
            plan("CSPP", "ComputeSavingsPlans", "Partial Upfront", "1yr"),
            plan("EISP", "EC2InstanceSavingsPlans", "No Upfront", "1yr"),
        ],
        "terms": {
            "savingsPlan": [
                term("CSP1", rates),
                term("CSP3", [rate("p4d.24xlarge", "11.2000")]),
                term("CSPP", [rate("p4d.24xlarge", "1.0000")]),
                term("EISP", [rate("p4d.24xlarge", "2.0000")]),
            ]
        },
    }


def test_no_upfront_compute_savings_plans_for_linux_shared(tmp_path: Path) -> None:
    path = write_offer(tmp_path / "sp.json", savings_plans_file())
    quotes = read_offer_files([path], WANTED)
    got = {(q.instance, q.region, q.purchase): q.usd_per_hour for q in quotes}
    assert got == {
        ("p4d.24xlarge", "eu-west-1", Purchase.SAVINGS_PLAN_1Y): 16.102,
        ("inf2.48xlarge", "eu-west-1", Purchase.SAVINGS_PLAN_1Y): 9.5,
        ("p4d.24xlarge", "eu-west-1", Purchase.SAVINGS_PLAN_3Y): 11.2,
    }
    assert {q.as_of for q in quotes} == {dt.date(2026, 11, 27)}


def test_a_savings_plans_file_with_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    data = {**savings_plans_file(), "products": {"CSP1": {}}}
    with pytest.raises(PriceRefreshError, match="not an AWS Savings Plans file"):
        read_offer_files([write_offer(tmp_path / "sp.json", data)], WANTED)
