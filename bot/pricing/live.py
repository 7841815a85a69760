"""Prices for a running app: the book reloaded when a refresh stored new prices.

Before each estimate the app asks `LivePrices.book()`. That reads one number, the
newest refresh's id; only when it moved are the stored prices read again. So a
`python -m bot prices refresh` run anywhere against the same database reaches every
replica at its next estimate, without a restart. A database that cannot be read keeps
the prices last read (the shipped snapshot at worst) and says so in the log.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import sqlalchemy as sa

from bot.flow.catalogue import Catalogue
from bot.pricing.api_alternative import ApiPrices
from bot.pricing.book import PriceBook, Priced, priced_catalogue
from bot.pricing.model import Purchase
from bot.pricing.purchase_file import PurchaseFile
from bot.pricing.regions import DEFAULT_REGION
from bot.pricing.stored import load, version

log = logging.getLogger(__name__)


class LivePrices:
    def __init__(
        self,
        engine: sa.Engine,
        catalogue: Catalogue,
        default_region: str = DEFAULT_REGION,
        api: ApiPrices | None = None,
        purchase: PurchaseFile | None = None,
    ) -> None:
        self._engine = engine
        self._catalogue = catalogue
        self.default_region = default_region
        self._api = api
        self._purchase = purchase or PurchaseFile()
        self._lock = threading.Lock()
        self._version = 0
        self._book = PriceBook.of(catalogue, shipped=self._purchase.quotes())
        self._priced: dict[tuple[int, str, Purchase], Priced] = {}

    @property
    def version(self) -> int:
        """The refresh the current book holds (0: the shipped snapshot only)."""
        return self._version

    def book(self) -> PriceBook:
        try:
            newest = version(self._engine)
            if newest == self._version:
                return self._book
            stored = load(self._engine)
        except sa.exc.SQLAlchemyError as exc:
            log.warning("stored prices not read (%s); using those read before", type(exc).__name__)
            return self._book
        with self._lock:
            if newest > self._version:
                self._book = PriceBook.of(self._catalogue, stored, self._purchase.quotes())
                self._version = newest
            return self._book

    def api_prices(self) -> ApiPrices | None:
        """The hosted-model prices read at start-up (flows/api_prices.toml)."""
        return self._api

    def purchase_file(self) -> PurchaseFile:
        """The path rules and shipped rates read at start-up (flows/purchase.toml)."""
        return self._purchase

    def priced(self, region: str, purchase: Purchase = Purchase.ON_DEMAND) -> Priced:
        """The catalogue priced for ``region`` and ``purchase`` with the newest prices:
        what an estimate passes to the sizing instead of the flow's catalogue (its
        `keep` drops the instances with no price there). Built once per version."""
        book = self.book()
        return self._priced_with(book, self._version, region, purchase)

    def pricer(self, region: str) -> Callable[[Purchase], Priced]:
        """``priced`` for ``region`` and any purchase option, all from the book current
        now: one check of the refresh number for the whole purchase advice."""
        book, version = self.book(), self._version
        return lambda purchase: self._priced_with(book, version, region, purchase)

    def _priced_with(
        self, book: PriceBook, version: int, region: str, purchase: Purchase
    ) -> Priced:
        key = (version, region, purchase)
        found = self._priced.get(key)
        if found is None:
            found = priced_catalogue(self._catalogue, book, region, purchase)
            self._priced = {k: v for k, v in self._priced.items() if k[0] == version}
            self._priced[key] = found
        return found
