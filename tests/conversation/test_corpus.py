"""What people type, read end to end: each sentence of corpus.toml, typed at its
question, gives exactly the answers it lists (and no more), or is asked again."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.conversation import Advanced, CommandGiven, Conversation, Reprompt
from bot.flow.loader import load_flow

FLOW = load_flow()
CASES = tomllib.loads((Path(__file__).with_name("corpus.toml")).read_text())["case"]
ANSWERED = [c for c in CASES if "took" in c]


def typed_at(after: list[str], text: str) -> object:
    """Click ``after`` from the first question, then type ``text``."""
    conversation = Conversation.start(FLOW)
    for label in after:
        question = conversation.question()
        assert question is not None
        option = question.option(label)
        assert option is not None, f"{label!r} is no option of {question.node_id}"
        conversation.answer(option.index)
    return conversation.answer(text)


def took(result: object) -> dict[str, str]:
    assert isinstance(result, Advanced), result
    return {a.question.node_id: a.answer.option for a in (result, *result.more)}


def test_the_corpus_is_large_and_covers_every_question() -> None:
    assert len(CASES) >= 80
    asked = {next(iter(c["took"])) for c in ANSWERED}
    assert asked == set(FLOW.questions)


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:40] for c in CASES])
def test_each_sentence_ends_where_the_person_meant(case: dict) -> None:
    result = typed_at(case.get("after", []), case["text"])
    if "took" in case:
        assert took(result) == case["took"]
    elif "unclear" in case:
        assert isinstance(result, Reprompt), result
        assert case["unclear"] in result.reason
    else:
        assert case["help"] is True
        assert result == CommandGiven("help")


# Clauses that say nothing about the workload.
UNRELATED = [
    "thanks!",
    "cheers",
    "our team is in Berlin",
    "I'm asking for my manager",
    "we meet on Mondays",
    "hope that makes sense",
    "the repo lives on GitHub",
    "more details in the doc",
]
JOINERS = [", ", ". ", " - ", "; ", " (", "! "]


@settings(max_examples=300, deadline=None)
@given(
    case=st.sampled_from(ANSWERED),
    joiner=st.sampled_from(JOINERS),
    clause=st.sampled_from(UNRELATED),
)
def test_an_unrelated_clause_never_changes_an_answer(case: dict, joiner: str, clause: str) -> None:
    result = typed_at(case.get("after", []), f"{case['text']}{joiner}{clause}")
    assert took(result) == case["took"]
