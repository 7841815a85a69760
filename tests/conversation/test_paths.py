"""Every path of the shipped flowchart, walked through the engine to its recommendation."""

from __future__ import annotations

import pytest

from bot.__main__ import format_path, main
from bot.conversation import Conversation, Status
from bot.flow.graph import Edge
from bot.flow.loader import load_flow

FLOW = load_flow()

# (answers in order) -> (instance node, storage-or-caching node)
EXPECTED: dict[tuple[str, ...], tuple[str, str]] = {}
_TRAINING = {
    ("Trillion+ params",): "P6e",
    ("100B+ params",): "Trn2Ultra",
    ("10-100B params",): "P5en",
    ("1-10B params", "Performance"): "P5e",
    ("1-10B params", "Cost"): "P4d",
}
_INFERENCE = {
    ("Ultra-low <100ms", "High"): "P6B200",
    ("Ultra-low <100ms", "Medium"): "P5eInf",
    ("Standard 100-500ms", "Throughput"): "Inf2",
    ("Standard 100-500ms", "Cost", "Yes"): "Distill",
    ("Standard 100-500ms", "Cost", "No"): "C7g",
}
for _answers, _instance in _TRAINING.items():
    for _option, _storage in (
        ("Active", "EBS"),
        ("Archive", "S3Glacier"),
        ("Checkpoints", "S3Std"),
    ):
        EXPECTED[("Training", *_answers, _option)] = (_instance, _storage)
for _answers, _instance in _INFERENCE.items():
    for _option, _cache in (
        ("KV Cache", "ElastiCache"),
        ("Prompt Cache", "BedrockCache"),
        ("No Cache", "Direct"),
    ):
        EXPECTED[("Inference", *_answers, _option)] = (_instance, _cache)


def test_the_table_has_thirty_distinct_paths() -> None:
    assert len(EXPECTED) == 30


def test_flow_paths_prints_exactly_thirty(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flow", "paths"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 30
    assert len(set(lines)) == 30
    assert all(line.startswith("Start -> Type [") for line in lines)
    assert (
        "Start -> Type [Training] -> TrainSize [10-100B params] -> P5en -> Storage [Active] "
        "-> EBS" in lines
    )


def test_graph_paths_match_the_table() -> None:
    found = set()
    for path in FLOW.paths():
        labels = tuple(item.label for item in path if isinstance(item, Edge) and item.label)
        nodes = [item for item in path if isinstance(item, str)]
        found.add(labels)
        assert (nodes[-1],) == (EXPECTED[labels][1],), format_path(path)
    assert found == set(EXPECTED)


@pytest.mark.parametrize(
    ("answers", "expected"), sorted(EXPECTED.items()), ids=[" > ".join(a) for a in sorted(EXPECTED)]
)
def test_walk_each_path_by_option(answers: tuple[str, ...], expected: tuple[str, str]) -> None:
    conversation = Conversation.start(FLOW)
    for label in answers:
        question = conversation.question()
        assert question is not None
        option = question.option(label)
        assert option is not None, f"{label!r} is not an option of {question.node_id}"
        conversation.answer(option.index)
    assert conversation.status is Status.FINISHED
    assert conversation.question() is None
    recommendation = conversation.recommendation()
    assert recommendation is not None
    assert (recommendation.instance.node.id, recommendation.follow_up.node.id) == expected
    assert [a.answer.option for a in recommendation.answers] == list(answers)
    assert recommendation.instance.details is not None
    assert recommendation.follow_up.details is not None


@pytest.mark.parametrize(
    ("answers", "expected"), sorted(EXPECTED.items()), ids=[" > ".join(a) for a in sorted(EXPECTED)]
)
def test_walk_each_path_by_typed_label_after_a_json_round_trip(
    answers: tuple[str, ...], expected: tuple[str, str]
) -> None:
    from bot.flow.loader import FlowRegistry

    registry = FlowRegistry([FLOW])
    data = Conversation.start(FLOW).dump()
    for label in answers:
        conversation = Conversation.restore(registry, data)
        conversation.answer(label.lower())
        data = conversation.dump()
    recommendation = Conversation.restore(registry, data).recommendation()
    assert recommendation is not None
    assert (recommendation.instance.node.id, recommendation.follow_up.node.id) == expected
