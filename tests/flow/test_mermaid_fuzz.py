"""Whatever text arrives, the parser answers with a graph or a FlowError, never a crash."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.flow.errors import FlowError
from bot.flow.mermaid import parse_mermaid
from bot.flow.validate import validate_graph

FRAGMENTS = [
    "A", "B", "C1", "_x", "é", " ", "\t", "-->", "---", "-.->", "==>", "-- t -->", "-. t .->",
    "== t ==>", "-.-", "===", "~~>", "->", "[x]", "{y}", "(z)", "([s])", "((c))", '["q"]',
    "[[", "[", "]", "{", "}", "(", ")", '"', "|l|", "|", "&", ";", ":::k", "<br/>", "<br>",
    "%%", "subgraph", "subgraph S", "end", "style A fill:#fff", "classDef", "click", "direction",
    "\n", "\n", "\n", "flowchart TD\n", "graph LR\n", "flowchart",
]  # fmt: skip

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parse_or_flow_error(text: str) -> None:
    try:
        graph = parse_mermaid(text, "fuzz.mmd")
    except FlowError as exc:
        assert exc.problems
        assert all(p.path == "fuzz.mmd" for p in exc.problems)
        return
    # Whatever parses can be validated without a crash as well.
    try:
        validate_graph(graph)
    except FlowError as exc:
        assert exc.problems


@SETTINGS
@given(st.text())
def test_random_text(text: str) -> None:
    _parse_or_flow_error(text)


@SETTINGS
@given(st.text())
def test_random_text_after_a_header(text: str) -> None:
    _parse_or_flow_error("flowchart TD\n" + text)


@SETTINGS
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40))
def test_random_fragments(parts: list[str]) -> None:
    _parse_or_flow_error("".join(parts))


@SETTINGS
@given(st.lists(st.lists(st.sampled_from(FRAGMENTS[:-6]), max_size=8), max_size=8))
def test_random_statements_after_a_header(lines: list[list[str]]) -> None:
    _parse_or_flow_error("flowchart TD\n" + "\n".join("".join(line) for line in lines))
