"""Load flows from the flows directory and keep every version seen, by hash."""

from __future__ import annotations

import threading
from pathlib import Path

from bot.flow.catalogue import EMPTY, load_catalogue
from bot.flow.compiled import Flow, compile_flow, flow_hash
from bot.flow.errors import FlowError, Problem
from bot.flow.mermaid import parse_mermaid
from bot.flow.validate import validate_graph
from bot.flow.words import check_words, load_words

DEFAULT_FLOWS_DIR = Path(__file__).resolve().parents[2] / "flows"
DEFAULT_FLOW = "llm_cost"
CATALOGUE_FILE = "offerings.toml"


def flow_from_text(
    name: str,
    mermaid: str,
    words: str,
    catalogue: str = "",
    *,
    mermaid_path: str = "<mmd>",
    words_path: str = "<toml>",
    catalogue_path: str = "<offerings>",
) -> Flow:
    """Parse, validate and compile a flow from its texts (the offerings catalogue is
    optional: a flow without one names no offerings); raises `FlowError`."""
    graph = parse_mermaid(mermaid, mermaid_path)
    start = validate_graph(graph)
    said = load_words(words, words_path)
    offerings = load_catalogue(catalogue, catalogue_path) if catalogue else EMPTY
    check_words(said, graph, words_path, offerings)
    source_hash = flow_hash(mermaid, words, *([catalogue] if catalogue else []))
    flow = compile_flow(name, graph, said, start, source_hash, offerings)
    flow.machine  # noqa: B018 - build the one Machine now, at start-up, not on a request
    return flow


def load_flow(name: str = DEFAULT_FLOW, flows_dir: Path = DEFAULT_FLOWS_DIR) -> Flow:
    """Load `<flows_dir>/<name>.mmd` with its `<name>.toml`, and the folder's
    `offerings.toml` catalogue when there is one."""
    mmd, toml, offerings = (
        flows_dir / f"{name}.mmd",
        flows_dir / f"{name}.toml",
        flows_dir / CATALOGUE_FILE,
    )
    texts = []
    for path in (mmd, toml, offerings):
        if path is offerings and not path.exists():
            texts.append("")
            continue
        try:
            texts.append(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise FlowError([Problem(str(path), f"cannot read the file: {exc.strerror}")]) from exc
    return flow_from_text(
        name,
        *texts,
        mermaid_path=str(mmd),
        words_path=str(toml),
        catalogue_path=str(offerings),
    )


def available_flows(flows_dir: Path = DEFAULT_FLOWS_DIR) -> list[str]:
    return sorted(p.stem for p in flows_dir.glob("*.mmd") if p.with_suffix(".toml").exists())


class FlowRegistry:
    """The current flow per name plus every older version still referenced, by hash."""

    def __init__(self, flows: list[Flow] | None = None):
        self._lock = threading.Lock()
        self._current: dict[str, Flow] = {}
        self._by_hash: dict[tuple[str, str], Flow] = {}
        for flow in flows or []:
            self.add(flow)

    def add(self, flow: Flow) -> None:
        with self._lock:
            self._current[flow.name] = flow
            self._by_hash[(flow.name, flow.source_hash)] = flow

    def current(self, name: str = DEFAULT_FLOW) -> Flow:
        try:
            return self._current[name]
        except KeyError:
            known = ", ".join(sorted(self._current)) or "none"
            raise KeyError(f"unknown flow {name!r}; known flows: {known}") from None

    def get(self, name: str, source_hash: str) -> Flow | None:
        """That exact version of a flow, if this process knows it."""
        return self._by_hash.get((name, source_hash))

    @classmethod
    def from_dir(cls, flows_dir: Path = DEFAULT_FLOWS_DIR) -> FlowRegistry:
        return cls([load_flow(name, flows_dir) for name in available_flows(flows_dir)])
