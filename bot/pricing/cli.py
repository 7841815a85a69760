"""`python -m bot prices refresh | show`: store current prices in the app's database,
and list the prices an estimate would use with their dates.

`refresh` reads AWS Price List bulk offer files (`--offer-file`, repeatable) or, without
them, asks the Price List Query API through boto3 for the catalogue's instance types in
the configured Regions. Everything is read and checked before the database is touched:
a malformed file, missing credentials or an unreachable API print one line and exit 2
with the stored prices unchanged.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from bot.flow.catalogue import Catalogue
from bot.pricing.model import PriceRefreshError, Quote

FAILED = 2


def add_parser(commands: argparse._SubParsersAction) -> None:
    prices = commands.add_parser("prices", help="refresh or list instance prices")
    sub = prices.add_subparsers(dest="prices_command", required=True)
    refresh = sub.add_parser("refresh", help="store current prices in the app's database")
    refresh.add_argument(
        "--offer-file",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="an AWS Price List bulk EC2 offer file (index.json); repeat for more Regions",
    )
    refresh.add_argument(
        "--region",
        action="append",
        default=[],
        help="a Region to ask the Price List API for (repeatable; default: AWS_REGION)",
    )
    refresh.add_argument(
        "--spot",
        action="store_true",
        help="with the API: also store current Spot prices (needs ec2:DescribeSpotPriceHistory)",
    )
    sub.add_parser("show", help="list the stored prices and their dates")


def main(
    args: argparse.Namespace,
    catalogue: Catalogue,
    out: TextIO | None = None,
    err: TextIO | None = None,
    client_factory: Callable[[], Any] | None = None,
    ec2_factory: Callable[[str], Any] | None = None,
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    if args.prices_command == "show":
        return _show(out)
    try:
        quotes, source = _read(args, catalogue, client_factory, ec2_factory)
    except PriceRefreshError as exc:
        print(f"prices refresh: {exc}", file=err)
        return FAILED
    from bot.cli.app import _store_or_exit
    from bot.pricing.stored import save

    try:
        store = _store_or_exit()
    except SystemExit as exc:
        return int(exc.code or FAILED)
    try:
        refresh_id = save(store.engine, quotes, source)
    finally:
        store.dispose()
    regions = sorted({q.region for q in quotes})
    dates = sorted({q.as_of.isoformat() for q in quotes})
    print(
        f"stored {len(quotes)} prices for {len(regions)} Region"
        f"{'s' * (len(regions) != 1)} ({', '.join(regions)}), as of {', '.join(dates)}, "
        f"from {source} (refresh {refresh_id}); running apps use them from their next estimate",
        file=out,
    )
    return 0


def _read(
    args: argparse.Namespace,
    catalogue: Catalogue,
    client_factory: Callable[[], Any] | None,
    ec2_factory: Callable[[str], Any] | None,
) -> tuple[list[Quote], str]:
    wanted = set(catalogue.instances)
    if args.offer_file:
        from bot.pricing.offer_file import read_offer_files

        names = ", ".join(p.name for p in args.offer_file)
        return read_offer_files(args.offer_file, wanted), f"offer files {names}"
    from bot.pricing.query_api import SOURCE, fetch_prices, make_client
    from bot.pricing.regions import read_region
    from bot.settings import ConfigError, load_price_settings

    regions = []
    for text in args.region:
        region = read_region(text)
        if region is None:
            raise PriceRefreshError(f"--region: {text!r} is not an AWS Region; e.g. eu-west-1")
        regions.append(region)
    if not regions:
        try:
            regions = [load_price_settings().aws_region]
        except ConfigError as exc:
            raise PriceRefreshError(str(exc)) from None
    client = (client_factory or make_client)()
    quotes = fetch_prices(client, wanted, regions)
    if not getattr(args, "spot", False):
        return quotes, SOURCE
    import datetime as dt

    from bot.pricing.spot_api import fetch_spot, make_ec2_client

    now = dt.datetime.now(dt.UTC)
    quotes += fetch_spot(ec2_factory or make_ec2_client, wanted, regions, now)
    return quotes, f"{SOURCE} and EC2 DescribeSpotPriceHistory"


def _show(out: TextIO) -> int:
    from bot.cli.app import _store_or_exit
    from bot.pricing.stored import load

    store = _store_or_exit()
    try:
        quotes = sorted(load(store.engine), key=lambda q: (q.region, q.instance, q.purchase))
    finally:
        store.dispose()
    if not quotes:
        print("no refreshed prices stored; estimates use the shipped snapshot", file=out)
    for q in quotes:
        print(
            f"{q.region:<15} {q.instance:<20} {q.purchase:<16} ${q.usd_per_hour:,.4f}/h "
            f"as of {q.as_of}  {q.source_url}",
            file=out,
        )
    return 0
