"""The lease rules the outbox queue applies: held, claimed over a lapse, contiguous runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.store.leases import claimed, contiguous, held
from tests.store.helpers import outbox_row

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def test_a_claim_is_held_until_it_lapses() -> None:
    assert held(NOW, NOW) and held(NOW + SECOND, NOW)
    assert not held(NOW - SECOND, NOW) and not held(None, NOW)


def test_a_claim_over_a_lapsed_one_marks_the_row_unconfirmed() -> None:
    fresh = claimed(outbox_row(claimed_until=None), NOW + SECOND, "t1", NOW)
    assert (fresh.claim_token, fresh.claimed_until, fresh.unconfirmed) == (
        "t1",
        NOW + SECOND,
        False,
    )
    lapsed = claimed(outbox_row(claimed_until=NOW - SECOND), NOW + SECOND, "t2", NOW)
    assert lapsed.unconfirmed and lapsed.claim_token == "t2" and "lapsed" in (lapsed.error or "")


def test_a_run_stops_at_a_held_row_and_at_its_room() -> None:
    rows = [outbox_row(id=i, seq=i, claimed_until=None) for i in range(1, 6)]
    assert [r.id for r in contiguous(rows, NOW, room=10)] == [1, 2, 3, 4, 5]
    assert [r.id for r in contiguous(rows, NOW, room=2)] == [1, 2, 3]
    rows[2] = outbox_row(id=3, seq=3, claimed_until=NOW + SECOND)  # someone else holds it
    assert [r.id for r in contiguous(rows, NOW, room=10)] == [1, 2]
