"""Fuzzing: properly signed but hostile requests. Never a 5xx or a crash, no state change
for an invalid request, and no message leaks one conversation's data into another."""

from __future__ import annotations

import json
import random
import string
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.testing.slack_api import FakeSlack
from bot.testing.slack_requests import block_actions_payload, message_event, slash_command_body
from tests.slack.harness import ALICE, Slack, find_button, running, settings_for

OTHER_CHANNEL = "C0OTHER"
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Slack, dict]]:
    """One app with two live conversations in two channels (Alice's and Bob's)."""
    with FakeSlack(team_id="T0001") as fake:
        settings_ = settings_for(
            fake, tmp_path_factory.mktemp("fuzz") / "data", slack_channel_post_rate=100.0
        )  # many replies in one channel
        with running(settings_, fake) as slack:
            slack.command(channel="C0001", user=ALICE)
            slack.command(channel=OTHER_CHANNEL, user="U0BOB")
            slack.settle()
            slack.answer("Training")  # Alice is at step 1 now
            question = slack.current()
            other = slack.current(OTHER_CHANNEL)
            known = {
                "question": question,
                "other": other,
                "values": [
                    find_button(question, "1-10B params")["value"],
                    find_button(other, "Training")["value"],
                ],
                "root": slack.root()["ts"],
                "other_root": slack.root(OTHER_CHANNEL)["ts"],
            }
            yield slack, known


def snapshot(slack: Slack) -> list[tuple[str, int, str, str]]:
    import sqlalchemy as sa

    with slack.apps[0].runtime.store.engine.connect() as conn:
        return sorted(
            (r.id, r.version, r.status, r.user)
            for r in conn.execute(sa.text('SELECT id, version, status, "user" FROM conversations'))
        )


def assert_no_leak(slack: Slack, conversations: dict[str, str]) -> None:
    """Every button value the app sent names a conversation of the channel it went to."""
    for call in slack.fake.calls():
        channel = call.params.get("channel")
        raw = json.dumps(call.params.get("blocks") or [])
        for conversation_id, home in conversations.items():
            if conversation_id in raw:
                assert channel == home, f"{conversation_id} leaked into {channel}"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)
hostile_text = st.one_of(
    st.text(max_size=300),
    st.sampled_from(
        [
            "<!channel>",
            "<!here|here>",
            "<@U0ALICE>",
            "&amp;",
            "\x00\x1b[2J",
            "‮evil",
            "🧨" * 50,
            "x" * 1_000_000,
            "1",
            "back",
            "restart",
        ]
    ),
)


def mutate(payload: dict, rnd: random.Random, value: object) -> dict:
    """Drop, retype or replace one field somewhere in a block_actions payload."""
    copy = json.loads(json.dumps(payload))
    target = rnd.choice([copy, copy["actions"][0], copy["user"], copy["channel"], copy["team"]])
    key = rnd.choice(sorted(target))
    if rnd.random() < 0.4:
        del target[key]
    else:
        target[key] = value
    return copy


@FUZZ
@given(value=json_values, seed=st.integers(0, 2**32), which=st.integers(0, 1))
def test_mutated_button_payloads(
    world: tuple[Slack, dict], value: object, seed: int, which: int
) -> None:
    slack, known = world
    message = known["question"] if which == 0 else known["other"]
    button = next(b for b in message["blocks"] if b["type"] == "actions")["elements"][0]
    payload = block_actions_payload(
        action_id=button["action_id"],
        value=button["value"],
        block_id="q",
        message_ts=message["ts"],
        channel_id="C0001" if which == 0 else OTHER_CHANNEL,
        user_id="U0MALLORY",
        team_id="T0001",
    )
    payload = mutate(payload, random.Random(seed), value)
    before = snapshot(slack)
    status, _ = slack.post(urlencode({"payload": json.dumps(payload)}).encode())
    assert status < 500
    slack.settle()
    assert snapshot(slack) == before


@FUZZ
@given(
    value=st.text(max_size=120),
    channel=st.sampled_from(["C0001", OTHER_CHANNEL, "C0NEW"]),
    user=st.sampled_from([ALICE, "U0BOB", "U0MALLORY"]),
)
def test_button_values_pointing_at_other_conversations_or_steps(
    world: tuple[Slack, dict], value: str, channel: str, user: str
) -> None:
    slack, known = world
    alice_value, bob_value = known["values"]
    conversation, _, _ = alice_value.split(":")
    other_conversation = bob_value.split(":")[0]
    candidates = [
        value,
        f"{other_conversation}:0:1",
        f"{conversation}:0:1",
        f"{conversation}:99:1",
        f"{conversation}:1:99",
        f"{conversation}:-1:1",
        f"{conversation}:1",
        f"{other_conversation}:0:1:extra",
    ]
    for candidate in candidates:
        if candidate == alice_value and channel == "C0001" and user == ALICE:
            continue  # that would be a real answer
        if (
            candidate.startswith(other_conversation + ":0:")
            and channel == OTHER_CHANNEL
            and user == "U0BOB"
        ):
            continue
        payload = block_actions_payload(
            action_id="llm_cost.answer.1",
            value=candidate,
            block_id="q",
            message_ts="1.0",
            channel_id=channel,
            user_id=user,
            team_id="T0001",
        )
        before = snapshot(slack)
        status, _ = slack.post(urlencode({"payload": json.dumps(payload)}).encode())
        assert status < 500
        slack.settle()
        assert snapshot(slack) == before, candidate
    assert_no_leak(slack, {conversation: "C0001", other_conversation: OTHER_CHANNEL})


@FUZZ
@given(
    body=st.one_of(
        st.binary(max_size=400),
        st.text(max_size=400).map(lambda t: ("payload=" + t).encode()),
        json_values.map(lambda v: urlencode({"payload": json.dumps(v)}).encode()),
        json_values.map(lambda v: json.dumps({"type": "event_callback", "event": v}).encode()),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.text(max_size=200).map(
            lambda t: urlencode({"command": "/llm-cost", "text": t}).encode()
        ),
    )
)
def test_garbage_bodies(world: tuple[Slack, dict], body: bytes) -> None:
    slack, _ = world
    before = snapshot(slack)
    status, _ = slack.post(body)
    assert status < 500
    slack.settle()
    assert snapshot(slack) == before


@FUZZ
@given(
    text=hostile_text,
    user=st.sampled_from(["U0BOB", "U0MALLORY"]),
    subtype=st.sampled_from([None, "message_changed", "bot_message", "file_share"]),
)
def test_hostile_thread_messages_from_others_change_nothing(
    world: tuple[Slack, dict], text: str, user: str, subtype: str | None
) -> None:
    slack, known = world
    before = snapshot(slack)
    sent_before = len(slack.fake.calls())
    event = message_event(
        text=text,
        user_id=user,
        channel_id="C0001",
        ts="1800000000.5",
        thread_ts=known["root"],
        team_id="T0001",
        subtype=subtype,
    )
    status, _ = slack.post(json.dumps(event).encode())
    assert status < 500
    slack.settle()
    assert snapshot(slack) == before
    # At most a private note to its author that only the starter can answer.
    after = slack.fake.calls()[sent_before:]
    assert all(c.method == "chat.postEphemeral" and c.params["user"] == user for c in after)
    assert len(after) <= 1


@FUZZ
@given(text=hostile_text)
def test_hostile_slash_command_text(world: tuple[Slack, dict], text: str) -> None:
    """Any text starts the sender's own plan, as its first reply (or is a command): no
    5xx, nobody else's conversation changes, and no live mention reaches Slack."""
    slack, _ = world
    if " ".join(text.split()).lower() in ("", "start", "new", "cancel", "stop"):
        return  # real commands, tested elsewhere
    before = [row for row in snapshot(slack) if row[3] != "U0MALLORY"]
    sent_before = len(slack.fake.calls())
    body = slash_command_body(text=text, user_id="U0MALLORY", channel_id="C0001", team_id="T0001")
    status, data = slack.post(body)
    assert status < 500
    if data:
        reply = json.loads(data)
        assert "<!" not in json.dumps(reply)
    slack.settle()
    assert [row for row in snapshot(slack) if row[3] != "U0MALLORY"] == before
    for call in slack.fake.calls()[sent_before:]:
        assert "<!" not in json.dumps(call.params)


def test_hostile_typed_answers_by_the_owner_are_escaped(world: tuple[Slack, dict]) -> None:
    slack, known = world
    rnd = random.Random(7)
    for _ in range(30):
        text = "".join(rnd.choice(string.printable + "<>&!@#‮🧨") for _ in range(rnd.randint(1, 80)))
        text = "<!channel> " + text.replace("1", "")  # never a valid option index
        status, _ = slack.say(text, thread_ts=known["root"])
        assert status < 500
    slack.settle()
    for call in slack.fake.calls():
        assert "<!channel>" not in json.dumps(call.params)
