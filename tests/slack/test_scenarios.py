"""Scenarios: the real Bolt app over HTTP, signed requests, the fake Web API."""

from __future__ import annotations

import json

import pytest

from bot.flow.loader import load_flow
from tests.conversation.test_paths import EXPECTED
from tests.slack.harness import ALICE, BOB, CHANNEL, Slack, find_button, text_of

FLOW = load_flow()
TITLES = {
    "P6e": "P6e-GB200 UltraServers",
    "Trn2Ultra": "Trn2 UltraServers",
    "P5en": "P5en Instances",
    "P5e": "P5e Instances",
    "P4d": "P4d Instances",
    "P6B200": "P6-B200",
    "P5eInf": "P5e Inference",
    "Inf2": "Inf2 Instances",
    "Distill": "Model Distillation",
    "C7g": "C7g Graviton",
    "EBS": "EBS gp3",
    "S3Glacier": "S3 Glacier",
    "S3Std": "S3 Standard",
    "ElastiCache": "ElastiCache Redis",
    "BedrockCache": "Bedrock Caching",
    "Direct": "Direct Serving",
}
#: What a result's headline names: the offering behind each node.
OFFERINGS = {node: FLOW.details(node).offering for node in TITLES}  # type: ignore[union-attr]


def headline(instance: str, follow_up: str) -> str:
    return f"Recommendation: {OFFERINGS[instance]} + {OFFERINGS[follow_up]}"


def start(slack: Slack, **kw: object) -> dict:
    status, body = slack.command(**kw)
    assert status == 200, body
    assert body in (b"", b"{}") or not json.loads(body).get("text"), body
    slack.settle()
    return slack.root(kw.get("channel", CHANNEL))  # type: ignore[arg-type]


def assert_finished(slack: Slack, instance: str, follow_up: str, channel: str = CHANNEL) -> None:
    root = slack.root(channel)
    title = headline(instance, follow_up)
    assert title in text_of(root), text_of(root)
    result = slack.thread(channel)[-1]
    assert title in text_of(result)
    assert f"Flowchart: *{TITLES[instance]}*" in text_of(result)  # the flowchart's words
    # The channel's copy is short: the headline, who and what, a link to the thread.
    assert len(root["blocks"]) == 3 and "Flowchart:" not in text_of(root)
    link = slack.fake.permalink(channel, root["ts"])
    assert f"<{link}|Details and sources" in text_of(root)
    assert [b for b in result["blocks"] if b["type"] == "actions"], "result has no buttons"
    assert root["ts"] in slack.fake.pins(channel)


def test_command_opens_a_thread_with_the_first_question(slack: Slack) -> None:
    root = start(slack)
    assert "Planning an LLM workload" in text_of(root)
    question = slack.current()
    assert question["thread_ts"] == root["ts"]
    assert "Is this workload training or inference?" in text_of(question)
    buttons = [
        e["text"]["text"]
        for b in question["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert buttons == ["Training", "Inference", "Cancel"]
    assert "type the answer in this thread" in text_of(question)
    assert "`back`, `restart`, `cancel`, `help`" in text_of(question)


def test_every_path_by_buttons(slack: Slack) -> None:
    for index, (answers, (instance, follow_up)) in enumerate(sorted(EXPECTED.items())):
        channel = f"C{index:04d}X"
        start(slack, channel=channel)
        for label in answers:
            slack.answer(label, channel=channel)
        assert_finished(slack, instance, follow_up, channel)
        # By buttons the thread is one message: each question edited into the next,
        # the last into the result.
        assert len(slack.thread(channel)) == 1


FIVE_QUESTIONS = ("Inference", "Standard 100-500ms", "Cost", "Yes", "KV Cache")


def test_the_api_calls_of_a_five_question_run_by_buttons(slack: Slack) -> None:
    """What a run costs Slack (README: "What a run sends"; `tests/slack/api_counts.py`).
    Each click edits the question into the next one: 2 posts where there were 6."""
    start(slack)
    for label in FIVE_QUESTIONS:
        slack.answer(label)
    assert_finished(slack, "Distill", "ElastiCache")
    counts = slack.fake.stats()
    counts.pop("auth.test", None)
    assert counts == {
        "chat.postMessage": 2,  # the root and the first question
        "chat.update": 6,  # four questions into the next, the last into the result, the root
        "pins.add": 1,
        "chat.getPermalink": 1,  # the thread's link, for history and the App Home
    }
    assert not [c for c in slack.fake.calls() if not c.ok]


def test_a_path_by_typed_answers(slack: Slack) -> None:
    root = start(slack)
    for text in ("we train", "70B"):
        status, _ = slack.say(text, thread_ts=root["ts"])
        assert status == 200
        slack.settle()
    assert "Took from “70B”: 2. Model Size? → *10-100B params*" in text_of(slack.current())
    slack.say("checkpoints", thread_ts=root["ts"])
    slack.settle()
    assert_finished(slack, "P5en", "S3Std")


def test_one_message_answers_several_questions(slack: Slack) -> None:
    """ "we pre-train a 70B model" answers training and the size: the storage question
    comes next, headed by everything the message answered."""
    root = start(slack)
    slack.say("we pre-train a 70B model", thread_ts=root["ts"])
    slack.settle()
    current = text_of(slack.current())
    assert "Which storage need" in current
    # What the reply gave, under it, every number shown: 1, 2, then question 3.
    assert "1. Training or Inference? → *Training*" in current
    assert "2. Model Size? → *10-100B params*" in current
    assert "*3. " in current
    slack.answer("Checkpoints")
    assert_finished(slack, "P5en", "S3Std")


def test_typed_value_outside_the_flowchart_goes_to_the_nearest_branch(slack: Slack) -> None:
    root = start(slack)
    slack.say("inference", thread_ts=root["ts"])
    slack.settle()
    slack.say("about 2 s is fine", thread_ts=root["ts"])
    slack.settle()
    answered = [m for m in slack.thread() if "Standard 100-500ms" in text_of(m)]
    assert answered and "nearest branch" in text_of(answered[0])


def test_unparseable_reply_gets_the_options_privately(slack: Slack) -> None:
    root = start(slack)
    slack.say("banana", thread_ts=root["ts"])
    slack.settle()
    reply = slack.fake.ephemerals(CHANNEL, ALICE)[-1]
    assert "I could not match that" in text_of(reply)
    assert "1. Training" in text_of(reply) and "2. Inference" in text_of(reply)
    assert reply["thread_ts"] == root["ts"]
    assert len(slack.thread()) == 1  # the thread holds the question alone


def test_mention_injection_is_escaped(slack: Slack) -> None:
    root = start(slack)
    slack.say("<!channel> <@U999> & friends", thread_ts=root["ts"])
    slack.settle()
    slack.say("train <!here>", thread_ts=root["ts"])
    slack.settle()
    for call in slack.fake.calls():
        raw = json.dumps(call.params)
        assert "<!channel>" not in raw and "<!here>" not in raw and "<@U999>" not in raw
    assert "&lt;!channel&gt;" in text_of(slack.fake.ephemerals(CHANNEL, ALICE)[0])
    assert "&lt;!here&gt;" in "\n".join(text_of(m) for m in slack.thread())


def test_back_and_restart_by_buttons_and_words(slack: Slack) -> None:
    root = start(slack)
    for label in ("Inference", "Ultra-low <100ms", "High", "KV Cache"):
        slack.answer(label)
    assert_finished(slack, "P6B200", "ElastiCache")
    status, _ = slack.choose(slack.current(), "Change an answer", "4. Caching?")
    assert status == 200
    slack.settle()
    assert "Which caching would help" in text_of(slack.current())
    slack.answer("No Cache")
    assert_finished(slack, "P6B200", "Direct")
    slack.say("restart", thread_ts=root["ts"])
    slack.settle()
    assert "training or inference" in text_of(slack.current())
    slack.say("inference", thread_ts=root["ts"])
    slack.settle()
    slack.say("back", thread_ts=root["ts"])
    slack.settle()
    assert "training or inference" in text_of(slack.current())
    history = slack.command("history")[1].decode()
    # One history row per conversation: its latest result.
    assert headline("P6B200", "Direct").removeprefix("Recommendation: ") in history
    assert "ElastiCache" not in history


def test_help_and_cancel(slack: Slack) -> None:
    status, body = slack.command("help")
    assert status == 200 and "How this works" in body.decode()
    status, body = slack.command("cancel")
    assert "no open conversation" in body.decode()
    root = start(slack)
    slack.say("help", thread_ts=root["ts"])
    slack.settle()
    assert "How this works" in text_of(slack.fake.ephemerals(CHANNEL, ALICE)[-1])
    status, body = slack.command("cancel")
    assert "Cancelled" in body.decode()
    slack.settle()
    assert "Cancelled by" in text_of(slack.thread()[-1])
    with pytest.raises(AssertionError):
        slack.current()


def test_bad_signature_is_refused_and_nothing_is_sent(slack: Slack) -> None:
    before = len(slack.fake.calls())
    status, body = slack.command(secret="wrong-secret")
    assert status == 401
    assert json.loads(body) == {"error": "invalid request"}
    slack.settle()
    assert len(slack.fake.calls()) == before


def test_stale_timestamp_is_refused(slack: Slack) -> None:
    import time

    before = len(slack.fake.calls())
    status, _ = slack.command(timestamp=int(time.time()) - 600)
    assert status == 401
    assert len(slack.fake.calls()) == before


def test_event_retry_and_repeated_event_id_are_seen_once(slack: Slack) -> None:
    root = start(slack)
    slack.say("training", thread_ts=root["ts"], event_id="Ev1")
    slack.say(
        "training", thread_ts=root["ts"], event_id="Ev1", retry_num=1, retry_reason="http_timeout"
    )
    slack.settle()
    questions = [m for m in slack.thread() if "How large is the model" in text_of(m)]
    assert len(questions) == 1
    assert len([m for m in slack.thread() if "Took from" in text_of(m)]) == 1


def test_double_click_changes_nothing(slack: Slack) -> None:
    start(slack)
    question = slack.current()
    assert slack.click(question, "Training")[0] == 200
    assert slack.click(question, "Training")[0] == 200
    slack.settle()
    assert len(slack.thread()) == 1  # the question, edited once into the next
    assert "How large is the model" in text_of(slack.current())
    notes = slack.fake.ephemerals(CHANNEL, ALICE)
    assert any("already answered" in text_of(n) for n in notes)


def test_another_users_click_gets_a_note(slack: Slack) -> None:
    start(slack)
    question = slack.current()
    assert slack.click(question, "Training", user=BOB)[0] == 200
    slack.settle()
    assert not slack.fake.calls("chat.update")  # the question stays as it was
    assert "training or inference" in text_of(slack.current())
    notes = slack.fake.ephemerals(CHANNEL, BOB)
    assert any(f"Only <@{ALICE}> can answer" in text_of(n) for n in notes)


def test_others_typing_in_the_thread_get_a_private_note(slack: Slack) -> None:
    root = start(slack)
    slack.say("training", thread_ts=root["ts"], user=BOB)
    slack.settle()
    assert len(slack.thread()) == 1  # not answered, nothing public
    notes = slack.fake.ephemerals(CHANNEL, BOB)
    assert len(notes) == 1 and f"Only <@{ALICE}> can answer" in text_of(notes[0])


def test_questions_say_where_they_stand_and_carry_back_and_cancel(slack: Slack) -> None:
    start(slack)
    first = slack.current()
    assert "Question 1 of up to 5" in text_of(first)
    labels = [
        e["text"]["text"] for b in first["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert "Cancel" in labels and "Back" not in labels  # nothing to go back to yet
    slack.answer("Training")
    assert "Question 2 of up to 4" in text_of(slack.current())
    slack.answer("Back")
    assert "training or inference" in text_of(slack.current())
    slack.answer("Cancel")
    assert "Cancelled by" in text_of(slack.thread()[-1])
    with pytest.raises(AssertionError):
        slack.current()


def test_a_reply_after_cancelling_gets_a_private_note(slack: Slack) -> None:
    root = start(slack)
    slack.answer("Cancel")
    slack.say("training", thread_ts=root["ts"])
    slack.settle()
    notes = slack.fake.ephemerals(CHANNEL, ALICE)
    assert "was cancelled" in text_of(notes[-1]) and "/llm-cost" in text_of(notes[-1])


def test_stale_button_on_a_finished_conversation(slack: Slack) -> None:
    start(slack)
    first = slack.current()
    for label in ("Training", "Trillion+ params", "Archive"):
        slack.answer(label)
    before = len(slack.thread())
    slack.click(first, "Inference")
    slack.settle()
    assert len(slack.thread()) == before
    assert any("already answered" in text_of(n) for n in slack.fake.ephemerals(CHANNEL, ALICE))


def test_bot_messages_and_unrelated_chatter_send_nothing(slack: Slack) -> None:
    root = start(slack)
    before = len(slack.fake.calls())
    slack.say("training", thread_ts=root["ts"], bot_id="B0BOT")
    slack.say("training", thread_ts=root["ts"], bot_id="B0OTHER", subtype="bot_message")
    slack.say("training", thread_ts=None)
    slack.say("training", thread_ts="1699999999.000100")
    slack.say("training", thread_ts=root["ts"], channel="C0OTHER")
    slack.settle()
    assert len(slack.fake.calls()) == before


def test_rate_limited_then_delivered(slack: Slack) -> None:
    slack.fake.fail_next("chat.postMessage", status=429, retry_after=1)
    start(slack)
    slack.settle()
    assert "training or inference" in text_of(slack.current())
    statuses = [c.status for c in slack.fake.calls("chat.postMessage")]
    assert statuses[0] == 429 and 200 in statuses


def test_server_error_then_delivered(slack: Slack) -> None:
    slack.fake.fail_next("chat.postMessage", status=500, times=2)
    start(slack)
    slack.settle()
    assert "training or inference" in text_of(slack.current())


def test_not_in_channel_tells_the_person_how_to_invite(slack: Slack) -> None:
    slack.fake.fail_next("chat.postMessage", error="not_in_channel")
    slack.command()
    slack.settle()
    replies = slack.fake.calls("response_url")
    assert replies, "no response_url reply"
    text = replies[-1].params.get("text", "")
    assert "/invite" in text and "/llm-cost" in text
    assert replies[-1].params.get("response_type") == "ephemeral"
    assert not slack.fake.messages(CHANNEL)


def test_a_direct_message_the_app_cannot_post_in_gets_no_invite_advice(slack: Slack) -> None:
    """/llm-cost in a DM between two people: there is nobody to /invite; the person is
    pointed at the app's own DM (Home's New plan, the shortcut) or a channel."""
    slack.fake.fail_next("chat.postMessage", error="channel_not_found")
    slack.command(channel="D0TWOPEOPLE")
    slack.settle()
    text = slack.fake.calls("response_url")[-1].params.get("text", "")
    assert "direct message" in text and "/invite" not in text
    assert "New plan" in text and "Plan an LLM workload" in text and "/llm-cost" in text


def test_pin_failure_keeps_the_result_and_says_why(slack: Slack) -> None:
    slack.fake.fail_next("pins.add", error="too_many_pins")
    start(slack)
    for label in ("Training", "100B+ params", "Active"):
        slack.answer(label)
    root = slack.root()
    assert headline("Trn2Ultra", "EBS") in text_of(root)
    last = slack.thread()[-1]
    assert "couldn't pin" in text_of(last) and "limit of pinned items" in text_of(last)


def test_restart_of_the_app_mid_conversation(fake, tmp_path) -> None:
    from tests.slack.harness import running, settings_for

    settings = settings_for(fake, tmp_path / "data")
    with running(settings, fake) as slack:
        root = start(slack)
        slack.answer("Inference")
    with running(settings, fake) as slack:
        slack.say("under 80 ms", thread_ts=root["ts"])
        slack.settle()
        slack.answer("Medium")
        slack.answer("Prompt Cache")
        assert_finished(slack, "P5eInf", "BedrockCache")


def test_anyone_may_answer_when_configured(fake, tmp_path) -> None:
    from tests.slack.harness import running, settings_for

    with running(settings_for(fake, tmp_path / "d", answer_policy="anyone"), fake) as slack:
        root = start(slack)
        slack.answer("Training", user=BOB)
        slack.say("7B", thread_ts=root["ts"], user=BOB)
        slack.settle()
        assert "For this small model" in text_of(slack.current())


@pytest.mark.postgres
def test_two_app_processes_on_postgresql(fake, tmp_path, pg_url) -> None:
    from tests.slack.harness import running, settings_for

    with running(settings_for(fake, tmp_path / "d", database_url=pg_url), fake, copies=2) as slack:
        for index, (answers, (instance, follow_up)) in enumerate(sorted(EXPECTED.items())[:6]):
            channel = f"CPG{index}"
            start(slack, channel=channel)
            for label in answers:
                slack.answer(label, channel=channel)
            assert_finished(slack, instance, follow_up, channel)


def test_health_check_and_unknown_paths(slack: Slack) -> None:
    import urllib.error
    import urllib.request

    base = slack.apps[0].url.rsplit("/slack/events", 1)[0]
    with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
        assert response.status == 200
        assert json.loads(response.read()) == {"ok": True, "database": "ok", "slack": "ok"}
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(base + "/nope", timeout=5)
    assert caught.value.code == 404


def test_a_conversation_in_a_direct_message(slack: Slack) -> None:
    """In a direct message the app speaks to the person, asks in the main stream (no
    thread), takes replies typed there, and pins nothing."""
    dm = "D0ALICE"
    root = start(slack, channel=dm)
    assert "Let's plan your LLM workload" in text_of(root)
    assert slack.current(dm).get("thread_ts") is None  # the question is in the main stream
    slack.say("serving a chatbot", thread_ts=None, channel=dm)
    slack.settle()
    assert "What response latency" in text_of(slack.current(dm))
    for label in ("Standard 100-500ms", "Throughput", "Prompt Cache"):
        slack.answer(label, channel=dm)
    result = slack.thread(dm)[-1]
    assert headline("Inf2", "BedrockCache") in text_of(result)
    assert result.get("thread_ts") is None
    sent = [c.params for c in slack.fake.calls() if c.method.startswith("chat.")]
    assert not [p for p in sent if "<@" in json.dumps(p)]  # second person: no mentions
    assert not slack.fake.calls("pins.add")


def test_garbage_requests_get_no_5xx_and_change_nothing(slack: Slack) -> None:
    from urllib.parse import urlencode

    before = len(slack.fake.calls())
    bodies = [
        b"payload=" + b"{not json",
        urlencode(
            {
                "payload": json.dumps(
                    {
                        "type": "block_actions",
                        "actions": [{"action_id": "llm_cost.answer.1", "value": "nope"}],
                    }
                )
            }
        ).encode(),
        urlencode(
            {
                "payload": json.dumps(
                    {
                        "type": "block_actions",
                        "team": {"id": "T0001"},
                        "channel": {"id": CHANNEL},
                        "user": {"id": ALICE},
                        "actions": [{"action_id": "llm_cost.answer.1", "value": "0123abcd:0:1"}],
                    }
                )
            }
        ).encode(),
        json.dumps(
            {"type": "event_callback", "event": {"type": "message", "thread_ts": 5}}
        ).encode(),
        b"",
    ]
    for body in bodies:
        status, _ = slack.post(body)
        assert status < 500, body
    slack.settle()
    assert len(slack.fake.calls()) == before


def _expire_everything_now(store) -> None:
    import sqlalchemy as sa

    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE conversations SET expires_at = '2000-01-01 00:00:00'"))


def test_expiry_tidies_the_thread_up(fake, tmp_path) -> None:
    """An idle conversation expires on the maintenance schedule: its question loses its
    buttons, the channel message says it expired, and a late reply is told privately."""
    from tests.slack.harness import running, settings_for

    with running(settings_for(fake, tmp_path / "data"), fake) as slack:
        root = start(slack)
        slack.answer("Training")
        runtime = slack.apps[0].runtime
        _expire_everything_now(runtime.store)
        assert runtime.moves.expire_idle() == 1
        slack.settle()
        with pytest.raises(AssertionError):
            slack.current()  # no buttons left anywhere in the thread
        assert "expired" in text_of(slack.root())
        slack.say("10B", thread_ts=root["ts"])
        slack.settle()
        notes = slack.fake.ephemerals(CHANNEL, ALICE)
        assert "expired" in text_of(notes[-1]) and "/llm-cost" in text_of(notes[-1])


def test_a_finished_result_loses_its_buttons_when_it_expires(fake, tmp_path) -> None:
    from tests.slack.harness import running, settings_for

    with running(settings_for(fake, tmp_path / "data"), fake) as slack:
        start(slack)
        for label in ("Training", "100B+ params", "Active"):
            slack.answer(label)
        runtime = slack.apps[0].runtime
        _expire_everything_now(runtime.store)
        assert runtime.moves.expire_idle() == 1
        slack.settle()
        result = slack.thread()[-1]
        assert not [b for b in result["blocks"] if b["type"] == "actions"]
        assert "expired" in text_of(result)
        assert slack.root()["ts"] in fake.pins(CHANNEL)  # the result still stands


def test_cancelling_after_start_over_takes_the_old_result_down(slack: Slack) -> None:
    start(slack)
    for label in ("Training", "100B+ params", "Active"):
        slack.answer(label)
    root = slack.root()
    assert root["ts"] in slack.fake.pins(CHANNEL)
    slack.answer("Start over")
    slack.answer("Cancel")
    assert root["ts"] not in slack.fake.pins(CHANNEL)
    assert "Cancelled by" in text_of(slack.root())


def test_change_an_answer_jumps_straight_to_that_question(slack: Slack) -> None:
    """The result's menu lists every answered question; choosing the first one asks it
    again at once: one edit and one new question, not a step back per answer."""
    start(slack)
    for label in ("Inference", "Ultra-low <100ms", "High", "KV Cache"):
        slack.answer(label)
    result = slack.current()
    posts_before = len(slack.fake.calls("chat.postMessage"))
    status, _ = slack.choose(result, "Change an answer", "1. Training or Inference?")
    assert status == 200
    slack.settle()
    assert "training or inference" in text_of(slack.current())
    assert len(slack.fake.calls("chat.postMessage")) == posts_before + 1
    assert "went back" in text_of(slack.fake.message(CHANNEL, result["ts"]))


def test_a_second_command_asks_resume_or_start_new(slack: Slack) -> None:
    """`/llm-cost` with a plan open in the channel throws nothing away: only the person
    sees "Resume or start new?", with a link to the open thread."""
    old = start(slack)
    slack.answer("Training")
    calls = len(slack.fake.calls())
    status, body = slack.command()
    assert status == 200
    asked = json.loads(body)
    assert asked["response_type"] == "ephemeral" and "Resume or start new?" in asked["text"]
    slack.settle()
    assert len(slack.fake.calls()) == calls  # nothing posted, nothing ended
    assert slack.root()["ts"] == old["ts"]
    assert "How large is the model" in text_of(slack.current())
    resume = find_button({"blocks": asked["blocks"]}, "Resume")
    assert resume["url"] == slack.fake.permalink(CHANNEL, old["ts"])
    assert "How large is the model" in text_of({"blocks": asked["blocks"]})


def start_new(slack: Slack, asked: dict) -> None:
    """Click *Start new* on the "Resume or start new?" message (ephemeral: no ts)."""
    status, _ = slack.click({"ts": "1.000000", "blocks": asked["blocks"]}, "Start new")
    assert status == 200
    slack.settle()


def test_a_replaced_conversation_links_to_the_newer_one(slack: Slack) -> None:
    old = start(slack)
    slack.answer("Training")
    start_new(slack, json.loads(slack.command()[1]))
    new = slack.root()
    assert new["ts"] != old["ts"]
    link = slack.fake.permalink(CHANNEL, new["ts"])
    earlier = slack.fake.message(CHANNEL, old["ts"])
    assert earlier is not None
    assert f"Replaced by a <{link}|newer conversation>" in text_of(earlier)
    assert "is planning" not in text_of(earlier)
    old_thread = slack.fake.messages_in_thread(CHANNEL, old["ts"])
    assert not [m for m in old_thread[1:] if any(b["type"] == "actions" for b in m["blocks"])]
    assert "Replaced by a newer conversation." in text_of(old_thread[-1])
    # The new thread is as any other: its first question, waiting.
    assert "training or inference" in text_of(slack.current())
