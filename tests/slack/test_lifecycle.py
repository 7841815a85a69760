"""A thread's life from start to end, as a person sees it (issue 19, part 4): the real
app over signed HTTP against the fake Web API. Each test failed before the change it
names."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.testing.slack_api import FakeSlack
from bot.testing.slack_requests import SlackClientSim, app_home_opened_body
from tests.slack import api_counts
from tests.slack.harness import ALICE, CHANNEL, SECRET, Slack, running, settings_for, text_of
from tests.slack.test_scenarios import _expire_everything_now, headline, start

ESTIMATE_PATH = ("Training", "10-100B params", "Active")  # P5en + EBS gp3


def say(slack: Slack, text: str, channel: str = CHANNEL) -> None:
    status, _ = slack.say(text, thread_ts=slack.root(channel)["ts"], channel=channel)
    assert status == 200
    slack.settle()


def estimate(slack: Slack) -> None:
    """*Estimate the cost* on the current result, its follow-ups typed."""
    assert slack.click(slack.current(), "Estimate the cost")[0] == 200
    slack.settle()
    for text in ("70B", "2T tokens"):
        say(slack, text)


def history_text(slack: Slack) -> str:
    status, body = slack.command("history")
    assert status == 200
    return text_of(json.loads(body))


def failed_calls(slack: Slack) -> list[str]:
    return [f"{c.method}: {c.error}" for c in slack.fake.calls() if not c.ok]


# -- the thread reads top-down ---------------------------------------------------------------


def test_a_typed_answer_is_acknowledged_under_the_reply_not_above_it(slack: Slack) -> None:
    """The question a reply answers only loses its buttons; what was taken from the
    reply is said in the message after it (before: "@Alice chose X", edited into the
    question above the reply)."""
    start(slack)
    say(slack, "we train")
    asked = slack.current()
    assert "How large is the model" in text_of(asked)
    say(slack, "70B")
    above = slack.fake.message(CHANNEL, asked["ts"])
    assert above is not None
    assert "10-100B" not in text_of(above) and "chose" not in text_of(above)
    assert "Answered below" in text_of(above)
    below = slack.current()
    assert float(below["ts"]) > float(asked["ts"])
    assert "Took from “70B”: 2. Model Size? → *10-100B params*" in text_of(below)


def test_a_reply_that_answers_several_questions_leaves_no_gap_in_the_numbering(
    slack: Slack,
) -> None:
    start(slack)
    say(slack, "we pre-train a 70B model")
    shown = "\n".join(text_of(m) for m in slack.thread())
    numbers = [n for n in range(1, 4) if f"{n}. " in shown]
    assert numbers == [1, 2, 3], shown  # before: 1, then 3


def test_by_buttons_the_question_is_edited_into_the_next_one(slack: Slack) -> None:
    """One message for the whole run, headed by the answers so far: it reads top-down
    because nothing was said under it."""
    start(slack)
    slack.answer("Inference")
    slack.answer("Standard 100-500ms")
    (message,) = slack.thread()
    text = text_of(message)
    assert "1. Training or Inference? → *Inference*" in text
    assert "2. Latency Requirements? → *Standard 100-500ms*" in text
    assert text.index("2. Latency") < text.index("*3. ")


# -- superseded results, and the pinned copy ---------------------------------------------------


def test_change_an_answer_marks_the_old_result_and_estimate_and_the_pin_follows(
    slack: Slack,
) -> None:
    start(slack)
    for label in ESTIMATE_PATH:
        slack.answer(label)
    estimate(slack)
    result = slack.current()
    (table,) = [m for m in slack.thread() if any(b["type"] == "table" for b in m.get("blocks", []))]
    assert "× p5en.48xlarge" in text_of(slack.root())
    assert slack.choose(result, "Change an answer", "3. Storage Strategy")[0] == 200
    slack.settle()
    collapsed = slack.fake.message(CHANNEL, result["ts"])
    assert collapsed is not None and "Superseded" in text_of(collapsed)
    assert not [b for b in collapsed["blocks"] if b["type"] in ("actions", "table")]
    marked = slack.fake.message(CHANNEL, table["ts"])
    assert marked is not None and "Superseded estimate" in text_of(marked)
    assert "its chart no longer apply" in text_of(marked)
    root = slack.root()
    assert "Being revised" in text_of(root)
    assert root["blocks"][0]["text"]["text"].startswith("Being revised")
    slack.answer("Archive")
    root = slack.root()
    assert headline("P5en", "S3Glacier") in text_of(root)
    assert slack.fake.pins(CHANNEL) == [root["ts"]]
    assert failed_calls(slack) == []  # no already_pinned: the pin was kept, not re-added
    assert len(slack.fake.calls("pins.add")) == 1


# -- cancelled and expired results -------------------------------------------------------------


def test_a_cancelled_result_leaves_history_and_home(slack: Slack) -> None:
    start(slack)
    for label in ESTIMATE_PATH:
        slack.answer(label)
    name = headline("P5en", "EBS").removeprefix("Recommendation: ")
    assert name in history_text(slack)
    slack.answer("Start over")
    slack.answer("Cancel")
    assert name not in history_text(slack)
    assert name not in text_of(slack.open_home())
    assert slack.fake.pins(CHANNEL) == []


def test_an_expired_result_no_longer_promises_the_estimate(fake: FakeSlack, tmp_path) -> None:
    with running(settings_for(fake, tmp_path / "data"), fake) as slack:
        start(slack)
        for label in ESTIMATE_PATH:
            slack.answer(label)
        assert "an estimate, on request" in text_of(slack.root())
        runtime = slack.apps[0].runtime
        _expire_everything_now(runtime.store)
        assert runtime.moves.expire_idle() == 1
        slack.settle()
        root = text_of(slack.root())
        assert "estimate are in the thread" not in root and "on request" not in root
        assert "This plan expired" in root
        assert slack.root()["ts"] in fake.pins(CHANNEL)  # the result still stands


# -- a second start --------------------------------------------------------------------------


def test_start_new_ends_the_open_plan_once_however_often_clicked(slack: Slack) -> None:
    old = start(slack)
    slack.answer("Training")
    asked = json.loads(slack.command()[1])
    ephemeral = {"ts": "1.000000", "blocks": asked["blocks"]}
    for _ in range(2):
        assert slack.click(ephemeral, "Start new")[0] == 200
    slack.settle()
    roots = [m for m in slack.fake.messages(CHANNEL) if not m.get("thread_ts")]
    assert len(roots) == 2 and roots[0]["ts"] == old["ts"]
    assert "Replaced by" in text_of(slack.fake.message(CHANNEL, old["ts"]) or {})
    assert "training or inference" in text_of(slack.current())


# -- Home ------------------------------------------------------------------------------------


def test_of_two_home_opens_the_newest_view_wins(
    fake: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first open is held after it built its view and before it queued it; a plan
    starts and a second open comes. The last view published must be the newest: the
    second builds only once the first has queued (one build-and-queue at a time), so
    its view, with the plan, goes out last. Without that, the first open's older view,
    queued after the second's, would be published last."""
    with running(settings_for(fake, tmp_path / "data"), fake) as slack:
        runtime = slack.apps[0].runtime
        store = runtime.store
        real = store.enqueue
        held, go, waiting = threading.Event(), threading.Event(), threading.Event()

        def enqueue(queue, messages, **kw):  # type: ignore[no-untyped-def]
            if messages and messages[0].kind == "publish" and not held.is_set():
                held.set()
                assert go.wait(10)
            return real(queue, messages, **kw)

        class Announced:
            """People's lock, saying when a second build-and-queue waits on it."""

            def __init__(self) -> None:
                self.lock = threading.Lock()

            def __enter__(self) -> None:
                if held.is_set():
                    waiting.set()
                self.lock.acquire()

            def __exit__(self, *exc: object) -> None:
                self.lock.release()

        monkeypatch.setattr(store, "enqueue", enqueue)
        monkeypatch.setattr(runtime.people, "_publishing", Announced())
        clients = [SlackClientSim(), SlackClientSim()]
        opens = [
            threading.Thread(
                target=lambda c=c, e=e: c.post(
                    slack.apps[0].url,
                    app_home_opened_body(user_id=ALICE, channel_id="DHOME", event_id=e),
                    secret=SECRET,
                )
            )
            for c, e in zip(clients, ("EvFirst", "EvSecond"), strict=True)
        ]
        opens[0].start()
        assert held.wait(10)
        start(slack)  # meanwhile a plan opens
        opens[1].start()
        assert waiting.wait(10)  # the second open is at the lock the first holds
        go.set()
        for opened, client in zip(opens, clients, strict=True):
            opened.join(10)  # the listener runs before the response: its view is queued
            assert not opened.is_alive()
            client.close()
        slack.settle()
        views = [text_of(call.params["view"]) for call in fake.calls("views.publish")]
        assert len(views) == 2
        assert "Waiting on" not in views[0] and "Waiting on" in views[1]
        assert "Waiting on" in text_of(fake.home_view(ALICE) or {})


def test_a_refused_conversations_open_is_told_on_home(slack: Slack) -> None:
    slack.open_home()
    slack.fake.fail_next("conversations.open", error="missing_scope")
    assert slack.home_click("New plan")[0] == 200
    slack.settle()
    view = text_of(slack.fake.home_view(ALICE) or {})
    assert "couldn't open a direct message" in view and "im:write" in view


def test_a_refused_views_publish_is_logged_with_what_to_do(
    fake: FakeSlack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with running(settings_for(fake, tmp_path / "data"), fake) as slack:
        fake.fail_next("views.publish", error="not_enabled")
        body = app_home_opened_body(user_id=ALICE, channel_id="DHOME", event_id="EvOff")
        with caplog.at_level(logging.WARNING):
            assert slack.post(body)[0] == 200
            slack.settle()
    said = [r.getMessage() for r in caplog.records if "refused views.publish" in r.getMessage()]
    assert len(said) == 1 and "not_enabled" in said[0] and "App Home → Home Tab" in said[0]


# -- pings and pins ------------------------------------------------------------------------


def test_no_start_or_cancel_pings_the_person(slack: Slack) -> None:
    start(slack)
    slack.answer("Training")
    status, _ = slack.command("cancel")
    assert status == 200
    slack.settle()
    posts = [c.params for c in slack.fake.calls("chat.postMessage")]
    assert posts and not [p for p in posts if "<@" in json.dumps(p)]
    assert "Cancelled by" in text_of(slack.thread()[-1])  # said in place, by an edit


def test_typed_replies_to_the_result_and_back_ping_nobody(slack: Slack) -> None:
    """What a typed reply makes is posted under it: it names nobody (the result card
    says whose it is once edited, as the channel copy does)."""
    start(slack)
    for text in ("we train", "70B", "active", "back"):
        say(slack, text)
    assert "Went back to change an answer" in text_of(slack.current())
    posts = [c.params for c in slack.fake.calls("chat.postMessage")]
    assert len(posts) >= 5 and not [p for p in posts if "<@" in json.dumps(p)]
    assert f"For <@{ALICE}>" in text_of(slack.root())  # an edit: pings nobody


def test_a_newer_result_takes_the_older_ones_pin(slack: Slack) -> None:
    """At most one pinned result per person and channel; no pin call that does nothing."""
    first = start(slack)
    for label in ESTIMATE_PATH:
        slack.answer(label)
    second = start(slack)  # the first finished: nothing open, so no question asked
    for label in ("Training", "Trillion+ params", "Archive"):
        slack.answer(label)
    assert second["ts"] != first["ts"]
    assert slack.fake.pins(CHANNEL) == [second["ts"]]
    assert headline("P5en", "EBS") in text_of(slack.fake.message(CHANNEL, first["ts"]) or {})
    assert failed_calls(slack) == []


def test_start_over_and_cancel_with_nothing_pinned_makes_no_pin_calls(slack: Slack) -> None:
    start(slack)
    slack.answer("Training")
    slack.answer("Cancel")
    assert not slack.fake.calls("pins.remove") and not slack.fake.calls("pins.add")
    assert failed_calls(slack) == []


# -- history's time ----------------------------------------------------------------------------


def test_an_estimate_keeps_the_results_time_in_history(fake: FakeSlack, tmp_path: Path) -> None:
    with running(settings_for(fake, tmp_path / "data"), fake) as slack:
        start(slack)
        for label in ESTIMATE_PATH:
            slack.answer(label)
        store = slack.apps[0].runtime.store
        with store.engine.begin() as conn:  # the result was reached a while ago
            conn.execute(sa.text("UPDATE recommendations SET created_at = '2026-11-01 09:30:00'"))
        estimate(slack)
        assert "× p5en.48xlarge" in history_text(slack)  # the estimate is in the summary
        with store.engine.connect() as conn:
            when = conn.execute(sa.text("SELECT created_at FROM recommendations")).scalar()
        assert str(when).startswith("2026-11-01 09:30")


# -- what a run sends (README) ---------------------------------------------------------------


def test_the_api_calls_of_an_estimate(slack: Slack) -> None:
    """README's "What a run sends": an estimate after a result by buttons."""
    found = api_counts.estimate_run(slack)
    assert dict(found) == {
        "chat.postMessage": 3,  # two follow-up questions and the table
        "chat.update": 2,  # the result's and the channel copy's headlines
        "files.getUploadURLExternal": 1,  # the chart: three calls, one public post
        "upload": 1,
        "files.completeUploadExternal": 1,
    }
    assert api_counts.public_posts(found) == 4
