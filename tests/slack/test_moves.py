"""Moves on a SQLite store, without HTTP or Slack: what each thing a person does commits
and queues."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.conversation import Conversation
from bot.flow.loader import FlowRegistry, load_flow
from bot.slack import blocks
from bot.slack.moves import Moves
from bot.slack.plan import Click
from bot.store import Store
from bot.store.models import NOTIFY_RESPONSE_URL, NOTIFY_USER, RETRY_UNTIL, OutboxRow

TEAM, CHANNEL, ALICE, BOB = "T1", "C1", "U0ALICE", "U0BOB"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store.from_url(None, tmp_path)
    yield store
    store.dispose()


@pytest.fixture
def moves(store: Store) -> Moves:
    flows = FlowRegistry([load_flow("llm_cost")])
    return Moves(store, flows, flow_name="llm_cost", command="/llm-cost")


def start(moves: Moves, **kw: str) -> str:
    args = {"team": TEAM, "channel": CHANNEL, "user": ALICE, "response_url": "https://r/1"}
    args.update(kw)
    conversation_id = moves.start(**args)  # type: ignore[arg-type]
    assert conversation_id is not None
    return conversation_id


def click(moves: Moves, store: Store, cid: str, label: str, user: str = ALICE) -> None:
    """Press the button ``label`` of the question being asked."""
    conversation = Conversation.restore(moves.flows, store.get(cid).record)  # type: ignore[union-attr]
    question = conversation.question()
    assert question is not None
    option = next(o.index for o in question.options if o.label == label)
    value = blocks.button_value(cid, conversation.step, option)
    moves.click(Click(TEAM, CHANNEL, user, blocks.ANSWER_ACTION + str(option), value, "u"))


def kinds(rows: list[OutboxRow]) -> list[tuple[str, str | None]]:
    return [(r.kind, r.ref) for r in rows]


def test_start_queues_the_root_and_the_first_question(moves: Moves, store: Store) -> None:
    cid = start(moves)
    rows = store.outbox_rows(cid)
    assert kinds(rows) == [("post", "root"), ("post", "q0"), ("permalink", None)]
    assert rows[0].sets_thread and rows[0].meta[NOTIFY_RESPONSE_URL] == "https://r/1"
    assert rows[1].meta[NOTIFY_USER] == ALICE
    # The thread's link, for history and the App Home, after the first question.
    assert rows[2].payload == {"channel": CHANNEL, "message_ts": {"$ref": "root"}}


def test_a_start_that_failed_half_way_starts_when_retried(
    moves: Moves, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A New plan's start runs from an outbox row, which is retried after a failure:
    the start is marked seen only with the conversation it creates."""
    from bot.slack.plan import DirectMessage

    opened = DirectMessage(TEAM, ALICE, "D0ALICE", "dm:queue:1")
    real = store.create_conversation

    def fails(**kw: object) -> None:
        raise RuntimeError("database gone for a moment")

    monkeypatch.setattr(store, "create_conversation", fails)
    with pytest.raises(RuntimeError):
        moves.start_in_dm(opened)
    monkeypatch.setattr(store, "create_conversation", real)
    cid = moves.start_in_dm(opened)
    assert cid is not None and store.get(cid).channel == "D0ALICE"  # type: ignore[union-attr]
    assert moves.start_in_dm(opened) is None  # and once started, a repeat starts nothing


def test_a_replaced_conversation_is_edited_by_the_newer_one(moves: Moves, store: Store) -> None:
    old = start(moves)
    store.set_thread_ts(old, "1700000000.000100")
    new = start(moves)
    assert store.get(old).status == "cancelled"  # type: ignore[union-attr]
    old_rows = store.outbox_rows(old)
    # The newer conversation edits the old channel message, so no edit of the old
    # queue can land after it; nothing was pinned, so nothing is unpinned.
    assert not any(r.kind == "update" and r.payload["ts"] == {"$ref": "root"} for r in old_rows)
    assert not any(r.kind == "unpin" for r in old_rows)
    (link,) = [r for r in store.outbox_rows(new) if r.kind == "permalink"]
    assert link.meta["_replaces"]["ts"] == "1700000000.000100"


def test_a_replayed_command_changes_nothing(moves: Moves, store: Store) -> None:
    cid = start(moves, trigger_id="123.456.abc")
    assert (
        moves.start(
            team=TEAM, channel=CHANNEL, user=ALICE, response_url=None, trigger_id="123.456.abc"
        )
        is None
    )
    assert store.get(cid).status == "active"  # type: ignore[union-attr]
    assert store.find_open_for_user(TEAM, CHANNEL, ALICE).id == cid  # type: ignore[union-attr]


def test_a_click_closes_the_question_until_expiry_and_asks_the_next(
    moves: Moves, store: Store
) -> None:
    cid = start(moves)
    click(moves, store, cid, "Training")
    rows = store.outbox_rows(cid)[3:]
    # One edit: the question answered becomes the next one, and goes by its name.
    assert kinds(rows) == [("update", "q1")]
    assert rows[0].payload["ts"] == {"$ref": "q0"}
    assert RETRY_UNTIL in rows[0].meta  # it takes the old buttons away
    assert rows[0].meta[NOTIFY_RESPONSE_URL] == "u"  # the click's response_url


def test_the_last_answer_turns_its_question_into_the_result(moves: Moves, store: Store) -> None:
    """No new post for the result: the last question is edited into it, and goes by the
    result's name from then on (Start over, expiry and Change an answer edit it)."""
    cid = start(moves)
    for label in ("Training", "100B+ params", "Active"):
        click(moves, store, cid, label)
    last = store.outbox_rows(cid)[-3:]
    assert kinds(last) == [("update", "r3"), ("update", None), ("pin", None)]
    assert last[0].payload["ts"] == {"$ref": "q2"}
    assert last[1].payload["ts"] == {"$ref": "root"}
    assert not [r for r in store.outbox_rows(cid) if r.kind == "post" and r.ref == "r3"]


def test_typed_answers_mark_their_event_seen_in_the_same_step(moves: Moves, store: Store) -> None:
    cid = start(moves)
    store.set_thread_ts(cid, "1.1")
    typed = {"team": TEAM, "channel": CHANNEL, "thread_ts": "1.1", "user": ALICE}
    moves.typed(**typed, text="training", event_key="Ev1")
    moves.typed(**typed, text="training", event_key="Ev1")  # Slack's retry
    assert store.get(cid).version == 2  # type: ignore[union-attr]
    assert not store.mark_seen("Ev1")


def test_others_clicks_get_a_private_note(moves: Moves, store: Store) -> None:
    cid = start(moves)
    click(moves, store, cid, "Training", user=BOB)
    last = store.outbox_rows(cid)[-1]
    assert last.kind == "ephemeral" and last.payload["user"] == BOB
    assert store.get(cid).version == 1  # type: ignore[union-attr]


def test_typed_back_under_a_finished_result_reopens_the_last_question(
    moves: Moves, store: Store
) -> None:
    cid = start(moves)
    store.set_thread_ts(cid, "1.1")
    for label in ("Training", "100B+ params", "Active"):
        click(moves, store, cid, label)
    assert store.get(cid).status == "finished"  # type: ignore[union-attr]
    moves.typed(
        team=TEAM, channel=CHANNEL, thread_ts="1.1", user=ALICE, text="back", event_key="Ev9"
    )
    row = store.get(cid)
    assert row.status == "active" and len(row.record["answers"]) == 2  # type: ignore[union-attr]


def test_cancel_ends_the_conversation_and_closes_the_question(moves: Moves, store: Store) -> None:
    cid = start(moves)
    assert moves.cancel_open(team=TEAM, channel=CHANNEL, user=ALICE)
    assert store.get(cid).status == "cancelled"  # type: ignore[union-attr]
    rows = store.outbox_rows(cid)[3:]
    assert kinds(rows) == [
        ("update", None),  # the question says "Cancelled by ..." in place: no post, no ping
        ("update", None),  # the channel message says so
    ]  # and nothing was pinned, so no unpin
    assert "Cancelled by" in rows[0].payload["text"]
    assert not moves.cancel_open(team=TEAM, channel=CHANNEL, user=ALICE)


def test_uninstalling_ends_the_workspaces_conversations(moves: Moves, store: Store) -> None:
    mine = start(moves)
    other = start(moves, team="T2")
    assert moves.end_workspace(TEAM, "app_uninstalled") == 1
    assert store.get(mine).status == "cancelled"  # type: ignore[union-attr]
    assert store.get(other).status == "active"  # type: ignore[union-attr]
    assert {r.status for r in store.outbox_rows(mine)} == {"cancelled"}
