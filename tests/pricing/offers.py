"""AWS-shaped EC2 offer files for the tests: the rows a price list really holds,
including the ones a refresh must skip."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PUBLISHED = "2026-11-27T18:05:12Z"


def product(
    sku: str,
    instance: str,
    *,
    region: str | None = "eu-west-1",
    location: str = "EU (Ireland)",
    os: str = "Linux",
    tenancy: str = "Shared",
    software: str = "NA",
    capacity: str = "Used",
    location_type: str = "AWS Region",
) -> dict[str, Any]:
    attributes = {
        "servicecode": "AmazonEC2",
        "location": location,
        "locationType": location_type,
        "instanceType": instance,
        "tenancy": tenancy,
        "operatingSystem": os,
        "licenseModel": "No License required",
        "usagetype": f"EU-BoxUsage:{instance}",
        "operation": "RunInstances",
        "capacitystatus": capacity,
        "preInstalledSw": software,
    }
    if region is not None:
        attributes["regionCode"] = region
    return {"sku": sku, "productFamily": "Compute Instance", "attributes": attributes}


def on_demand_term(sku: str, usd: str, instance: str = "") -> dict[str, Any]:
    return {
        f"{sku}.JRTCKXETXF": {
            "offerTermCode": "JRTCKXETXF",
            "sku": sku,
            "effectiveDate": "2026-11-01T00:00:00Z",
            "priceDimensions": {
                f"{sku}.JRTCKXETXF.6YS6EN2CT7": {
                    "rateCode": f"{sku}.JRTCKXETXF.6YS6EN2CT7",
                    "description": f"${usd} per On Demand Linux {instance} Instance Hour",
                    "beginRange": "0",
                    "endRange": "Inf",
                    "unit": "Hrs",
                    "pricePerUnit": {"USD": usd},
                    "appliesTo": [],
                }
            },
            "termAttributes": {},
        }
    }


ROWS: list[tuple[dict[str, Any], str]] = [
    # kept: plain Linux, shared, nothing pre-installed, used capacity
    (product("P4D1", "p4d.24xlarge"), "24.1535000000"),
    (product("INF2", "inf2.48xlarge"), "14.2790000000"),
    # kept: a row that names its Region by location only
    (product("P4DO", "p4d.24xlarge", region=None, location="US East (Ohio)"), "21.9576000000"),
    # skipped, each for one reason
    (product("WIN1", "p4d.24xlarge", os="Windows"), "29.9535000000"),
    (product("DED1", "p4d.24xlarge", tenancy="Dedicated"), "26.5700000000"),
    (product("SQL1", "p4d.24xlarge", software="SQL Std"), "31.0000000000"),
    (product("CRU1", "p4d.24xlarge", capacity="UnusedCapacityReservation"), "24.1535000000"),
    (product("CRA1", "p4d.24xlarge", capacity="AllocatedCapacityReservation"), "0.0000000000"),
    (
        product("LZ01", "p4d.24xlarge", region="us-east-1-dfw-2", location_type="AWS Local Zone"),
        "30.0000000000",
    ),
    (product("M5X1", "m5.xlarge"), "0.2140000000"),  # not in the catalogue
]


def offer(rows: list[tuple[dict[str, Any], str]] = ROWS, published: str = PUBLISHED) -> dict:
    return {
        "formatVersion": "v1.0",
        "disclaimer": "This pricing list is for informational purposes only.",
        "offerCode": "AmazonEC2",
        "version": "20261127180512",
        "publicationDate": published,
        "products": {p["sku"]: p for p, _ in rows},
        "terms": {
            "OnDemand": {
                p["sku"]: on_demand_term(p["sku"], usd, p["attributes"]["instanceType"])
                for p, usd in rows
            },
            "Reserved": {},
        },
    }


def write_offer(path: Path, data: Any = None) -> Path:
    path.write_text(json.dumps(offer() if data is None else data), encoding="utf-8")
    return path
