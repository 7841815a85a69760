"""AWS Price List bulk offer files (the EC2 offer format) as a team downloads them;
`read_offer_files` also takes Savings Plans price files (`savings_plans_file`).

An offer file holds ``products`` keyed by SKU, each with ``attributes``, and
``terms.OnDemand`` keyed by SKU, each term with ``priceDimensions`` carrying
``pricePerUnit.USD`` per ``Hrs``. Only what a person would rent for an LLM workload
counts: Linux, shared tenancy, no pre-installed software, ``capacitystatus`` Used, in
an AWS Region. Windows, dedicated hosts, SQL Server images and capacity-reservation
rows are skipped. The prices are as of the file's ``publicationDate``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from bot.pricing.model import PriceRefreshError, Purchase, Quote
from bot.pricing.regions import region_of_location

# The attributes a row must have to be the plain Linux price of an instance.
KEEP: dict[str, str] = {
    "operatingSystem": "Linux",
    "tenancy": "Shared",
    "preInstalledSw": "NA",
    "capacitystatus": "Used",
}


def read_offer_files(paths: Iterable[Path], wanted: set[str] | None) -> list[Quote]:
    """Every on-demand price of ``wanted`` instance types (all when None) in the
    files; raises `PriceRefreshError` naming the file on anything malformed."""
    quotes: dict[tuple[str, str, Purchase], Quote] = {}
    for path in paths:
        try:
            data = json.loads(Path(path).read_bytes())
        except OSError as exc:
            raise PriceRefreshError(f"cannot read the offer file {path}: {exc.strerror}") from None
        except ValueError as exc:
            raise PriceRefreshError(f"{path} is not JSON ({exc}); download it again") from None
        from bot.pricing.savings_plans_file import is_savings_plans, parse_savings_plans

        parse = parse_savings_plans if is_savings_plans(data) else parse_offer
        for quote in parse(data, str(path), wanted):
            quotes[quote.key] = quote  # a later file wins: given in the order read
    if not quotes:
        what = ", ".join(sorted(wanted)) if wanted else "any instance type"
        raise PriceRefreshError(
            f"no Linux price for {what} in {', '.join(map(str, paths))}; download the EC2 "
            "(or Savings Plans) offer file of the Regions you use"
        )
    return list(quotes.values())


def parse_offer(data: Any, name: str, wanted: set[str] | None) -> list[Quote]:
    """The kept on-demand rows of one parsed offer file."""
    if not isinstance(data, Mapping):
        raise PriceRefreshError(f"{name}: not an AWS offer file (no top-level object)")
    products, terms = data.get("products"), data.get("terms")
    if not isinstance(products, Mapping) or not isinstance(terms, Mapping):
        raise PriceRefreshError(
            f"{name}: not an AWS EC2 offer file (it needs `products` and `terms`)"
        )
    on_demand = terms.get("OnDemand")
    if not isinstance(on_demand, Mapping):
        raise PriceRefreshError(f"{name}: the offer file has no `terms.OnDemand`")
    as_of = published(data, name)
    offer = str(data.get("offerCode") or "AmazonEC2")
    version = str(data.get("version") or "current")
    url = f"https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/{offer}/{version}/index.json"
    title = (
        f"AWS Price List bulk offer file {offer} (version {version}, published "
        f"{as_of.isoformat()}), read from {Path(name).name}"
    )
    found: dict[tuple[str, str], tuple[float, str]] = {}
    for sku, product in products.items():
        kept = _kept(product, wanted)
        if kept is None:
            continue
        instance, region = kept
        price = _hourly(on_demand.get(sku), name, sku)
        if price is None:
            continue
        earlier = found.get((instance, region))
        if earlier is not None and abs(earlier[0] - price) > 1e-9:
            raise PriceRefreshError(
                f"{name}: two Linux on-demand prices for {instance} in {region} "
                f"(SKUs {earlier[1]} and {sku}); the file is not one AWS publishes"
            )
        found[(instance, region)] = (price, str(sku))
    return [
        Quote(instance, region, Purchase.ON_DEMAND, price, as_of, url, title)
        for (instance, region), (price, _) in sorted(found.items())
    ]


def published(data: Mapping[str, Any], name: str) -> dt.date:
    text = data.get("publicationDate")
    if not isinstance(text, str):
        raise PriceRefreshError(f"{name}: the offer file has no publicationDate")
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        raise PriceRefreshError(f"{name}: publicationDate {text!r} is not a date") from None


def _kept(product: Any, wanted: set[str] | None) -> tuple[str, str] | None:
    """(instance type, region) when the product is a plain Linux instance-hour."""
    if not isinstance(product, Mapping):
        return None
    attrs = product.get("attributes")
    if not isinstance(attrs, Mapping) or "instanceType" not in attrs:
        return None
    if any(attrs.get(key) != value for key, value in KEEP.items()):
        return None
    if attrs.get("locationType", "AWS Region") != "AWS Region":
        return None  # Local Zones and Wavelength Zones are priced apart
    instance = str(attrs["instanceType"])
    if wanted is not None and instance not in wanted:
        return None
    region = attrs.get("regionCode") or region_of_location(str(attrs.get("location", "")))
    return (instance, str(region)) if region else None


def _hourly(terms: Any, name: str, sku: str) -> float | None:
    """The USD per hour of a product's on-demand term (None: it has none)."""
    if terms is None:
        return None
    if not isinstance(terms, Mapping):
        raise PriceRefreshError(f"{name}: terms.OnDemand.{sku} is not an object")
    for term in terms.values():
        dims = term.get("priceDimensions") if isinstance(term, Mapping) else None
        if not isinstance(dims, Mapping):
            raise PriceRefreshError(f"{name}: {sku}'s on-demand term has no priceDimensions")
        for dim in dims.values():
            if not isinstance(dim, Mapping) or dim.get("unit") not in ("Hrs", "Hours"):
                continue
            try:
                usd = float(dim["pricePerUnit"]["USD"])
            except (KeyError, TypeError, ValueError):
                raise PriceRefreshError(
                    f"{name}: {sku}'s on-demand price is not a number in USD"
                ) from None
            if usd > 0:
                return usd
    return None
