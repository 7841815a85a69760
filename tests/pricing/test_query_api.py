"""The Price List Query API path, through botocore's Stubber: nothing reaches AWS."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError, NoCredentialsError
from botocore.stub import Stubber

from bot.pricing.model import PriceRefreshError
from bot.pricing.offer_file import KEEP
from bot.pricing.query_api import fetch_prices
from tests.pricing.offers import on_demand_term, product


def client() -> Any:
    return boto3.client(
        "pricing",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def item(sku: str, instance: str, region: str, usd: str) -> str:
    """One PriceList entry as the API returns it: a JSON string."""
    return json.dumps(
        {
            "product": product(sku, instance, region=region),
            "serviceCode": "AmazonEC2",
            "terms": {"OnDemand": on_demand_term(sku, usd, instance)},
            "version": "20261201000000",
            "publicationDate": "2026-12-01T10:00:00Z",
        }
    )


def expected(instance: str, region: str, token: str | None = None) -> dict[str, Any]:
    filters = [
        {"Type": "TERM_MATCH", "Field": "instanceType", "Value": instance},
        {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
        *({"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in KEEP.items()),
    ]
    params = {
        "ServiceCode": "AmazonEC2",
        "Filters": filters,
        "FormatVersion": "aws_v1",
        "MaxResults": 100,
    }
    if token:
        params["NextToken"] = token
    return params


def test_prices_for_each_instance_and_region_across_pages() -> None:
    pricing = client()
    with Stubber(pricing) as stub:
        stub.add_response(
            "get_products",
            {
                "FormatVersion": "aws_v1",
                "PriceList": [item("A1", "inf2.48xlarge", "eu-west-1", "14.2790000000")],
                "NextToken": "page-2",
            },
            expected("inf2.48xlarge", "eu-west-1"),
        )
        stub.add_response(
            "get_products",
            {"FormatVersion": "aws_v1", "PriceList": []},
            expected("inf2.48xlarge", "eu-west-1", "page-2"),
        )
        stub.add_response(
            "get_products",
            {
                "FormatVersion": "aws_v1",
                "PriceList": [item("B1", "p4d.24xlarge", "eu-west-1", "24.1535000000")],
            },
            expected("p4d.24xlarge", "eu-west-1"),
        )
        quotes = fetch_prices(pricing, ["p4d.24xlarge", "inf2.48xlarge"], ["eu-west-1"])
        stub.assert_no_pending_responses()
    got = {(q.instance, q.region): (q.usd_per_hour, q.as_of) for q in quotes}
    assert got == {
        ("inf2.48xlarge", "eu-west-1"): (14.279, dt.date(2026, 12, 1)),
        ("p4d.24xlarge", "eu-west-1"): (24.1535, dt.date(2026, 12, 1)),
    }
    assert all("GetProducts" in q.source_url for q in quotes)


def test_a_refusal_names_the_permission() -> None:
    pricing = client()
    with Stubber(pricing) as stub:
        stub.add_client_error(
            "get_products", service_error_code="AccessDeniedException", service_message="no"
        )
        with pytest.raises(PriceRefreshError, match="pricing:GetProducts"):
            fetch_prices(pricing, ["p4d.24xlarge"], ["eu-west-1"])


def test_an_empty_answer_stores_nothing() -> None:
    pricing = client()
    with Stubber(pricing) as stub:
        stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": []})
        with pytest.raises(PriceRefreshError, match="nothing was stored"):
            fetch_prices(pricing, ["p4d.24xlarge"], ["eu-west-1"])


class Failing:
    """A client whose call fails as botocore fails before or while sending."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def get_products(self, **_: Any) -> dict[str, Any]:
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "says"),
    [
        (NoCredentialsError(), "no AWS credentials"),
        (EndpointConnectionError(endpoint_url="https://api.pricing"), "cannot reach"),
    ],
)
def test_no_credentials_or_no_network_is_one_line(exc: Exception, says: str) -> None:
    with pytest.raises(PriceRefreshError, match=says) as raised:
        fetch_prices(Failing(exc), ["p4d.24xlarge"], ["eu-west-1"])
    assert "\n" not in str(raised.value)
