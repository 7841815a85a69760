"""What a lease on outbox rows means, as pure rules the queue's SQL applies.

A row is held while its claim has not lapsed; a claim taken over a lapsed one marks
the row unconfirmed (the earlier holder may have sent it); a conversation's rows are
claimed as a contiguous run from its head, so their order holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from bot.store.models import OutboxRow


def claimed(row: OutboxRow, until: datetime, token: str, now: datetime) -> OutboxRow:
    """A row as its new claim holds it. A row whose earlier claim lapsed (its holder died
    or overran the lease mid-send) may have been sent: it is unconfirmed."""
    claimed = replace(row, claimed_until=until, claim_token=token)
    if row.claimed_until is not None and row.claimed_until < now:
        claimed = replace(claimed, error="an earlier attempt's claim lapsed", unconfirmed=True)
    return claimed


def held(claimed_until: datetime | None, now: datetime) -> bool:
    return claimed_until is not None and claimed_until >= now


def contiguous(rows: Sequence[OutboxRow], now: datetime, room: int) -> list[OutboxRow]:
    """A conversation's head row and the pending rows right after it, up to ``room``
    followers, stopping at one someone else holds: order must stay contiguous."""
    run = [rows[0]]
    for follower in rows[1:]:
        if len(run) > room or held(follower.claimed_until, now):
            break
        run.append(follower)
    return run
