"""Load flows from the flows directory and keep every version seen, by hash."""

from __future__ import annotations

import threading
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.flow.calibration import Models, ThroughputRow, load_calibration, load_models
from bot.flow.catalogue import EMPTY, Catalogue, load_catalogue
from bot.flow.compiled import Flow, compile_flow, flow_hash
from bot.flow.errors import FlowError, Problem
from bot.flow.mermaid import parse_mermaid
from bot.flow.validate import validate_graph
from bot.flow.words import check_words, load_words

DEFAULT_FLOWS_DIR = Path(__file__).resolve().parents[2] / "flows"
DEFAULT_FLOW = "llm_cost"
CATALOGUE_FILE = "offerings.toml"
CALIBRATION_FILE = "calibration.toml"
MODELS_FILE = "models.toml"


@lru_cache(maxsize=8)
def flow_from_text(
    name: str,
    mermaid: str,
    words: str,
    catalogue: str = "",
    *,
    mermaid_path: str = "<mmd>",
    words_path: str = "<toml>",
    catalogue_path: str = "<offerings>",
    calibration: str = "",
    models: str = "",
    calibration_path: str = "<calibration>",
    models_path: str = "<models>",
) -> Flow:
    """Parse, validate and compile a flow from its texts (the offerings catalogue is
    optional: a flow without one names no offerings; so are the calibration and the
    known models, which join the catalogue); raises `FlowError`.

    A Flow is immutable, so the same texts give the same one: each version is compiled
    once per process however many app instances load it (the tests start hundreds)."""
    graph = parse_mermaid(mermaid, mermaid_path)
    start = validate_graph(graph)
    said = load_words(words, words_path)
    offerings = load_catalogue(catalogue, catalogue_path) if catalogue else EMPTY
    offerings = _with_calibration(offerings, calibration, calibration_path, models, models_path)
    check_words(said, graph, words_path, offerings)
    extra = [text for text in (catalogue, calibration, models) if text]
    source_hash = flow_hash(mermaid, words, *extra)
    flow = compile_flow(name, graph, said, start, source_hash, offerings)
    flow.machine  # noqa: B018 - build the one Machine now, at start-up, not on a request
    return flow


def _with_calibration(
    offerings: Catalogue, calibration: str, calibration_path: str, models: str, models_path: str
) -> Catalogue:
    """The catalogue with the published runs and known models joined, each band's,
    serving fit's and vendor row's accelerator, instance and model checked."""
    update: dict[str, Any] = {}
    known = load_models(models, models_path) if models else None
    if known is not None:
        update["models"] = known
    if calibration:
        cal = load_calibration(calibration, calibration_path)
        problems = [
            Problem(calibration_path, f"bands.{band.key}: unknown accelerator {name!r}")
            for band in cal.bands
            for name in band.applies_to
            if name not in offerings.accelerators
        ]
        problems += [
            Problem(calibration_path, f"serving.{name}: unknown accelerator {name!r}")
            for name in cal.serving
            if name not in offerings.accelerators
        ]
        problems += [
            Problem(calibration_path, f"throughput_rows[{i}]: {why}")
            for i, row in enumerate(cal.throughput_rows)
            for why in _row_problems(offerings, known, row)
        ]
        if problems:
            raise FlowError(problems)
        update["calibration"] = cal
    if not update:
        return offerings
    # Their sources join the catalogue's (which wins on a shared key), so a link to
    # any of them shows its title wherever the catalogue names sources by URL.
    joined = {k: v for part in update.values() for k, v in part.sources.items()}
    update["sources"] = {**joined, **offerings.sources}
    return offerings.model_copy(update=update)


def _row_problems(offerings: Catalogue, known: Models | None, row: ThroughputRow) -> list[str]:
    """A vendor row names a known model and a catalogue instance with its accelerator."""
    problems = []
    if known is None or row.model not in known.models:
        problems.append(f"unknown model {row.model!r} (not in models.toml)")
    instance = offerings.instances.get(row.instance)
    if instance is None:
        problems.append(f"unknown instance {row.instance!r}")
    elif instance.accelerator != row.accelerator:
        problems.append(f"{row.instance} has {instance.accelerator}, not {row.accelerator!r}")
    return problems


def load_flow(name: str = DEFAULT_FLOW, flows_dir: Path = DEFAULT_FLOWS_DIR) -> Flow:
    """Load `<flows_dir>/<name>.mmd` with its `<name>.toml`, and the folder's
    `offerings.toml` catalogue, `calibration.toml` and `models.toml` when there are."""
    mmd, toml, offerings, calibration, models = (
        flows_dir / f"{name}.mmd",
        flows_dir / f"{name}.toml",
        flows_dir / CATALOGUE_FILE,
        flows_dir / CALIBRATION_FILE,
        flows_dir / MODELS_FILE,
    )
    optional = (offerings, calibration, models)
    texts = []
    for path in (mmd, toml, offerings, calibration, models):
        if path in optional and not path.exists():
            texts.append("")
            continue
        try:
            texts.append(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise FlowError([Problem(str(path), f"cannot read the file: {exc.strerror}")]) from exc
    return flow_from_text(
        name,
        *texts[:3],
        mermaid_path=str(mmd),
        words_path=str(toml),
        catalogue_path=str(offerings),
        calibration=texts[3],
        models=texts[4],
        calibration_path=str(calibration),
        models_path=str(models),
    )


def available_flows(flows_dir: Path = DEFAULT_FLOWS_DIR) -> list[str]:
    return sorted(p.stem for p in flows_dir.glob("*.mmd") if p.with_suffix(".toml").exists())


class FlowRegistry:
    """The current flow per name plus every older version still referenced, by hash."""

    def __init__(self, flows: list[Flow] | None = None):
        self._lock = threading.Lock()
        self._current: dict[str, Flow] = {}
        self._by_hash: dict[tuple[str, str], Flow] = {}
        self._prices: object | None = None
        for flow in flows or []:
            self.add(flow)

    def add(self, flow: Flow) -> None:
        with self._lock:
            if self._prices is not None:
                flow = replace(flow, prices=self._prices)
            self._current[flow.name] = flow
            self._by_hash[(flow.name, flow.source_hash)] = flow

    def attach_prices(self, prices: object) -> None:
        """Every flow, now and later, prices its estimates from ``prices`` (a
        `bot.pricing.source.PriceSource`: the running app's live prices)."""
        with self._lock:
            self._prices = prices
            self._current = {n: replace(f, prices=prices) for n, f in self._current.items()}
            self._by_hash = {k: replace(f, prices=prices) for k, f in self._by_hash.items()}

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
