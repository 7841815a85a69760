"""Current Spot prices through botocore's Stubber: the highest current price across a
Region's Availability Zones, dated by the newest price."""

from __future__ import annotations

import datetime as dt

import boto3
import pytest
from botocore.stub import Stubber

from bot.pricing.model import PriceRefreshError, Purchase
from bot.pricing.spot_api import fetch_spot

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)


def ec2():
    return boto3.client(
        "ec2", region_name="eu-west-1", aws_access_key_id="t", aws_secret_access_key="t"
    )


def row(instance: str, zone: str, price: str, hour: int) -> dict:
    return {
        "AvailabilityZone": zone,
        "InstanceType": instance,
        "ProductDescription": "Linux/UNIX",
        "SpotPrice": price,
        "Timestamp": dt.datetime(2026, 12, 4, hour, 0, tzinfo=dt.UTC),
    }


def params(token: str | None = None) -> dict:
    p = {
        "InstanceTypes": ["inf2.48xlarge", "p4d.24xlarge"],
        "ProductDescriptions": ["Linux/UNIX"],
        "StartTime": NOW,
        "MaxResults": 1000,
    }
    if token:
        p["NextToken"] = token
    return p


def test_highest_current_price_across_zones() -> None:
    client = ec2()
    with Stubber(client) as stub:
        stub.add_response(
            "describe_spot_price_history",
            {
                "SpotPriceHistory": [
                    row("p4d.24xlarge", "eu-west-1a", "9.10", 11),
                    row("p4d.24xlarge", "eu-west-1a", "8.00", 9),  # older in the same zone
                    row("inf2.48xlarge", "eu-west-1b", "3.90", 10),
                ],
                "NextToken": "next",
            },
            params(),
        )
        stub.add_response(
            "describe_spot_price_history",
            {"SpotPriceHistory": [row("p4d.24xlarge", "eu-west-1b", "7.50", 11)]},
            params("next"),
        )
        quotes = fetch_spot(
            lambda region: client, ["p4d.24xlarge", "inf2.48xlarge"], ["eu-west-1"], NOW
        )
        stub.assert_no_pending_responses()
    got = {q.instance: (q.usd_per_hour, q.purchase, q.as_of) for q in quotes}
    assert got == {
        "p4d.24xlarge": (9.10, Purchase.SPOT, dt.date(2026, 12, 4)),
        "inf2.48xlarge": (3.90, Purchase.SPOT, dt.date(2026, 12, 4)),
    }


def test_a_refusal_names_the_permission() -> None:
    client = ec2()
    with Stubber(client) as stub:
        stub.add_client_error("describe_spot_price_history", "UnauthorizedOperation", "no")
        with pytest.raises(PriceRefreshError, match="ec2:DescribeSpotPriceHistory"):
            fetch_spot(lambda region: client, ["p4d.24xlarge"], ["eu-west-1"], NOW)
