"""The outbox deliverer with a fake Sender, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from bot.delivery import (
    Delivered,
    Deliverer,
    PermanentFailure,
    Postpone,
    RetryLater,
    RetryPolicy,
    resolve_refs,
)
from bot.store import OutboxMessage, Store
from bot.store.models import RETRY_UNTIL, RefTarget
from tests.store.conftest import Database
from tests.store.helpers import FakeClock, FakeSender, new_conversation


def posts(n: int, start: int = 1) -> list[OutboxMessage]:
    return [OutboxMessage("post", {"n": i}) for i in range(start, start + n)]


def make(store: Store, sender: FakeSender, clock: FakeClock, **kw: object) -> Deliverer:
    """A deliverer on the fake clock; retry settings (``max_attempts``, ``base_backoff``,
    ``max_backoff``, ``unconfirmed_after``) go to its policy."""
    fields = ("max_attempts", "base_backoff", "max_backoff", "unconfirmed_after", "max_pause")
    policy = RetryPolicy(**{k: kw.pop(k) for k in fields if k in kw})  # type: ignore[arg-type]
    kw.setdefault("on_give_up", sender.on_failure)
    return Deliverer(  # type: ignore[arg-type]
        store, sender, clock=clock, maintenance_interval=None, policy=policy, **kw
    )


def test_delivers_in_order_per_conversation(store: Store, clock: FakeClock) -> None:
    a = new_conversation(store, posts(5))
    b = new_conversation(store, posts(3))
    store.apply_step(a, 1, {}, posts(2, start=6))
    sender = FakeSender()
    deliverer = make(store, sender, clock)
    assert deliverer.deliver_due() == 10
    assert sender.seqs(a) == [1, 2, 3, 4, 5, 6, 7]
    assert sender.seqs(b) == [1, 2, 3]
    assert [s.payload["n"] for s in sender.sent if s.conversation_id == a] == list(range(1, 8))
    rows = store.outbox_rows(a)
    assert all(r.status == "sent" and r.slack_ts and r.sent_at == clock() for r in rows)
    assert all(r.claimed_until is None and r.attempts == 1 for r in rows)
    assert deliverer.deliver_due() == 0
    assert len(sender.sent) == 10


def test_a_link_a_send_gives_back_is_kept_with_the_conversation(
    store: Store, clock: FakeClock
) -> None:
    """A sender may give back more than a ts (`Delivered`): a thread's permalink is
    kept with its conversation, and the ts still resolves refs to that message."""
    link = OutboxMessage("permalink", {"n": 1}, ref="linked")
    edit = OutboxMessage("update", {"ts": {"$ref": "linked"}})
    new_conversation(store, [link, edit])
    sender = FakeSender(
        behaviour=lambda row, _: (
            Delivered(ts="1700000000.000009", permalink="https://acme.slack.com/archives/C1/p9")
            if row.kind == "permalink"
            else None
        )
    )
    assert make(store, sender, clock).deliver_due() == 2
    assert sender.sent[-1].payload == {"ts": "1700000000.000009"}
    assert store.open_conversations("T1", "U1")[0].permalink == (
        "https://acme.slack.com/archives/C1/p9"
    )


def test_small_batches_keep_order(store: Store, clock: FakeClock) -> None:
    a = new_conversation(store, posts(7))
    b = new_conversation(store, posts(4))
    sender = FakeSender()
    deliverer = make(store, sender, clock, batch=3)
    claimed = []
    original = store.claim_outbox
    store.claim_outbox = lambda **kw: (  # type: ignore[method-assign]
        claimed.append(len(rows := original(**kw))) or rows
    )
    while deliverer.deliver_due():
        pass
    # A claim pass takes at most `batch` rows; each sender then takes the rest of its
    # conversation as it records its last sends.
    assert claimed and max(claimed) <= 3
    assert sender.seqs(a) == list(range(1, 8))
    assert sender.seqs(b) == [1, 2, 3, 4]


def test_later_message_never_overtakes(store: Store, clock: FakeClock) -> None:
    a = new_conversation(store, posts(3))
    b = new_conversation(store, posts(1))
    sender = FakeSender(script={(a, 1): [RetryLater("timeout")]})
    deliverer = make(store, sender, clock)
    assert deliverer.deliver_due() == 1  # only b
    assert sender.seqs(a) == [] and sender.seqs(b) == [1]
    store.enqueue(a, posts(1, start=4))
    assert deliverer.deliver_due() == 0  # a's head waits for its backoff
    clock.advance(0.5)
    assert deliverer.deliver_due() == 4
    assert sender.seqs(a) == [1, 2, 3, 4]
    assert sender.attempts.count((a, 1)) == 2


def test_refs_resolved_and_thread_set(store: Store, clock: FakeClock) -> None:
    cid = new_conversation(
        store,
        [
            OutboxMessage("post", {"text": "Q1"}, ref="root", sets_thread=True),
            OutboxMessage("post", {"thread_ts": {"$ref": "root"}}, ref="q1"),
            OutboxMessage(
                "pin",
                {"timestamp": {"$ref": "root"}, "blocks": [{"a": {"$ref": "q1"}}, "x", 3]},
            ),
        ],
    )
    sender = FakeSender()
    deliverer = make(store, sender, clock)
    assert deliverer.deliver_due() == 3
    root_ts, q1_ts = sender.sent[0].ts, sender.sent[1].ts
    assert sender.sent[1].payload == {"thread_ts": root_ts}
    assert sender.sent[2].payload == {"timestamp": root_ts, "blocks": [{"a": q1_ts}, "x", 3]}
    assert store.get(cid).thread_ts == root_ts
    assert store.find_by_thread("T1", "C1", root_ts).id == cid
    assert store.outbox_rows(cid)[1].payload == {"thread_ts": {"$ref": "root"}}  # stored as is

    # A later step refers to messages sent in an earlier pass; the newest "q1" wins.
    store.apply_step(
        cid,
        1,
        {},
        [
            OutboxMessage("post", {"thread_ts": {"$ref": "root"}}, ref="q1"),
            OutboxMessage("update", {"ts": {"$ref": "q1"}}),
        ],
    )
    assert deliverer.deliver_due() == 2
    assert sender.sent[3].payload == {"thread_ts": root_ts}
    assert sender.sent[4].payload == {"ts": sender.sent[3].ts}


def test_sets_thread_without_ts_leaves_thread(store: Store, clock: FakeClock) -> None:
    cid = new_conversation(store, [OutboxMessage("ephemeral", {}, sets_thread=True)])
    sender = FakeSender(behaviour=lambda row, payload: None)
    assert make(store, sender, clock).deliver_due() == 1
    assert store.get(cid).thread_ts is None


def test_retry_after_is_honoured(store: Store, clock: FakeClock) -> None:
    cid = new_conversation(store, posts(2))
    sender = FakeSender(script={(cid, 1): [RetryLater("ratelimited", retry_after=30)]})
    deliverer = make(store, sender, clock)
    start = clock()
    assert deliverer.deliver_due() == 0
    row = store.outbox_rows(cid)[0]
    assert (row.status, row.attempts, row.error) == ("pending", 1, "ratelimited")
    assert row.next_attempt_at == start + timedelta(seconds=30)
    assert row.claimed_until is None
    clock.advance(29.9)
    assert deliverer.deliver_due() == 0
    clock.advance(0.1)
    assert deliverer.deliver_due() == 2
    assert sender.seqs(cid) == [1, 2]


def test_postponing_waits_without_using_up_attempts(store: Store, clock: FakeClock) -> None:
    cid = new_conversation(store, posts(2))
    waits = [Postpone("paced", 2.0) for _ in range(20)]  # far more than max_attempts
    sender = FakeSender(script={(cid, 1): waits})
    deliverer = make(store, sender, clock, max_attempts=3)
    for _ in range(20):
        assert deliverer.deliver_due() == 0
        row = store.outbox_rows(cid)[0]
        assert (row.status, row.attempts, row.error) == ("pending", 0, "paced")
        assert row.next_attempt_at == clock() + timedelta(seconds=2)
        clock.advance(2.0)
    assert deliverer.deliver_due() == 2
    assert sender.seqs(cid) == [1, 2]
    assert not sender.failures


def test_a_pause_is_decided_by_the_policy_and_capped(store: Store, clock: FakeClock) -> None:
    """A pacing turn or a 429's Retry-After longer than the policy's ``max_pause`` holds
    the row that long only; then it is asked again (and may be paused again)."""
    cid = new_conversation(store, posts(1))
    sender = FakeSender(script={(cid, 1): [Postpone("ratelimited", 3600.0)]})
    deliverer = make(store, sender, clock, max_pause=45.0)
    assert deliverer.deliver_due() == 0
    row = store.outbox_rows(cid)[0]
    assert (row.attempts, row.next_attempt_at) == (0, clock() + timedelta(seconds=45))
    clock.advance(45.0)
    assert deliverer.deliver_due() == 1


def test_exponential_backoff_capped(store: Store, clock: FakeClock) -> None:
    cid = new_conversation(store, posts(1))
    sender = FakeSender(script={(cid, 1): [RetryLater("http 503") for _ in range(7)]})
    deliverer = make(store, sender, clock, base_backoff=0.5, max_backoff=4.0)
    delays = []
    for _ in range(7):
        before = clock()
        assert deliverer.deliver_due() == 0
        row = store.outbox_rows(cid)[0]
        delay = (row.next_attempt_at - before).total_seconds()
        delays.append(delay)
        clock.advance(delay)
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0]
    assert deliverer.deliver_due() == 1
    assert store.outbox_rows(cid)[0].attempts == 8


def test_max_attempts_fails_and_notifies_once(store: Store, clock: FakeClock) -> None:
    cid = new_conversation(store, posts(2))
    notice = OutboxMessage("ephemeral", {"text": "Slack is not answering; try again later."})
    sender = FakeSender(
        script={(cid, 1): [RetryLater("http 500") for _ in range(10)]},
        failure_messages=[notice],
    )
    deliverer = make(store, sender, clock, max_attempts=3)
    for _ in range(5):
        deliverer.deliver_due()
        clock.advance(60)
    rows = store.outbox_rows(cid)
    assert rows[0].status == "failed" and rows[0].attempts == 3
    assert "gave up after 3 attempts" in rows[0].error and "http 500" in rows[0].error
    assert len(sender.failures) == 1 and sender.failures[0][0].seq == 1
    assert [(r.seq, r.kind, r.status) for r in rows[1:]] == [
        (2, "post", "sent"),
        (3, "ephemeral", "sent"),
    ]
    assert sender.sent[-1].payload == notice.payload
    assert sender.attempts.count((cid, 1)) == 3


def test_permanent_failure(store: Store, clock: FakeClock) -> None:
    cid = new_conversation(store, posts(2))
    sender = FakeSender(script={(cid, 1): [PermanentFailure("not_in_channel")]})
    deliverer = make(store, sender, clock)
    assert deliverer.deliver_due() == 1
    rows = store.outbox_rows(cid)
    assert (rows[0].status, rows[0].error, rows[0].attempts) == ("failed", "not_in_channel", 1)
    assert rows[1].status == "sent"
    assert [(r.seq, e) for r, e in sender.failures] == [(1, "not_in_channel")]
    assert deliverer.deliver_due() == 0


def test_dependent_row_fails_with_its_ref(store: Store, clock: FakeClock) -> None:
    cid = new_conversation(
        store,
        [
            OutboxMessage("post", {"text": "root"}, ref="root", sets_thread=True),
            OutboxMessage("post", {"thread_ts": {"$ref": "root"}}),
            OutboxMessage("post", {"text": "independent"}),
        ],
    )
    sender = FakeSender(
        script={(cid, 1): [PermanentFailure("not_in_channel")]},
        failure_messages=[OutboxMessage("respond", {"text": "invite me"})],
    )
    deliverer = make(store, sender, clock)
    deliverer.deliver_due()
    deliverer.deliver_due()
    rows = store.outbox_rows(cid)
    assert [r.status for r in rows[:3]] == ["failed", "failed", "sent"]
    assert rows[1].error == "depends on root, which failed: not_in_channel"
    assert rows[1].attempts == 0
    assert [(r.seq, e) for r, e in sender.failures] == [
        (1, "not_in_channel"),
        (2, "depends on root, which failed: not_in_channel"),
    ]
    assert [(r.kind, r.status) for r in rows[3:]] == [("respond", "sent"), ("respond", "sent")]
    assert (cid, 2) not in sender.attempts
    assert store.get(cid).thread_ts is None


def test_missing_ref_fails_permanently(store: Store, clock: FakeClock) -> None:
    cid = new_conversation(store, [OutboxMessage("update", {"ts": {"$ref": "nope"}})])
    sender = FakeSender()
    make(store, sender, clock).deliver_due()
    assert store.outbox_rows(cid)[0].status == "failed"
    assert "nope" in sender.failures[0][1]


def test_unexpected_sender_error_is_retried(store: Store, clock: FakeClock) -> None:
    cid = new_conversation(store, posts(1))
    sender = FakeSender(script={(cid, 1): [KeyError("boom")]})
    deliverer = make(store, sender, clock)
    assert deliverer.deliver_due() == 0
    row = store.outbox_rows(cid)[0]
    assert row.status == "pending" and row.attempts == 1 and "KeyError" in row.error
    clock.advance(1)
    assert deliverer.deliver_due() == 1


def test_dead_deliverers_claim_expires(store: Store, clock: FakeClock) -> None:
    cid = new_conversation(store, posts(2))
    claimed = store.claim_outbox(lease=timedelta(seconds=30), batch=50)  # then it "dies"
    assert [r.seq for r in claimed] == [1, 2]
    sender = FakeSender()
    other = make(store, sender, clock, lease=30)
    clock.advance(29)
    assert other.deliver_due() == 0
    clock.advance(1.5)
    assert other.deliver_due() == 2
    assert other.deliver_due() == 0
    assert sender.seqs(cid) == [1, 2]
    # The dead deliverer comes back and tries to record: its claim is gone.
    assert store.record_sent(claimed[0], "999.1") is False
    assert store.outbox_rows(cid)[0].slack_ts == sender.sent[0].ts


def test_lease_is_extended_for_long_batches(store: Store, clock: FakeClock) -> None:
    cid = new_conversation(store, posts(4))
    rival = FakeSender()

    def slow(row: object, payload: object) -> str:
        clock.advance(20)  # each send takes 20 s of the 30 s lease
        # A rival deliverer must not be able to take the rest meanwhile.
        assert make(store, rival, clock, lease=30).deliver_due() == 0
        return f"ts{clock().timestamp()}"

    sender = FakeSender(behaviour=slow)  # type: ignore[arg-type]
    assert make(store, sender, clock, lease=30).deliver_due() == 4
    assert sender.seqs(cid) == [1, 2, 3, 4] and rival.sent == []


def test_concurrent_deliverers_never_send_twice(db: Database) -> None:
    store = db.make_store()
    conversations = [new_conversation(store, posts(8), user=f"U{i}") for i in range(12)]
    sender = FakeSender(behaviour=lambda row, payload: time.sleep(0.0005) or f"{row.id}.0")
    deliverers = [Deliverer(store, sender, batch=5, maintenance_interval=None) for _ in range(3)]
    deadline = time.monotonic() + 20

    def run(d: Deliverer) -> None:
        while len(sender.sent) < 96 and time.monotonic() < deadline:
            if d.deliver_due() == 0:
                time.sleep(0.002)

    threads = [threading.Thread(target=run, args=(d,)) for d in deliverers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [s.row_id for s in sender.sent]
    assert len(ids) == 96 and len(set(ids)) == 96
    for cid in conversations:
        assert sender.seqs(cid) == list(range(1, 9))
        assert all(r.status == "sent" for r in store.outbox_rows(cid))


def test_background_thread_delivers_on_wake(db: Database) -> None:
    store = db.make_store()
    sender = FakeSender()
    deliverer = Deliverer(store, sender, poll_interval=5.0)
    deliverer.start()
    try:
        deadline = time.monotonic() + 5
        time.sleep(0.1)  # the first pass (and retention) has run; now it waits 5 s
        cid = new_conversation(store, posts(3))
        deliverer.wake()
        while len(sender.sent) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sender.seqs(cid) == [1, 2, 3]
        assert time.monotonic() < deadline - 3  # woken, not polled
    finally:
        deliverer.stop()
    assert deliverer._thread is None


def test_background_thread_survives_errors(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    store = db.make_store()
    calls = 0
    original = store.claim_outbox

    def flaky(**kw: object) -> list:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database went away")
        return original(**kw)  # type: ignore[arg-type]

    store.claim_outbox = flaky  # type: ignore[method-assign]
    cid = new_conversation(store, posts(1))
    sender = FakeSender()
    deliverer = Deliverer(store, sender, poll_interval=0.01, maintenance_interval=None)
    deliverer.start()
    try:
        deadline = time.monotonic() + 5
        while not sender.sent and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        deliverer.stop()
    assert sender.seqs(cid) == [1]
    assert "delivery pass failed" in caplog.text


def test_resolve_refs_pure() -> None:
    targets = {
        "root": RefTarget(1, "sent", "1.1", None),
        "bad": RefTarget(2, "failed", None, "channel_not_found"),
    }
    payload = {"a": [{"$ref": "root"}, {"$ref": "root", "x": 1}], "b": {"c": {"$ref": "root"}}}
    assert resolve_refs(payload, targets) == {
        "a": ["1.1", {"$ref": "root", "x": 1}],
        "b": {"c": "1.1"},
    }
    with pytest.raises(Exception, match="depends on bad, which failed: channel_not_found"):
        resolve_refs({"t": {"$ref": "bad"}}, targets)


def test_a_row_marked_retry_until_outlives_max_attempts(store: Store, clock: FakeClock) -> None:
    """An edit that takes buttons away is retried, with capped backoff, until the time in
    its payload (the conversation's expiry), however many attempts that takes."""
    until = (clock() + timedelta(hours=1)).isoformat()
    closing = OutboxMessage("update", {"ts": "1.1", RETRY_UNTIL: until})
    cid = new_conversation(store, [closing])
    sender = FakeSender(script={(cid, 1): [RetryLater("http 503") for _ in range(200)]})
    deliverer = make(store, sender, clock, max_attempts=3, max_backoff=60)
    for _ in range(30):  # 30 attempts over ~25 minutes: still worth sending
        deliverer.deliver_due()
        clock.advance(60)
    row = store.outbox_rows(cid)[0]
    assert row.status == "pending" and row.attempts == 30
    clock.advance(hours=1)  # past the conversation's expiry: given up at the next failure
    deliverer.deliver_due()
    row = store.outbox_rows(cid)[0]
    assert row.status == "failed" and "gave up after 31 attempts" in row.error


def test_ending_a_conversation_cancels_its_queue(store: Store, clock: FakeClock) -> None:
    """A failure that ends the conversation (the app left the channel) cancels the
    conversation and its other queued rows, and sends the sender's notices."""
    cid = new_conversation(store, posts(3))
    notice = OutboxMessage("respond", {"text": "I was removed from this channel"})
    failure = PermanentFailure("not_in_channel", code="not_in_channel", ends_conversation=True)
    sender = FakeSender(script={(cid, 2): [failure]}, failure_messages=[notice])
    deliverer = make(store, sender, clock)
    deliverer.deliver_due()
    deliverer.deliver_due()
    rows = store.outbox_rows(cid)
    assert [(r.seq, r.kind, r.status) for r in rows] == [
        (1, "post", "sent"),
        (2, "post", "failed"),
        (3, "post", "cancelled"),
        (4, "respond", "sent"),
    ]
    assert store.get(cid).status == "cancelled"
    assert (cid, 3) not in sender.attempts
