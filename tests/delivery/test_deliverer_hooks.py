"""The deliverer's hooks, on SQLite and PostgreSQL: after-send hooks run once a row is
sent and never when it fails; what they return is queued as ordinary rows; the give-up
hook's notes are queued when a row is given up."""

from __future__ import annotations

from collections.abc import Sequence

from bot.delivery import Delivered, Deliverer, PermanentFailure, Postpone, RetryLater
from bot.store import OutboxMessage, OutboxRow, Store
from tests.store.helpers import FakeClock, FakeSender, new_conversation


class Recorder:
    """An after-send hook that records what it was given and queues ``follow``."""

    def __init__(self, follow: Sequence[OutboxMessage] = ()) -> None:
        self.seen: list[tuple[int, Delivered]] = []
        self.follow = list(follow)
        self.fail_next = False

    def __call__(self, row: OutboxRow, sent: Delivered) -> Sequence[OutboxMessage]:
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("the hook failed")
        self.seen.append((row.seq, sent))
        return self.follow


def deliverer(store: Store, sender: FakeSender, clock: FakeClock) -> Deliverer:
    return Deliverer(
        store, sender, clock=clock, maintenance_interval=None, on_give_up=sender.on_failure
    )


def test_a_hook_runs_after_its_kind_is_sent_with_what_the_send_gave(
    store: Store, clock: FakeClock
) -> None:
    cid = new_conversation(
        store, [OutboxMessage("post", {"n": 1}), OutboxMessage("open_dm", {"user": "U1"})]
    )
    sender = FakeSender(
        behaviour=lambda row, _: (
            Delivered(ts="D1", channel="D1") if row.kind == "open_dm" else "1.1"
        )
    )
    hook = Recorder()
    d = deliverer(store, sender, clock)
    d.after_send("open_dm", hook)
    assert d.deliver_due() == 2 and sender.seqs(cid) == [1, 2]
    assert hook.seen == [(2, Delivered(ts="D1", channel="D1"))]  # not for the post


def test_what_a_hook_returns_is_queued_and_sent_after_the_row(
    store: Store, clock: FakeClock
) -> None:
    cid = new_conversation(store, [OutboxMessage("permalink", {"channel": "C1"})])
    edit = OutboxMessage("replaced", {"channel": "C1", "ts": "9.9", "text": "replaced"})
    sender = FakeSender()
    d = deliverer(store, sender, clock)
    d.after_send("permalink", Recorder([edit]))
    d.deliver_due()
    d.deliver_due()
    assert [(s.seq, s.kind) for s in sender.sent] == [(1, "permalink"), (2, "replaced")]
    assert [r.status for r in store.outbox_rows(cid)] == ["sent", "sent"]


def test_no_hook_runs_for_a_send_that_fails(store: Store, clock: FakeClock) -> None:
    cid = new_conversation(store, [OutboxMessage("open_dm", {"user": "U1"}) for _ in range(2)])
    refused = PermanentFailure("cannot_dm_bot", code="cannot_dm_bot")
    sender = FakeSender(
        script={(cid, 1): [Postpone("paced", 1.0), RetryLater("http_500")], (cid, 2): [refused]}
    )
    hook = Recorder()
    d = deliverer(store, sender, clock)
    d.after_send("open_dm", hook)
    d.deliver_due()  # postponed
    assert hook.seen == []
    clock.advance(5)
    d.deliver_due()  # a retry
    assert hook.seen == []
    clock.advance(5)
    d.deliver_due()  # sent (the hook runs), then the second is refused (it does not)
    assert [seq for seq, _ in hook.seen] == [1]
    rows = store.outbox_rows(cid)
    assert [(r.seq, r.status) for r in rows] == [(1, "sent"), (2, "failed")]
    assert [(r.seq, e) for r, e in sender.failures] == [(2, "cannot_dm_bot")]


def test_a_hook_that_raises_has_the_row_tried_again(store: Store, clock: FakeClock) -> None:
    cid = new_conversation(store, [OutboxMessage("open_dm", {"user": "U1"})])
    sender = FakeSender()
    hook = Recorder()
    hook.fail_next = True
    d = deliverer(store, sender, clock)
    d.after_send("open_dm", hook)
    d.deliver_due()
    (row,) = store.outbox_rows(cid)
    assert row.status == "pending" and "the hook failed" in (row.error or "")
    clock.advance(5)
    assert d.deliver_due() == 1
    assert [seq for seq, _ in hook.seen] == [1]
    assert store.outbox_rows(cid)[0].status == "sent"


def test_the_give_up_hook_queues_its_notes(store: Store, clock: FakeClock) -> None:
    cid = new_conversation(store, [OutboxMessage("post", {"n": 1})])
    refused = PermanentFailure("not_in_channel", code="not_in_channel")
    note = OutboxMessage("respond", {"text": "invite me"})
    sender = FakeSender(script={(cid, 1): [refused]}, failure_messages=[note])
    d = deliverer(store, sender, clock)
    d.deliver_due()
    d.deliver_due()
    assert [(r.kind, r.status) for r in store.outbox_rows(cid)] == [
        ("post", "failed"),
        ("respond", "sent"),
    ]
