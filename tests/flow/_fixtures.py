"""Paths to the small flow files in tests/flow/fixtures and the shipped flows."""

from __future__ import annotations

from pathlib import Path

from bot.flow.errors import FlowError
from bot.flow.graph import FlowGraph
from bot.flow.mermaid import parse_mermaid

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHIPPED_MMD = ROOT / "flows" / "llm_cost.mmd"
SHIPPED_TOML = ROOT / "flows" / "llm_cost.toml"
SHIPPED_CATALOGUE = ROOT / "flows" / "offerings.toml"


def read(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def parse(name: str) -> FlowGraph:
    """Parse a fixture; errors name it by its file name alone."""
    return parse_mermaid(read(name), name)


def edges_of(graph: FlowGraph) -> list[tuple[str, str, str | None]]:
    return [(e.source, e.target, e.label) for e in graph.edges]


def problems_of(exc: FlowError) -> list[tuple[int | None, str]]:
    return [(p.line, p.message) for p in exc.problems]
