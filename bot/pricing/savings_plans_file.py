"""AWS Savings Plans bulk price files (the `AWSComputeSavingsPlan` offer, one per
Region), as a team downloads them.

Such a file lists ``products`` (one per plan: family, purchase option, term) and
``terms.savingsPlan`` (per plan, the ``rates`` it gives each usage type). Kept: Compute
Savings Plans with no upfront payment, for 1 or 3 years, on EC2 Linux (operation
``RunInstances``) with shared tenancy (a ``BoxUsage`` usage type). The rates are as of
the file's ``publicationDate``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.pricing.model import PriceRefreshError, Purchase, Quote
from bot.pricing.offer_file import published

FAMILY = "ComputeSavingsPlans"
TERMS = {"1yr": Purchase.SAVINGS_PLAN_1Y, "3yr": Purchase.SAVINGS_PLAN_3Y}


def is_savings_plans(data: Any) -> bool:
    terms = data.get("terms") if isinstance(data, Mapping) else None
    return isinstance(terms, Mapping) and "savingsPlan" in terms


def parse_savings_plans(data: Mapping[str, Any], name: str, wanted: set[str] | None) -> list[Quote]:
    as_of = published(data, name)
    products, terms = data.get("products"), data["terms"].get("savingsPlan")
    if not isinstance(products, list) or not isinstance(terms, list):
        raise PriceRefreshError(
            f"{name}: not an AWS Savings Plans file (`products` and `terms.savingsPlan` "
            "must be lists)"
        )
    plans: dict[str, Purchase] = {}
    for product in products:
        attrs = product.get("attributes", {}) if isinstance(product, Mapping) else {}
        if (
            product.get("productFamily") == FAMILY
            and attrs.get("purchaseOption") == "No Upfront"
            and attrs.get("purchaseTerm") in TERMS
        ):
            plans[str(product.get("sku"))] = TERMS[attrs["purchaseTerm"]]
    version = str(data.get("version") or "current")
    url = (
        "https://pricing.us-east-1.amazonaws.com/savingsPlan/v1.0/aws/AWSComputeSavingsPlan/"
        f"{version}/index.json"
    )
    title = (
        f"AWS Savings Plans price file (Compute Savings Plans, no upfront; version {version}, "
        f"published {as_of.isoformat()}), read from {Path(name).name}"
    )
    quotes: dict[tuple[str, str, Purchase], Quote] = {}
    for term in terms:
        if not isinstance(term, Mapping) or str(term.get("sku")) not in plans:
            continue
        purchase = plans[str(term["sku"])]
        for rate in term.get("rates") or ():
            kept = _kept(rate, wanted)
            if kept is None:
                continue
            instance, region, usd = kept
            quotes[(instance, region, purchase)] = Quote(
                instance, region, purchase, usd, as_of, url, title
            )
    return list(quotes.values())


def _kept(rate: Any, wanted: set[str] | None) -> tuple[str, str, float] | None:
    if not isinstance(rate, Mapping):
        return None
    usage = str(rate.get("discountedUsageType", ""))
    if (
        rate.get("discountedServiceCode") != "AmazonEC2"
        or rate.get("discountedOperation") != "RunInstances"  # Linux/UNIX
        or "BoxUsage:" not in usage  # shared tenancy
    ):
        return None
    instance = str(rate.get("discountedInstanceType") or usage.split("BoxUsage:", 1)[1])
    region = rate.get("discountedRegionCode")
    if not region or (wanted is not None and instance not in wanted):
        return None
    try:
        usd = float(rate["discountedRate"]["price"])
    except (KeyError, TypeError, ValueError):
        raise PriceRefreshError(
            f"a Savings Plans rate for {instance} is not a number in USD"
        ) from None
    return (instance, str(region), usd) if usd > 0 else None
