"""Current Spot prices from EC2 `DescribeSpotPriceHistory` (with credentials that have
`ec2:DescribeSpotPriceHistory`), for `prices refresh --spot`.

Spot prices differ between a Region's Availability Zones and move with demand; the
price kept for an instance type is the highest current one across the Zones, so an
estimate does not assume the luckiest Zone. Its date is the newest price's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from bot.pricing.model import PriceRefreshError, Purchase, Quote
from bot.pricing.query_api import aws_errors

URL = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSpotPriceHistory.html"


def make_ec2_client(region: str) -> Any:
    import boto3

    return boto3.client("ec2", region_name=region)


def fetch_spot(
    client_for: Callable[[str], Any],
    instances: Iterable[str],
    regions: Iterable[str],
    now: dt.datetime,
) -> list[Quote]:
    wanted = sorted(set(instances))
    quotes: list[Quote] = []
    with aws_errors("EC2 DescribeSpotPriceHistory", "ec2:DescribeSpotPriceHistory"):
        for region in regions:
            quotes += _region(client_for(region), wanted, region, now)
    if not quotes:
        raise PriceRefreshError(
            f"EC2 had no current Linux Spot price for {', '.join(wanted)} in those Regions; "
            "nothing was stored"
        )
    return quotes


def _region(client: Any, wanted: list[str], region: str, now: dt.datetime) -> list[Quote]:
    latest: dict[tuple[str, str], tuple[dt.datetime, float]] = {}
    token = ""
    while True:
        kwargs: dict[str, Any] = {
            "InstanceTypes": wanted,
            "ProductDescriptions": ["Linux/UNIX"],
            "StartTime": now,
            "MaxResults": 1000,
        }
        if token:
            kwargs["NextToken"] = token
        answer = client.describe_spot_price_history(**kwargs)
        for row in answer.get("SpotPriceHistory", []):
            key = (row["InstanceType"], row["AvailabilityZone"])
            stamp, price = row["Timestamp"], float(row["SpotPrice"])
            if key not in latest or stamp > latest[key][0]:
                latest[key] = (stamp, price)
        token = answer.get("NextToken") or ""
        if not token:
            break
    by_instance: dict[str, tuple[dt.datetime, float]] = {}
    for (instance, _zone), (stamp, price) in latest.items():
        newest, highest = by_instance.get(instance, (stamp, price))
        by_instance[instance] = (max(newest, stamp), max(highest, price))
    return [
        Quote(
            instance,
            region,
            Purchase.SPOT,
            price,
            stamp.date(),
            URL,
            "EC2 Spot price history (DescribeSpotPriceHistory): the highest current Linux "
            f"price across {region}'s Availability Zones",
        )
        for instance, (stamp, price) in sorted(by_instance.items())
        if price > 0
    ]
