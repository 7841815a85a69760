"""The AWS Price List Query API (`pricing:GetProducts`) through boto3.

One `get_products` call (and its pages) per instance type and Region, filtered to the
same rows the bulk files keep; each answer is an offer-file product with its terms,
so it goes through the same parser. Credentials come from boto3's standard chain.
The client is passed in: tests hand a client wrapped in botocore's Stubber.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from bot.pricing.model import PriceRefreshError, Quote
from bot.pricing.offer_file import KEEP, parse_offer

# The Price List Query API answers in us-east-1 (and a few other Regions), whatever
# Region the prices are for.
PRICING_API_REGION = "us-east-1"
SOURCE = "AWS Price List Query API (GetProducts)"


def make_client() -> Any:
    """A boto3 `pricing` client on the standard credential chain."""
    import boto3

    return boto3.client("pricing", region_name=PRICING_API_REGION)


def fetch_prices(client: Any, instances: Iterable[str], regions: Iterable[str]) -> list[Quote]:
    """Current Linux on-demand prices of ``instances`` in ``regions``; raises
    `PriceRefreshError` (one line) on missing credentials, refusal or no answer."""
    wanted = set(instances)
    quotes: list[Quote] = []
    with aws_errors("the AWS Price List API", "pricing:GetProducts"):
        for region in regions:
            for instance in sorted(wanted):
                for item in _pages(client, instance, region):
                    quotes += _parse_item(item, wanted)
    if not quotes:
        raise PriceRefreshError(
            "the AWS Price List API had no Linux on-demand price for "
            f"{', '.join(sorted(wanted))} in those Regions; nothing was stored"
        )
    return quotes


@contextmanager
def aws_errors(api: str, permission: str) -> Iterator[None]:
    """botocore's failures as one `PriceRefreshError` line saying what to do."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        yield
    except NoCredentialsError:
        raise PriceRefreshError(
            "no AWS credentials found (environment, ~/.aws or an instance role); set them, "
            "or download the offer files and use --offer-file"
        ) from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise PriceRefreshError(
            f"{api} refused: {error.get('Code')} ({error.get('Message')}); "
            f"the credentials need the IAM permission {permission}"
        ) from None
    except BotoCoreError as exc:
        raise PriceRefreshError(
            f"cannot reach {api}: {exc}; try again, or use --offer-file"
        ) from None


def _pages(client: Any, instance: str, region: str) -> Iterable[str]:
    filters = [
        {"Type": "TERM_MATCH", "Field": field, "Value": value}
        for field, value in {"instanceType": instance, "regionCode": region, **KEEP}.items()
    ]
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {
            "ServiceCode": "AmazonEC2",
            "Filters": filters,
            "FormatVersion": "aws_v1",
            "MaxResults": 100,
        }
        if token:
            kwargs["NextToken"] = token
        answer = client.get_products(**kwargs)
        yield from answer.get("PriceList", [])
        token = answer.get("NextToken")
        if not token:
            return


def _parse_item(item: Any, wanted: set[str]) -> list[Quote]:
    """One PriceList entry (a JSON string: product, terms, publicationDate)."""
    try:
        data = json.loads(item) if isinstance(item, str) else item
        product = data["product"]
        sku = product["sku"]
        offer = {
            "offerCode": data.get("serviceCode", "AmazonEC2"),
            "version": data.get("version"),
            "publicationDate": data.get("publicationDate"),
            "products": {sku: product},
            # An entry's OnDemand terms are keyed by term code; a file's by SKU first.
            "terms": {"OnDemand": {sku: data.get("terms", {}).get("OnDemand", {})}},
        }
    except (ValueError, KeyError, TypeError, AttributeError):
        raise PriceRefreshError(
            "the AWS Price List API answered with an entry this code cannot read"
        ) from None
    quotes = parse_offer(offer, SOURCE, wanted)
    return [
        Quote(
            q.instance,
            q.region,
            q.purchase,
            q.usd_per_hour,
            q.as_of,
            "https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_pricing_GetProducts.html",
            f"{SOURCE}, publication {q.as_of.isoformat()}",
        )
        for q in quotes
    ]
