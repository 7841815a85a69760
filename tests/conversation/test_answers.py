"""Typed text -> option, command or reprompt, on the shipped flow's questions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.conversation.answers import (
    Command,
    Matched,
    Unclear,
    describe,
    parse_answer,
    parse_command,
)
from bot.flow.loader import load_flow

FLOW = load_flow()
Q = FLOW.questions


@pytest.mark.parametrize(
    ("node", "text", "label"),
    [
        ("Type", "Training", "Training"),
        ("Type", "INFERENCE", "Inference"),
        ("Type", "2", "Inference"),
        ("Type", "1.", "Training"),
        ("Type", "we fine-tune a 70B model", "Training"),
        ("Type", "we serve a chatbot", "Inference"),
        ("Type", "inf", "Inference"),
        ("Type", "trainig", "Training"),
        ("TrainSize", "we fine-tune a 70B model", "10-100B params"),
        ("TrainSize", "405b", "100B+ params"),
        ("TrainSize", "7 billion", "1-10B params"),
        ("TrainSize", "1.5T", "Trillion+ params"),
        ("TrainSize", "2 trillion params", "Trillion+ params"),
        ("TrainSize", "100B", "100B+ params"),
        ("TrainSize", "1T", "Trillion+ params"),
        ("TrainSize", "10B", "10-100B params"),
        ("TrainSize", "1B", "1-10B params"),
        ("TrainSize", "1-10B params", "1-10B params"),
        ("TrainSize", "it is about 1-10B", "1-10B params"),
        ("TrainSize", "over 100B", "100B+ params"),
        ("TrainSize", "just under 100B", "10-100B params"),
        ("TrainSize", "llama 3 8b", "1-10B params"),
        ("TrainSize", "7000000000 parameters", "1-10B params"),
        ("TrainSize", "1,5T", "Trillion+ params"),
        ("TrainSize", "3", "10-100B params"),
        ("InfLatency", "under 80 ms", "Ultra-low <100ms"),
        ("InfLatency", "0.3s", "Standard 100-500ms"),
        ("InfLatency", "p99 latency 250ms", "Standard 100-500ms"),
        ("InfLatency", "100 ms", "Standard 100-500ms"),
        ("InfLatency", "exactly 100ms", "Standard 100-500ms"),
        ("InfLatency", "under 100ms", "Ultra-low <100ms"),
        ("InfLatency", "<100ms", "Ultra-low <100ms"),
        ("InfLatency", "500ms", "Standard 100-500ms"),
        ("InfLatency", "99.9 ms", "Ultra-low <100ms"),
        ("InfLatency", "real-time", "Ultra-low <100ms"),
        ("InfLatency", "standard", "Standard 100-500ms"),
        ("InfScale", "high", "High"),
        ("InfCost", "throughput", "Throughput"),
        ("OptTech", "yes", "Yes"),
        ("OptTech", "nope", "No"),
        ("Storage", "checkpoints please", "Checkpoints"),
        ("Storage", "arch", "Archive"),
        ("Cache", "no cache", "No Cache"),
        ("Cache", "KV", "KV Cache"),
        ("Cache", "prompt caching", "Prompt Cache"),
    ],
)
def test_reads_the_option(node: str, text: str, label: str) -> None:
    result = parse_answer(Q[node], text)
    assert isinstance(result, Matched), result
    assert result.option.label == label
    assert result.note is None or node in ("Type",) or "nearest" not in result.note


@pytest.mark.parametrize(
    ("node", "text", "label", "note"),
    [
        ("TrainSize", "a 300M model", "1-10B params", "300M params is below the smallest range"),
        ("TrainSize", "50 thousand params", "1-10B params", "below"),
        ("TrainSize", "20T", "Trillion+ params", None),
        ("InfLatency", "2 s", "Standard 100-500ms", "2 s is above the largest range"),
        ("InfLatency", "about 900 ms", "Standard 100-500ms", "nearest branch"),
    ],
)
def test_values_outside_the_flowchart_map_to_the_nearest_branch_and_say_so(
    node: str, text: str, label: str, note: str | None
) -> None:
    result = parse_answer(Q[node], text)
    assert isinstance(result, Matched)
    assert result.option.label == label
    if note is None:
        assert result.note is None
    else:
        assert result.note is not None and note in result.note


@pytest.mark.parametrize("word", ["back", "Restart", "cancel", "HELP", "/help", "start over"])
def test_command_words_are_commands_not_answers(word: str) -> None:
    for question in Q.values():
        result = parse_answer(question, word)
        assert isinstance(result, Command)
    assert parse_command(word) in ("back", "restart", "cancel", "help")


@pytest.mark.parametrize(
    ("node", "text", "reason"),
    [
        ("Type", "", "empty"),
        ("Type", "   ", "empty"),
        ("Type", "training and inference", "both"),
        ("Type", "banana", "could not match"),
        ("Type", "7", "no option 7"),
        ("TrainSize", "70", "with a unit"),
        ("InfLatency", "250", "with a unit"),
        ("Storage", "a", "could not match"),
        ("Type", "<!channel>", "could not match"),
    ],
)
def test_unclear_replies_get_a_reprompt(node: str, text: str, reason: str) -> None:
    result = parse_answer(Q[node], text)
    assert isinstance(result, Unclear), result
    assert reason in result.reason


def test_describe_quantities() -> None:
    assert describe(70e9, "params") == "70B params"
    assert describe(1.5e12, "params") == "1.5T params"
    assert describe(80, "ms") == "80 ms"
    assert describe(2000, "ms") == "2 s"


def test_very_long_text_is_read_without_trouble() -> None:
    result = parse_answer(Q["TrainSize"], "x" * 1_000_000 + " 70B")
    assert isinstance(result, Unclear)  # only the first 4000 characters are read
    assert isinstance(parse_answer(Q["TrainSize"], "70B " + "y" * 1_000_000), Matched)


_replies = st.one_of(
    st.text(max_size=200),
    st.from_regex(
        r"[<>&!@#]?\s?[0-9]{1,4}([.,][0-9]{1,3})?\s?(ms|s|b|t|m|k|billion|params)?", fullmatch=True
    ),
    st.lists(
        st.sampled_from(
            [
                "train",
                "70B",
                "under",
                "ms",
                "cost",
                "no",
                "<!here>",
                "&",
                " ",
                "1",
                "-",
                "to",
                "1.5",
                "T",
                "yes",
                "cache",
            ]
        ),
        max_size=8,
    ).map("".join),
)


@settings(max_examples=400, deadline=None)
@given(node=st.sampled_from(sorted(Q)), text=_replies)
def test_any_text_gives_an_option_a_command_or_a_reprompt(node: str, text: str) -> None:
    result = parse_answer(Q[node], text)
    assert isinstance(result, Matched | Command | Unclear)
    if isinstance(result, Matched):
        assert result.option in Q[node].options
    if isinstance(result, Unclear):
        assert result.reason and "<" not in result.reason
