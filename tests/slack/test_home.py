"""The App Home tab, *New plan* and the "Plan an LLM workload" shortcut."""

from __future__ import annotations

import json

from bot.slack.home import SHORTCUT_CALLBACK
from tests.slack.harness import ALICE, BOB, CHANNEL, Slack, text_of
from tests.slack.test_history import finish
from tests.slack.test_scenarios import headline, start

DM = f"D{ALICE}"  # the fake's conversations.open answers D + the user id


def test_home_shows_open_conversations_and_recent_results(slack: Slack) -> None:
    done = finish(slack, channel="C0DONE")
    open_root = start(slack)
    slack.answer("Inference")
    view = slack.open_home()
    text = text_of(view)
    assert "Your open conversations" in text and "Your recent results" in text
    assert f"In <#{CHANNEL}>" in text and "Waiting on: *What response latency" in text
    link = slack.fake.permalink(CHANNEL, open_root["ts"])
    resume = [
        e
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["text"]["text"] == "Resume"
    ]
    assert [r["url"] for r in resume] == [link]
    assert f"*{headline('P6e', 'S3Glacier').removeprefix('Recommendation: ')}*" in text
    assert slack.fake.permalink("C0DONE", done["ts"]) in text
    assert "New plan" in json.dumps(view)


def test_the_messages_tab_and_a_retried_event_publish_nothing_more(slack: Slack) -> None:
    from bot.testing.slack_requests import app_home_opened_body

    body = app_home_opened_body(user_id=ALICE, channel_id=DM, tab="messages")
    assert slack.post(body)[0] == 200
    slack.settle()
    assert not slack.fake.calls("views.publish")
    slack.open_home(event_id="EvHOME1")
    body = app_home_opened_body(user_id=ALICE, channel_id=DM, event_id="EvHOME1")
    assert slack.post(body, retry_num=1, retry_reason="http_timeout")[0] == 200
    slack.settle()
    assert len(slack.fake.calls("views.publish")) == 1


def test_new_plan_from_home_starts_a_conversation_in_a_direct_message(slack: Slack) -> None:
    slack.open_home()
    status, _ = slack.home_click("New plan")
    assert status == 200
    slack.settle()
    assert [c.params["users"] for c in slack.fake.calls("conversations.open")] == [ALICE]
    root = slack.root(DM)
    assert "Let's plan your LLM workload" in text_of(root)
    assert "training or inference" in text_of(slack.current(DM))
    # Home is published again by itself, listing the new plan with a link to it.
    republished = slack.fake.home_view(ALICE)
    assert republished is not None and "Waiting on" in text_of(republished)
    assert slack.fake.permalink(DM, root["ts"]) in json.dumps(republished)
    slack.say("we pre-train a 70B model", thread_ts=None, channel=DM)
    slack.settle()
    slack.answer("Checkpoints", channel=DM)
    assert headline("P5en", "S3Std") in text_of(slack.thread(DM)[-1])
    view = slack.open_home()
    assert headline("P5en", "S3Std").removeprefix("Recommendation: ") in text_of(view)
    assert "in our direct messages" in text_of(view)


def test_after_a_dm_start_the_last_view_published_carries_the_threads_link(
    slack: Slack,
) -> None:
    """Views are built when queued; the link comes after the start, so the permalink's
    after-send hook publishes Home again: the last publish is that one, with the link."""
    slack.open_home()
    assert slack.home_click("New plan")[0] == 200
    slack.settle()
    link = slack.fake.permalink(DM, slack.root(DM)["ts"])
    views = [call.params["view"] for call in slack.fake.calls("views.publish")]
    views = [json.loads(v) if isinstance(v, str) else v for v in views]
    assert link not in json.dumps(views[0])  # the Home opened before the plan
    assert link in json.dumps(views[-1]) and "Waiting on" in text_of(views[-1])
    assert slack.fake.home_view(ALICE) == views[-1]


def test_a_dm_start_whose_link_slack_refuses_is_still_listed_on_home(slack: Slack) -> None:
    slack.open_home()
    slack.fake.fail_next("chat.getPermalink", error="message_not_found")
    assert slack.home_click("New plan")[0] == 200
    slack.settle()
    last = slack.fake.home_view(ALICE)
    assert last is not None and "Waiting on" in text_of(last)
    assert "fake.slack.com/archives" not in json.dumps(last)


def test_the_shortcut_starts_a_conversation_in_a_direct_message_once(slack: Slack) -> None:
    status, body = slack.shortcut(SHORTCUT_CALLBACK, trigger_id="111.222.abc")
    assert status == 200 and body in (b"", b"{}")
    slack.shortcut(SHORTCUT_CALLBACK, trigger_id="111.222.abc")  # a replay: nothing more
    slack.settle()
    assert len(slack.fake.calls("conversations.open")) == 1
    greetings = [m for m in slack.fake.messages(DM) if "Let's plan" in text_of(m)]
    assert len(greetings) == 1
    assert "training or inference" in text_of(slack.current(DM))


def test_cancel_from_home_ends_the_conversation_and_shows_home_again(slack: Slack) -> None:
    start(slack)
    slack.open_home()
    publishes = len(slack.fake.calls("views.publish"))
    status, _ = slack.home_click("Cancel")
    assert status == 200
    slack.settle()
    assert "Cancelled by" in text_of(slack.root())
    assert len(slack.fake.calls("views.publish")) == publishes + 1
    assert "None open." in text_of(slack.fake.home_view(ALICE))


def test_nobody_cancels_someone_elses_conversation_from_home(slack: Slack) -> None:
    start(slack)
    view = slack.open_home()
    cancel = next(
        e
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["text"]["text"] == "Cancel"
    )
    from bot.testing.slack_requests import home_actions_body

    body = home_actions_body(
        action_id=cancel["action_id"], value=cancel["value"], block_id="b", user_id=BOB
    )
    assert slack.post(body)[0] == 200
    slack.settle()
    assert "training or inference" in text_of(slack.current())
