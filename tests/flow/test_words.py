"""The TOML words file, checked on its own and against the graph; errors name the key."""

from __future__ import annotations

import pytest

from bot.flow.catalogue import load_catalogue
from bot.flow.errors import FlowError
from bot.flow.loader import flow_from_text
from bot.flow.mermaid import parse_mermaid
from bot.flow.words import check_words, load_words
from tests.flow._fixtures import SHIPPED_CATALOGUE, SHIPPED_MMD, SHIPPED_TOML, parse, read


def word_problems(toml: str) -> list[str]:
    """Load `toml` and check it against words.mmd; the problem messages, in order."""
    with pytest.raises(FlowError) as caught:
        check_words(load_words(read(toml), toml), parse("words.mmd"), toml)
    for problem in caught.value.problems:
        assert problem.path == toml
    return [p.message for p in caught.value.problems]


def test_fixture_words_validate() -> None:
    words = load_words(read("words.toml"), "words.toml")
    check_words(words, parse("words.mmd"), "words.toml")
    assert words.decisions["Size"].options["Small"].synonyms == ("tiny",)
    assert words.nodes["Cheap"].offering == "a small GPU"


def test_shipped_words_validate() -> None:
    mmd, toml = SHIPPED_MMD.read_text(encoding="utf-8"), SHIPPED_TOML.read_text(encoding="utf-8")
    offerings = SHIPPED_CATALOGUE.read_text(encoding="utf-8")
    words = load_words(toml, str(SHIPPED_TOML))
    catalogue = load_catalogue(offerings, str(SHIPPED_CATALOGUE))
    check_words(words, parse_mermaid(mmd, str(SHIPPED_MMD)), str(SHIPPED_TOML), catalogue)
    assert len(words.decisions) == 9
    flow = flow_from_text("llm_cost", mmd, toml, offerings)
    assert len(flow.graph.nodes) == 26


def test_shipped_words_need_the_catalogue_for_their_sources() -> None:
    mmd, toml = SHIPPED_MMD.read_text(encoding="utf-8"), SHIPPED_TOML.read_text(encoding="utf-8")
    with pytest.raises(FlowError) as caught:
        flow_from_text("llm_cost", mmd, toml)
    assert "nodes.P5en.facts[0]: unknown source 'ec2-accelerated'" in str(caught.value)


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (
            "words_unknown_decision.toml",
            "decisions.Nope: unknown decision (no such node in words.mmd)",
        ),
        (
            "words_not_a_decision.toml",
            "decisions.Cheap: unknown decision (that node is not a decision in words.mmd)",
        ),
        (
            "words_unknown_option.toml",
            "decisions.Size.options.'Medium size': unknown option; "
            "the edges say 'Huge', 'Large', 'Small'",
        ),
        (
            "words_missing_decision.toml",
            "decisions.Size: missing: decision Size ('Model size?', line 2 of words.mmd) "
            "needs a question and help text",
        ),
        ("words_overlap.toml", "decisions.Size.options: ranges of 'Small' and 'Large' overlap"),
        (
            "words_unknown_node.toml",
            "nodes.Nowhere: unknown recommendation node (no such node in words.mmd)",
        ),
    ],
)
def test_graph_checks_name_the_key(toml: str, expected: str) -> None:
    assert word_problems(toml) == [expected]


@pytest.mark.parametrize(
    ("toml", "key", "words"),
    [
        ("words_missing_question.toml", "decisions.Size.question", "Field required"),
        (
            "words_min_not_below_max.toml",
            "decisions.Size.options.Small",
            "min (1e+10) must be below max (1e+10)",
        ),
        ("words_unknown_key.toml", "decisions.Size.questoin", "Extra inputs are not permitted"),
    ],
)
def test_schema_errors_name_the_key(toml: str, key: str, words: str) -> None:
    with pytest.raises(FlowError) as caught:
        load_words(read(toml), toml)
    [problem] = caught.value.problems
    assert problem.path == toml
    assert problem.message.startswith(f"{key}: ")
    assert words in problem.message


def test_every_overlapping_pair_is_reported() -> None:
    # Small covers everything below 1e13, so it overlaps Large and Huge, which do not touch.
    assert word_problems("words_overlap_three.toml") == [
        "decisions.Size.options: ranges of 'Small' and 'Large' overlap",
        "decisions.Size.options: ranges of 'Small' and 'Huge' overlap",
    ]


TINY = '[flow]\ntitle = "T"\nprices_as_of = 2026-01-01\n'
SIZE = '[decisions.Size]\nquestion = "Q?"\nhelp = "H."\n'


@pytest.mark.parametrize(
    ("options", "overlap"),
    [
        ("[a]\nmax = 10\n[b]\nmin = 10\n", False),  # half-open: [.., 10) and [10, ..)
        ("[a]\nmax = 10\nmax_inclusive = true\n[b]\nmin = 10\n", True),
        ("[a]\nmin = 1\nmax = 5\n[b]\nmin = 6\nmax = 9\n", False),
        ("[a]\nmin = 1\n[b]\nmin = 2\nmax = 3\n", True),  # no max: up to infinity
        ("[a]\nmax = 3\n[b]\nmax = 9\n", True),  # no min: from minus infinity
    ],
)
def test_range_edges(options: str, overlap: bool) -> None:
    graph = parse_mermaid("flowchart TD\n  Size{S} -->|a| A\n  Size -->|b| B\n", "r.mmd")
    options = options.replace("[a]", "[decisions.Size.options.a]")
    options = options.replace("[b]", "[decisions.Size.options.b]")
    words = load_words(TINY + SIZE + 'unit = "ms"\n' + options, "r.toml")
    if overlap:
        with pytest.raises(FlowError, match=r"decisions\.Size\.options: ranges of 'a' and 'b'"):
            check_words(words, graph, "r.toml")
    else:
        check_words(words, graph, "r.toml")


def test_unit_and_ranges_go_together() -> None:
    graph = parse_mermaid("flowchart TD\n  Size{S} -->|a| A\n  Size -->|b| B\n", "r.mmd")
    no_unit = load_words(TINY + SIZE + "[decisions.Size.options.a]\nmax = 1\n", "r.toml")
    with pytest.raises(FlowError, match=r"decisions\.Size: options have min/max but .* no unit"):
        check_words(no_unit, graph, "r.toml")
    no_range = load_words(TINY + SIZE + 'unit = "ms"\n', "r.toml")
    with pytest.raises(FlowError, match=r"decisions\.Size: unit 'ms' is set but no option"):
        check_words(no_range, graph, "r.toml")


def test_invalid_toml_names_the_file() -> None:
    with pytest.raises(FlowError) as caught:
        load_words("[flow\n", "bad.toml")
    [problem] = caught.value.problems
    assert problem.path == "bad.toml"
    assert problem.message.startswith("not valid TOML: ")
