"""`bot.store.claiming`: store writes inside the block claim what they queue into the
request's `Claims`; outside it nothing is claimed (the claim loop sends those rows)."""

from __future__ import annotations

from datetime import timedelta

from bot.store import OutboxMessage, Store, claiming, current_claims
from bot.store.models import Claims
from tests.store.helpers import new_conversation

LEASE = timedelta(seconds=30)


def posts(n: int) -> list[OutboxMessage]:
    return [OutboxMessage("post", {"n": i}) for i in range(1, n + 1)]


def test_writes_inside_claiming_claim_into_the_requests_claims(store: Store) -> None:
    stepped, queued = new_conversation(store, []), new_conversation(store, [])
    claims = Claims(LEASE)
    with claiming(claims):
        assert current_claims() is claims
        started = new_conversation(store, posts(1))
        assert store.apply_step(stepped, 1, {}, posts(1)).ok
        assert store.enqueue(queued, posts(1))
    assert current_claims() is None
    assert [c for c, _ in claims.taken] == [started, stepped, queued]
    assert all(rows[0].seq == 1 and rows[0].claim_token for _, rows in claims.taken)


def test_writes_outside_claiming_claim_nothing(store: Store) -> None:
    claims = Claims(LEASE)
    with claiming(claims):
        pass
    cid = new_conversation(store, posts(2))
    assert claims.taken == []
    assert all(r.claim_token is None for r in store.outbox_rows(cid))
