"""Reads by person and by channel (history, the App Home) and a person's own queue."""

from __future__ import annotations

from bot.store import OutboxMessage, Page, Store
from bot.store.models import PinnedResult, ResultChange
from tests.store.helpers import FakeClock, new_conversation, set_permalink


def finish(store: Store, clock: FakeClock, **kw: str) -> str:
    clock.advance(60)
    cid = new_conversation(store, **kw)
    assert store.apply_step(cid, 1, {}, status="finished", recommendation={"of": cid}).ok
    return cid


def test_history_by_channel_and_person_in_pages_with_permalinks(
    store: Store, clock: FakeClock
) -> None:
    ids = [finish(store, clock, user=f"U{i % 2}") for i in range(5)]
    elsewhere = finish(store, clock, channel="C2", user="U0")
    set_permalink(store, ids[4], "https://acme.slack.com/archives/C1/p1")
    first = store.history("T1", channel="C1", page=Page(1, 2))
    assert [r.conversation_id for r in first.rows] == [ids[4], ids[3]] and first.more
    assert first.rows[0].permalink == "https://acme.slack.com/archives/C1/p1"
    assert first.rows[1].permalink is None
    last = store.history("T1", channel="C1", page=Page(3, 2))
    assert [r.conversation_id for r in last.rows] == [ids[0]] and not last.more
    mine = store.history("T1", channel="C1", user="U0", page=Page(1, 10))
    assert [r.conversation_id for r in mine.rows] == [ids[4], ids[2], ids[0]]
    everywhere = store.history("T1", user="U0", page=Page(1, 10))
    assert [r.conversation_id for r in everywhere.rows] == [elsewhere, ids[4], ids[2], ids[0]]
    assert store.history("T2", channel="C1", page=Page()).rows == []


def test_open_conversations_of_a_person_across_channels(store: Store, clock: FakeClock) -> None:
    a = new_conversation(store, channel="C1")
    clock.advance(1)
    b = new_conversation(store, channel="C2")
    finish(store, clock)
    new_conversation(store, user="U2")
    set_permalink(store, b, "https://acme.slack.com/archives/C2/p2")
    found = store.open_conversations("T1", "U1")
    assert [(o.id, o.permalink) for o in found] == [
        (b, "https://acme.slack.com/archives/C2/p2"),
        (a, None),
    ]


def test_a_persons_queue_is_made_once_and_moves_nowhere(store: Store) -> None:
    queue = store.person_queue("T1", "U1")
    assert store.person_queue("T1", "U1") == queue != store.person_queue("T1", "U2")
    assert store.enqueue(queue, [OutboxMessage("publish", {"user_id": "U1"})])
    assert [r.kind for r in store.outbox_rows(queue)] == ["publish"]
    assert store.open_conversations("T1", "U1") == []
    assert store.find_open_for_user("T1", "", "U1") is None
    assert store.idle_conversations() == []


def test_a_persons_pinned_result_in_a_channel(store: Store, clock: FakeClock) -> None:
    """The person's pinned result here (pinning one unpins the one before), with its
    channel message; none for another person, channel or workspace, nor once it is
    taken down."""
    assert store.pinned_result("T1", "C1", "U1") is None
    older, newer = new_conversation(store), new_conversation(store)
    for cid, ts in ((older, "1.1"), (newer, "2.2")):
        clock.advance(60)
        store.set_thread_ts(cid, ts)
        pinned = ResultChange(pinned=True)
        assert store.apply_step(cid, 1, {}, status="finished", recommendation={}, result=pinned).ok
    assert store.pinned_result("T1", "C1", "U1") == PinnedResult(newer, "2.2")
    assert store.pinned_result("T1", "C1", "U2") is None
    assert store.pinned_result("T1", "C2", "U1") is None
    assert store.pinned_result("T2", "C1", "U1") is None
    assert store.apply_step(newer, 2, {}, result=ResultChange(pinned=False)).ok
    assert store.pinned_result("T1", "C1", "U1") is None


def test_was_seen_reads_without_marking(store: Store) -> None:
    assert not store.was_seen("trigger-1")
    assert not store.was_seen("trigger-1")
    assert store.mark_seen("trigger-1")
    assert store.was_seen("trigger-1") and not store.was_seen("trigger-2")
