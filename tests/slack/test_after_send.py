"""Delivery only sends: what follows a send is the application's hooks, and delivery
metadata never reaches Slack. Over HTTP, against the loopback fake."""

from __future__ import annotations

import json

from bot.delivery import Delivered
from bot.slack import after_send
from bot.slack.kinds import KINDS
from bot.slack.plan import HOME_FOR, REPLACES, DirectMessage
from bot.slack.sender import SlackSender
from bot.store.models import TEAM as TEAM_KEY
from tests.slack.harness import ALICE, CHANNEL, Slack, text_of
from tests.slack.test_scenarios import start, start_new
from tests.store.helpers import outbox_row


def test_no_request_to_slack_carries_delivery_metadata(slack: Slack) -> None:
    """A replaced conversation (its edit queued by an after-send hook), a plan from the
    App Home (its DM started by one) and a refusal told through the response_url (the
    give-up hook, reading whom to tell from the metadata): Slack gets only its own
    arguments."""
    start(slack)
    slack.answer("Training")
    start_new(slack, json.loads(slack.command()[1]))
    slack.open_home()
    assert slack.home_click("New plan")[0] == 200
    slack.settle()
    assert "training or inference" in text_of(slack.current(f"D{ALICE}"))
    slack.fake.fail_next("chat.postMessage", error="not_in_channel")
    slack.command(channel="C0OTHER")
    slack.settle()
    told = [c for c in slack.fake.calls("response_url") if "not a member" in json.dumps(c.params)]
    assert told, "the refusal was told privately"
    calls = slack.fake.calls()
    assert {"chat.postMessage", "chat.update", "chat.getPermalink", "response_url"} <= {
        c.method for c in calls
    }
    leaked = [(c.method, k) for c in calls for k in c.params if k.startswith("_")]
    assert leaked == []


def test_the_replaced_edit_links_to_the_newer_thread() -> None:
    """The permalink hook queues an ordinary `replaced` edit of the older message."""
    meta = {REPLACES: {"ts": "1.1", "user": ALICE, "title": "LLM cost"}}
    row = outbox_row(kind="permalink", payload={"channel": CHANNEL, "message_ts": "2.2"}, meta=meta)
    hook = after_send.point_to_newer("/llm-cost")
    (edit,) = hook(row, Delivered(permalink="https://x.slack.com/p2"))
    assert edit.kind == "replaced" and edit.payload["ts"] == "1.1"
    assert edit.payload["channel"] == CHANNEL and not edit.meta
    assert "Replaced by a <https://x.slack.com/p2|newer conversation>" in edit.payload["text"]
    (unlinked,) = hook(row, Delivered())  # Slack gave no link: the words without one
    assert "Replaced by a newer conversation." in unlinked.payload["text"]
    assert not hook(outbox_row(kind="permalink", payload={"channel": CHANNEL}), Delivered())


def test_the_dm_hook_starts_there_once_per_row() -> None:
    started: list[DirectMessage] = []
    hook = after_send.start_in_dm(started.append)
    row = outbox_row(kind="open_dm", seq=4, payload={"user": ALICE}, meta={TEAM_KEY: "T1"})
    assert hook(row, Delivered(ts="D1", channel="D1")) == ()
    assert started == [DirectMessage("T1", ALICE, "D1", f"dm:{row.conversation_id}:4")]


def test_the_home_hook_publishes_the_starters_home_with_the_new_link() -> None:
    """After the link of a start from the App Home: that person's Home, built then
    (by the application) with the link; nothing for other starts; no rows returned."""
    published: list[tuple[str, str, dict[str, str]]] = []
    hook = after_send.publish_home(lambda *home: published.append(home))
    meta = {HOME_FOR: {"team": "T1", "user": ALICE}}
    row = outbox_row(kind="permalink", payload={"channel": "D1", "message_ts": "2.2"}, meta=meta)
    assert hook(row, Delivered(permalink="https://x.slack.com/p2")) == ()
    assert hook(row, Delivered()) == ()  # Slack gave no link: listed all the same
    assert not hook(outbox_row(kind="permalink", payload={"channel": CHANNEL}), Delivered())
    assert published == [
        ("T1", ALICE, {row.conversation_id: "https://x.slack.com/p2"}),
        ("T1", ALICE, {}),
    ]


def test_every_kind_is_sent_by_a_method_of_the_sender() -> None:
    for kind in KINDS.values():
        assert callable(getattr(SlackSender, kind.send, None)), kind.name
