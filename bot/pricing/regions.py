"""AWS Regions: their codes, the names AWS's price list uses for them, and which are
near which (for "no price here; nearest regions with one: ...").

Nearness is the great-circle distance between the Regions' cities; the coordinates
only order Regions and are never shown as numbers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class Region:
    code: str
    location: str  # the price list's `location` attribute
    city: str
    lat: float
    lon: float


REGIONS: dict[str, Region] = {
    r.code: r
    for r in (
        Region("us-east-1", "US East (N. Virginia)", "N. Virginia", 38.9, -77.4),
        Region("us-east-2", "US East (Ohio)", "Ohio", 40.0, -83.0),
        Region("us-west-1", "US West (N. California)", "N. California", 37.4, -121.9),
        Region("us-west-2", "US West (Oregon)", "Oregon", 45.8, -119.7),
        Region("ca-central-1", "Canada (Central)", "Montreal", 45.5, -73.6),
        Region("sa-east-1", "South America (Sao Paulo)", "Sao Paulo", -23.5, -46.6),
        Region("eu-west-1", "EU (Ireland)", "Dublin", 53.3, -6.3),
        Region("eu-west-2", "EU (London)", "London", 51.5, -0.1),
        Region("eu-west-3", "EU (Paris)", "Paris", 48.9, 2.4),
        Region("eu-central-1", "EU (Frankfurt)", "Frankfurt", 50.1, 8.7),
        Region("eu-central-2", "EU (Zurich)", "Zurich", 47.4, 8.5),
        Region("eu-north-1", "EU (Stockholm)", "Stockholm", 59.3, 18.1),
        Region("eu-south-1", "EU (Milan)", "Milan", 45.5, 9.2),
        Region("eu-south-2", "EU (Spain)", "Aragon", 41.6, -0.9),
        Region("me-central-1", "Middle East (UAE)", "UAE", 24.5, 54.4),
        Region("il-central-1", "Israel (Tel Aviv)", "Tel Aviv", 32.1, 34.8),
        Region("ap-south-1", "Asia Pacific (Mumbai)", "Mumbai", 19.1, 72.9),
        Region("ap-southeast-1", "Asia Pacific (Singapore)", "Singapore", 1.3, 103.8),
        Region("ap-southeast-2", "Asia Pacific (Sydney)", "Sydney", -33.9, 151.2),
        Region("ap-southeast-3", "Asia Pacific (Jakarta)", "Jakarta", -6.2, 106.8),
        Region("ap-northeast-1", "Asia Pacific (Tokyo)", "Tokyo", 35.7, 139.7),
        Region("ap-northeast-2", "Asia Pacific (Seoul)", "Seoul", 37.6, 127.0),
        Region("ap-northeast-3", "Asia Pacific (Osaka)", "Osaka", 34.7, 135.5),
        Region("ap-east-1", "Asia Pacific (Hong Kong)", "Hong Kong", 22.3, 114.2),
    )
}

_BY_LOCATION = {r.location.lower(): r.code for r in REGIONS.values()}
_CODE = re.compile(r"\b([a-z]{2}(?:-gov)?-[a-z]+-\d)\b")


def region_of_location(location: str) -> str | None:
    """The code for a price list `location` ("EU (Ireland)"), if it is a Region."""
    return _BY_LOCATION.get(location.strip().lower())


def read_region(text: str) -> str | None:
    """A Region from what a person types: a code ("eu-west-1"), a city ("Frankfurt")
    or the price list's name ("EU (Ireland)"); None when nothing matches."""
    lowered = text.strip().lower()
    found = _CODE.search(lowered)
    if found and found.group(1) in REGIONS:
        return found.group(1)
    if lowered in _BY_LOCATION:
        return _BY_LOCATION[lowered]
    for region in REGIONS.values():
        if any(re.search(rf"\b{re.escape(name)}\b", lowered) for name in _names(region)):
            return region.code
    return None


def _names(region: Region) -> tuple[str, ...]:
    """The city, and the place in the price list's name ("Ireland", "N. Virginia",
    "Virginia")."""
    place = region.location.partition("(")[2].rstrip(")").lower()
    names = [region.city.lower(), place]
    if place.startswith("n. "):
        names.append(place[3:])
    return tuple(n for n in names if n)


def known(code: str) -> bool:
    return code in REGIONS


def nearest(region: str, candidates: set[str] | list[str], limit: int = 3) -> tuple[str, ...]:
    """Of ``candidates``, the ``limit`` Regions closest to ``region`` (closest first).
    Unknown codes sort last, by name, so a refreshed Region this table lacks still shows."""
    here = REGIONS.get(region)

    def distance(code: str) -> tuple[float, str]:
        there = REGIONS.get(code)
        if here is None or there is None:
            return (math.inf, code)
        return (_km(here, there), code)

    return tuple(sorted((c for c in set(candidates) if c != region), key=distance)[:limit])


def _km(a: Region, b: Region) -> float:
    """Great-circle distance (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371 * math.asin(math.sqrt(h))
