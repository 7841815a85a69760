"""SlackSender on its own, against the fake: an unconfirmed post is looked up first."""

from __future__ import annotations

import inspect
import json

import pytest

from bot.delivery import PermanentFailure
from bot.slack.failure_notes import FailureNotes
from bot.slack.keepalive import KeepAliveWebClient
from bot.slack.sender import SlackSender, _marker
from bot.store.models import OutboxRow
from bot.testing.slack_api import FakeSlack
from tests.store.helpers import outbox_row


def row(seq: int, error: str | None, kind: str = "post", *, unconfirmed: bool = False) -> OutboxRow:
    return outbox_row(id=seq, seq=seq, error=error, kind=kind, unconfirmed=unconfirmed)


notes = FailureNotes()


def sender_for(fake: FakeSlack) -> SlackSender:
    client = KeepAliveWebClient(token="xoxb-test", base_url=fake.base_url, timeout=2)
    client.proxy = None
    return SlackSender(client)


def test_an_unconfirmed_post_that_slack_has_is_not_posted_again(fake: FakeSlack) -> None:
    sender = sender_for(fake)
    root = fake.client().chat_postMessage(channel="C1", text="root")["ts"]
    earlier = row(2, "a claim lapsed", unconfirmed=True)
    posted = fake.client().chat_postMessage(
        channel="C1", thread_ts=root, text="q", metadata=_marker(earlier)
    )["ts"]
    assert sender.send(earlier, {"channel": "C1", "thread_ts": root, "text": "q"}) == posted
    assert len(fake.calls("chat.postMessage")) == 2  # nothing new
    # The root itself, looked up in the channel:
    first = row(1, "TimeoutError: timed out", unconfirmed=True)
    top = fake.client().chat_postMessage(channel="C1", text="top", metadata=_marker(first))["ts"]
    assert sender.send(first, {"channel": "C1", "text": "top"}) == top


def test_an_unconfirmed_post_that_slack_lacks_is_posted_with_its_marker(fake: FakeSlack) -> None:
    sender = sender_for(fake)
    root = fake.client().chat_postMessage(channel="C1", text="root")["ts"]
    other = row(7, None)  # another row's message in the same thread
    fake.client().chat_postMessage(channel="C1", thread_ts=root, text="x", metadata=_marker(other))
    missing = row(8, "http_500", unconfirmed=True)
    ts = sender.send(missing, {"channel": "C1", "thread_ts": root, "text": "q"})
    sent = fake.calls("chat.postMessage")[-1]
    assert sent.response["ts"] == ts
    assert sent.params["metadata"] == _marker(missing)
    # A confirmed row is never looked up.
    calls = len(fake.calls("conversations.replies"))
    sender.send(row(9, None), {"channel": "C1", "thread_ts": root, "text": "r"})
    assert len(fake.calls("conversations.replies")) == calls


CHART = {
    "channel": "C1",
    "bars": [["p5en.48xlarge (recommended)", 4.9e6], ["p4d.24xlarge", None]],
    "unit": "per run",
    "title": "Estimated cost per run",
    "alt_txt": "Bar chart of the estimated cost per run: p5en.48xlarge $4.90M.",
}


def test_a_chart_that_cannot_be_drawn_is_given_up_with_a_note(fake: FakeSlack) -> None:
    import pytest

    from bot.delivery import PermanentFailure

    sender = sender_for(fake)
    root = fake.client().chat_postMessage(channel="C1", text="root")["ts"]
    broken = {**CHART, "thread_ts": root, "bars": [["x", "not a number"]]}
    chart = outbox_row(id=3, seq=3, kind="chart", payload=broken)
    with pytest.raises(PermanentFailure) as caught:
        sender.send(chart, broken)
    assert not fake.calls("files.getUploadURLExternal")  # nothing reached Slack
    (note,) = notes(chart, caught.value)
    assert "couldn't add the estimate's chart: it could not be drawn" in note.payload["text"]


def test_a_chart_without_files_write_says_how_to_grant_it(fake: FakeSlack) -> None:
    import pytest

    from bot.delivery import PermanentFailure

    sender = sender_for(fake)
    root = fake.client().chat_postMessage(channel="C1", text="root")["ts"]
    fake.fail_next("files.getUploadURLExternal", error="missing_scope")
    payload = {**CHART, "thread_ts": root}
    chart = outbox_row(id=4, seq=4, kind="chart", payload=payload)
    with pytest.raises(PermanentFailure) as caught:
        sender.send(chart, payload)
    (note,) = notes(chart, caught.value)
    assert "files:write" in note.payload["text"] and "reinstall" in note.payload["text"]


def test_a_pin_refused_in_a_direct_message_says_so_without_channel_words(
    fake: FakeSlack,
) -> None:
    from bot.delivery import PermanentFailure

    pin = outbox_row(kind="pin", payload={"channel": "D0ALICE", "timestamp": "1.1"})
    fake.fail_next("pins.add", error="not_in_channel")
    sender = sender_for(fake)
    with pytest.raises(PermanentFailure) as caught:  # classified as Slack's answer is
        sender.send(pin, pin.payload)
    failure = caught.value
    assert failure.code == "not_in_channel" and not failure.ends_conversation
    [note] = notes(pin, failure)
    text = note.payload["text"]
    assert "direct message" in text and "member of this channel" not in text


def test_a_permalink_slack_will_not_give_is_no_failure(fake: FakeSlack) -> None:
    sender = sender_for(fake)
    ts = fake.client().chat_postMessage(channel="C1", text="root")["ts"]
    link = sender.send(row(1, None, kind="permalink"), {"channel": "C1", "message_ts": ts})
    assert link is not None and link.permalink == fake.permalink("C1", ts)
    missing = {"channel": "C1", "message_ts": "9.9"}
    assert sender.send(row(2, None, kind="permalink"), missing) is None


def test_a_publish_sends_the_view_its_row_carries_and_builds_nothing(fake: FakeSlack) -> None:
    """Delivery only sends: the sender has no view builder and no store to read; the
    view the application built when it queued the row is what Slack gets."""
    assert "home_view" not in inspect.signature(SlackSender).parameters
    sender = sender_for(fake)  # a Web API client and nothing else
    shown = {"type": "section", "text": {"type": "mrkdwn", "text": "v7"}}
    view = {"type": "home", "blocks": [shown]}
    publish = outbox_row(id=3, seq=3, kind="publish", payload={"user_id": "U0ALICE", "view": view})
    sender.send(publish, dict(publish.payload))
    (call,) = fake.calls("views.publish")
    sent = call.params["view"]
    assert (json.loads(sent) if isinstance(sent, str) else sent) == view
    assert fake.home_view("U0ALICE") == view


def test_a_publish_row_without_a_view_is_refused_without_a_call(fake: FakeSlack) -> None:
    sender = sender_for(fake)
    bare = outbox_row(id=4, seq=4, kind="publish", payload={"user_id": "U0ALICE"})
    with pytest.raises(PermanentFailure) as refused:
        sender.send(bare, dict(bare.payload))
    assert refused.value.code == "no_view" and not refused.value.ends_conversation
    assert fake.calls("views.publish") == []
