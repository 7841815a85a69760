"""Prices stored in the app's database by a refresh (SQL only).

A refresh writes its rows and a `price_refreshes` row in one transaction, replacing
the rows it has a price for and keeping the others, so a failed refresh changes
nothing. `version` is the newest refresh's id: one indexed read, cheap enough to ask
before every estimate.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa

from bot.pricing.model import Purchase, Quote
from bot.store.engine import write_transaction
from bot.store.schema import price_refreshes, prices


def save(engine: sa.Engine, quotes: Sequence[Quote], source: str) -> int:
    """Store ``quotes`` as one refresh; returns its id (the new version)."""
    with write_transaction(engine) as conn:
        refresh_id = conn.execute(
            price_refreshes.insert().values(
                refreshed_at=datetime.now(UTC), source=source[:300], rows=len(quotes)
            )
        ).inserted_primary_key[0]
        for quote in quotes:
            conn.execute(
                prices.delete().where(
                    prices.c.instance_type == quote.instance,
                    prices.c.region == quote.region,
                    prices.c.purchase == quote.purchase.value,
                )
            )
        if quotes:
            conn.execute(
                prices.insert(),
                [
                    {
                        "instance_type": q.instance,
                        "region": q.region,
                        "purchase": q.purchase.value,
                        "usd_per_hour": q.usd_per_hour,
                        "price_as_of": q.as_of,
                        "source_url": q.source_url[:500],
                        "source_title": q.source_title[:300],
                        "refresh_id": refresh_id,
                    }
                    for q in quotes
                ],
            )
    return int(refresh_id)


def version(engine: sa.Engine) -> int:
    """The newest refresh's id (0: never refreshed)."""
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.max(price_refreshes.c.id))).scalar() or 0)


def load(engine: sa.Engine) -> list[Quote]:
    """Every stored price."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(prices)).all()
    return [
        Quote(
            instance=row.instance_type,
            region=row.region,
            purchase=Purchase(row.purchase),
            usd_per_hour=row.usd_per_hour,
            as_of=row.price_as_of,
            source_url=row.source_url,
            source_title=row.source_title,
        )
        for row in rows
        if row.purchase in Purchase._value2member_map_
    ]
