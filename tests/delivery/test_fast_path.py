"""The deliverer's fast path: rows claimed in the transaction that commits them,
taken by the holder of the rows they queued behind (and queued again, first come
first served), and sends recorded per non-repeatable message."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

from bot.delivery import Deliverer
from bot.store import OutboxMessage, OutboxRow, Store
from bot.store.models import Claims
from bot.testing.waiting import wait_until
from tests.store.conftest import Database
from tests.store.helpers import FakeClock, FakeSender, new_conversation

LEASE = timedelta(seconds=30)


def posts(n: int, start: int = 1) -> list[OutboxMessage]:
    return [OutboxMessage("post", {"n": i}) for i in range(start, start + n)]


def test_rows_at_the_head_are_claimed_at_commit(store: Store, clock: FakeClock) -> None:
    claims = Claims(LEASE)
    cid = new_conversation(store, posts(2), claims=claims)
    [(got_cid, rows)] = claims.taken
    assert got_cid == cid and [r.seq for r in rows] == [1, 2]
    stored = store.outbox_rows(cid)
    assert [r.id for r in stored] == [r.id for r in rows]
    assert all(r.claim_token == rows[0].claim_token and r.claim_token for r in stored)
    assert all(r.claimed_until == clock() + LEASE for r in stored)
    # Claimed rows are nobody else's: the claim query passes them by.
    assert store.claim_outbox(lease=LEASE, batch=10) == []


def test_rows_behind_held_ones_go_to_their_holder(store: Store, clock: FakeClock) -> None:
    claims = Claims(LEASE)
    cid = new_conversation(store, posts(1), claims=claims)
    behind = Claims(LEASE)
    assert store.apply_step(cid, 1, {}, posts(2, start=2), claims=behind).ok
    assert behind.taken == []  # queued behind a held row: nothing to send
    assert all(r.claim_token is None for r in store.outbox_rows(cid)[1:])
    first = claims.taken[0][1][0]
    # While the head is held, nobody can take the rows behind it.
    assert store.claim_conversation(cid, lease=LEASE) == []
    assert store.claim_outbox(lease=LEASE, batch=10) == []
    # Its holder records it and takes them in the same transaction.
    done, chased = store.record_sent_and_claim_next([(first, "1.0")], cid, lease=LEASE)
    assert done == {first.id} and [r.seq for r in chased] == [2, 3]
    assert store.claim_conversation(cid, lease=LEASE) == []  # now held
    # A holder whose claim was lost records nothing and takes nothing.
    assert store.record_sent_and_claim_next([(first, "1.0")], cid, lease=LEASE) == (set(), [])


def test_rows_behind_a_free_row_are_left_for_the_claim_queries(
    store: Store, clock: FakeClock
) -> None:
    claims = Claims(LEASE)
    cid = new_conversation(store, posts(1), claims=claims)
    [(_, [first])] = claims.taken
    store.record_retry(first, attempts=1, next_attempt_at=clock() + timedelta(seconds=5), error="x")
    behind = Claims(LEASE)
    assert store.apply_step(cid, 1, {}, posts(2, start=2), claims=behind).ok
    assert behind.taken == [(cid, [])]  # "new work behind": nothing claimed
    assert store.claim_conversation(cid, lease=LEASE) == []  # the head is not due yet
    clock.advance(5)
    assert [r.seq for r in store.claim_conversation(cid, lease=LEASE)] == [1, 2, 3]


def test_claim_conversation_waits_for_a_postponed_head(store: Store, clock: FakeClock) -> None:
    cid = new_conversation(store, posts(2))
    [head, follower] = store.claim_outbox(lease=LEASE, batch=10)
    store.release_claims([follower.id], follower.claim_token or "")
    store.record_retry(head, attempts=0, next_attempt_at=clock() + timedelta(seconds=5), error="x")
    assert store.claim_conversation(cid, lease=LEASE) == []
    clock.advance(5)
    assert [r.seq for r in store.claim_conversation(cid, lease=LEASE)] == [1, 2]


def test_no_claims_asked_none_taken(store: Store) -> None:
    cid = new_conversation(store, posts(1))
    assert store.outbox_rows(cid)[0].claim_token is None
    assert store.enqueue(cid, posts(1, start=2))
    assert all(r.claim_token is None for r in store.outbox_rows(cid))


def test_a_running_deliverer_needs_no_claim_query(db: Database) -> None:
    store = db.make_store()
    sender = FakeSender()
    deliverer = Deliverer(store, sender, poll_interval=60.0, maintenance_interval=None)
    deliverer.start()
    try:
        time.sleep(0.2)  # the first claim pass has run; the next would be in 60 s
        claims = []
        original = store.claim_outbox
        store.claim_outbox = lambda **kw: claims.append(1) or original(**kw)  # type: ignore[method-assign]
        request = deliverer.claims()
        cid = new_conversation(store, posts(2), claims=request)
        deliverer.send_claimed(request)
        wait_until(lambda: len(sender.sent) == 2, timeout=5.0)
        assert sender.seqs(cid) == [1, 2]
        wait_until(lambda: store.outbox_pending() == 0, timeout=5.0)
        assert claims == []
    finally:
        deliverer.stop()


def test_rows_committed_while_sending_are_chased_in_order(db: Database) -> None:
    """A person answers while the previous step's messages are still being sent: the
    thread sending them claims the new ones and queues them, without waiting for a
    claim pass."""
    store = db.make_store()
    release = threading.Event()
    started = threading.Event()

    def slow_first(row: OutboxRow, payload: dict[str, Any]) -> str:
        if row.seq == 1:
            started.set()
            release.wait(5)
        return f"1.{row.seq}"

    sender = FakeSender(behaviour=slow_first)
    deliverer = Deliverer(store, sender, poll_interval=60.0, maintenance_interval=None)
    deliverer.start()
    try:
        time.sleep(0.2)
        request = deliverer.claims()
        cid = new_conversation(store, posts(1), claims=request)
        deliverer.send_claimed(request)
        assert started.wait(5)
        assert store.apply_step(cid, 1, {}, posts(2, start=2)).ok
        assert store.apply_step(cid, 2, {}, posts(1, start=4)).ok
        release.set()
        wait_until(lambda: len(sender.sent) == 4, timeout=5.0)
        assert sender.seqs(cid) == [1, 2, 3, 4]
        wait_until(lambda: store.outbox_pending() == 0, timeout=5.0)
    finally:
        deliverer.stop()


def hand_over(deliverer: Deliverer, store: Store, messages: list[OutboxMessage]) -> str:
    """A new conversation whose rows a request claimed and handed to the senders."""
    request = deliverer.claims()
    cid = new_conversation(store, messages, claims=request)
    deliverer.send_claimed(request)
    return cid


def one_sender_busy(
    store: Store, sender: FakeSender, started: threading.Event
) -> tuple[Deliverer, str]:
    """A started deliverer with one sender thread, held by ``sender`` on the first row of
    a new conversation (``started`` is set then): (deliverer, that conversation)."""
    deliverer = Deliverer(store, sender, workers=1, poll_interval=60.0, maintenance_interval=None)
    deliverer.start()
    cid = hand_over(deliverer, store, posts(1))
    assert started.wait(5)
    return deliverer, cid


def test_rows_taken_behind_a_send_wait_their_turn(db: Database) -> None:
    """Rows a sender claims behind its own join the back of the queue: a conversation
    that was waiting goes first (sent at once, they would overtake it; at full load
    that widened the click-to-next tail)."""
    store = db.make_store()
    release = threading.Event()
    started = threading.Event()

    def slow_first(row: OutboxRow, payload: dict[str, Any]) -> str:
        if row.seq == 1 and row.payload["n"] == 1:
            started.set()
            release.wait(5)
        return f"1.{row.seq}"

    sender = FakeSender(behaviour=slow_first)
    deliverer, a = one_sender_busy(store, sender, started)
    try:
        b = hand_over(deliverer, store, posts(1, start=10))  # queued: the sender has `a`
        assert store.apply_step(a, 1, {}, posts(1, start=2)).ok  # behind a held row
        release.set()
        wait_until(lambda: len(sender.sent) == 3, timeout=5.0)
        assert [(s.conversation_id, s.payload["n"]) for s in sender.sent] == [
            (a, 1),
            (b, 10),
            (a, 2),
        ]
        wait_until(lambda: store.outbox_pending() == 0, timeout=5.0)
    finally:
        deliverer.stop()


def test_stop_gives_back_the_claims_of_groups_not_started(db: Database) -> None:
    store = db.make_store()
    given_back = threading.Event()
    started = threading.Event()
    original = store.release_claims

    def release_claims(ids: list[int], token: str) -> int:
        count = original(ids, token)
        given_back.set()
        return count

    store.release_claims = release_claims  # type: ignore[method-assign]

    def held_until_given_back(row: OutboxRow, payload: dict[str, Any]) -> str:
        started.set()
        given_back.wait(5)  # stop() cancels the queued group while this one is sent
        return f"1.{row.seq}"

    sender = FakeSender(behaviour=held_until_given_back)
    deliverer, a = one_sender_busy(store, sender, started)
    try:
        b = hand_over(deliverer, store, posts(2, start=10))
    finally:
        deliverer.stop()
    assert given_back.is_set()
    assert sender.seqs(a) == [1] and sender.seqs(b) == []
    assert [(r.status, r.claim_token) for r in store.outbox_rows(b)] == [("pending", None)] * 2


def test_rows_claimed_behind_a_send_as_it_stops_are_given_back(db: Database) -> None:
    """stop() gave up waiting while a sender was recording its last send and claiming
    the rows behind it: those rows are given back, not queued in the next pool."""
    store = db.make_store()
    recording, go, given_back = threading.Event(), threading.Event(), threading.Event()
    original, original_release = store.record_sent_and_claim_next, store.release_claims

    def held_record(*args: Any, **kw: Any) -> tuple[set[int], list[OutboxRow]]:
        recording.set()
        assert go.wait(5)
        return original(*args, **kw)

    def release_claims(ids: list[int], token: str) -> int:
        count = original_release(ids, token)
        given_back.set()
        return count

    store.record_sent_and_claim_next = held_record  # type: ignore[method-assign]
    store.release_claims = release_claims  # type: ignore[method-assign]
    sender = FakeSender()
    deliverer = Deliverer(store, sender, workers=1, poll_interval=60.0, maintenance_interval=None)
    deliverer.start()
    try:
        a = hand_over(deliverer, store, posts(1))
        assert recording.wait(5)  # it will claim what follows: it saw no stop yet
        assert store.apply_step(a, 1, {}, posts(1, start=2)).ok
    finally:
        deliverer.stop(timeout=0)  # returns at once, the sender still recording
    go.set()
    assert given_back.wait(5)
    assert sender.seqs(a) == [1]
    assert [(r.status, r.claim_token) for r in store.outbox_rows(a)] == [
        ("sent", None),
        ("pending", None),
    ]


def test_non_repeatable_sends_are_recorded_before_the_next_send(
    store: Store, clock: FakeClock
) -> None:
    """Edits and pins may be recorded with the next message; a post never waits: if the
    process died right after sending it, it must not be sent again."""
    cid = new_conversation(
        store,
        [
            OutboxMessage("update", {"n": 1}),
            OutboxMessage("post", {"n": 2}),
            OutboxMessage("pin", {"n": 3}),
            OutboxMessage("post", {"n": 4}),
        ],
    )
    seen: dict[int, list[str]] = {}

    def check(row: OutboxRow, payload: dict[str, Any]) -> str:
        seen[row.seq] = [r.status for r in store.outbox_rows(cid)]
        return f"1.{row.seq}"

    sender = FakeSender(behaviour=check)
    sender.repeatable = frozenset({"update", "pin"})  # type: ignore[attr-defined]
    transactions = []
    original, original_last = store.record_sent_many, store.record_sent_and_claim_next
    store.record_sent_many = lambda sent, **kw: (  # type: ignore[method-assign]
        transactions.append([r.seq for r, _ in sent]) or original(sent, **kw)
    )
    store.record_sent_and_claim_next = lambda sent, *a, **kw: (  # type: ignore[method-assign]
        transactions.append([r.seq for r, _ in sent]) or original_last(sent, *a, **kw)
    )
    deliverer = Deliverer(store, sender, clock=clock, maintenance_interval=None)
    assert deliverer.deliver_due() == 4
    assert transactions == [[1, 2], [3, 4]]
    assert seen[3][:2] == ["sent", "sent"]  # the post was recorded before the pin went
    assert all(r.status == "sent" for r in store.outbox_rows(cid))


def test_rows_a_request_claims_go_when_it_sends_them(db: Database) -> None:
    """The HTTP front sends a request's messages once its answer is written: until then
    they are claimed (no claim pass takes them) and not sent."""
    store = db.make_store()
    sender = FakeSender()
    deliverer = Deliverer(store, sender, poll_interval=60.0, maintenance_interval=None)
    deliverer.start()
    try:
        request = deliverer.claims()
        cid = new_conversation(store, posts(2), claims=request)
        assert all(r.claim_token for r in store.outbox_rows(cid))
        assert store.claim_outbox(lease=LEASE, batch=10) == []
        assert sender.sent == []
        deliverer.send_claimed(request)
        deliverer.send_claimed(request)  # twice is harmless: they were handed over
        wait_until(lambda: len(sender.sent) == 2, timeout=5.0)
        assert sender.seqs(cid) == [1, 2]
    finally:
        deliverer.stop()


def test_a_row_whose_claim_lapsed_comes_back_unconfirmed(store: Store, clock: FakeClock) -> None:
    """Its holder may have sent it before dying: the next holder is told so."""
    cid = new_conversation(store, posts(1))
    [first] = store.claim_outbox(lease=LEASE, batch=10)
    assert first.error is None
    clock.advance(31)
    [again] = store.claim_outbox(lease=LEASE, batch=10)
    assert again.id == first.id and again.unconfirmed
    store.release_claims([again.id], again.claim_token or "")
    [third] = store.claim_conversation(cid, lease=LEASE)
    # Released, not lapsed: nobody was sending it.
    assert third.error is None and not third.unconfirmed


def test_a_holder_recording_and_a_step_enqueueing_never_both_miss(db: Database) -> None:
    """A sender records its last rows while a step (in another process, as far as the
    database knows) queues more behind them: either the sender's transaction takes the
    new rows or the step's claims them itself. Never neither, which would strand them
    until a claim pass."""
    store, other = db.make_store(), db.make_store()
    handed: list[list[OutboxRow]] = []

    def record(start: threading.Barrier, head: OutboxRow, out: list[OutboxRow]) -> None:
        start.wait()
        sent = [(head, "1.1")]
        out += store.record_sent_and_claim_next(sent, head.conversation_id, lease=LEASE)[1]

    def step(start: threading.Barrier, cid: str) -> None:
        start.wait()
        claims = Claims(LEASE)
        assert other.apply_step(cid, 1, {}, posts(2, start=2), claims=claims).ok
        handed.extend(rows for _, rows in claims.taken)

    for round_ in range(30):
        cid = new_conversation(store, posts(1))
        [head] = store.claim_outbox(lease=LEASE, batch=10)
        handed.clear()
        start = threading.Barrier(2)
        chased: list[OutboxRow] = []
        threads = [
            threading.Thread(target=record, args=(start, head, chased)),
            threading.Thread(target=step, args=(start, cid)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        taken = [r.seq for r in chased] + [r.seq for rows in handed for r in rows]
        assert sorted(taken) == [2, 3], f"round {round_}: {chased} / {handed}"
