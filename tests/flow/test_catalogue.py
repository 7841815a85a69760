"""The offerings catalogue and the sources of every fact a person sees."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.flow.catalogue import load_catalogue
from bot.flow.errors import FlowError
from tests.flow._fixtures import SHIPPED_CATALOGUE, SHIPPED_MMD, SHIPPED_TOML

CATALOGUE = SHIPPED_CATALOGUE.read_text(encoding="utf-8")


def test_the_shipped_catalogue_dates_and_links_every_source() -> None:
    catalogue = load_catalogue(CATALOGUE, "offerings.toml")
    assert catalogue.instances["p5en.48xlarge"].on_demand.usd_per_hour == 63.296
    for source in catalogue.sources.values():
        assert source.url.startswith("https://") and source.read_on.year >= 2026
    used = {key for _, key in catalogue.cited()}
    assert used <= set(catalogue.sources)


def test_a_number_naming_an_unknown_source_is_refused() -> None:
    broken = CATALOGUE.replace('source = "price-list-us-east-1" }', 'source = "nowhere" }', 1)
    with pytest.raises(FlowError) as caught:
        load_catalogue(broken, "offerings.toml")
    assert "unknown source 'nowhere'; add it under [sources]" in str(caught.value)


def test_a_price_without_a_source_is_refused() -> None:
    broken = CATALOGUE.replace(
        'usd_per_hour = 63.296, where = "us-east-1", source = "price-list-us-east-1"',
        'usd_per_hour = 63.296, where = "us-east-1"',
    )
    with pytest.raises(FlowError) as caught:
        load_catalogue(broken, "offerings.toml")
    assert "on_demand.source: Field required" in str(caught.value)


def _copy_flows(tmp_path: Path) -> Path:
    for path in (SHIPPED_MMD, SHIPPED_TOML, SHIPPED_CATALOGUE):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def test_flow_check_fails_when_a_shown_fact_has_no_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flows = _copy_flows(tmp_path)
    toml = flows / "llm_cost.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(
        text.replace(
            '{ text = "8 x NVIDIA A100 40 GB", source = "ec2-accelerated" }',
            '{ text = "8 x NVIDIA A100 40 GB" }',
        ),
        encoding="utf-8",
    )
    assert main(["--flows-dir", str(flows), "flow", "check"]) == 1
    assert "nodes.P4d.facts.0.source: Field required" in capsys.readouterr().err


def test_flow_check_fails_when_a_flowchart_claim_has_neither_source_nor_caveat(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flows = _copy_flows(tmp_path)
    toml = flows / "llm_cost.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(
        text.replace('claims."40% cost reduction" = { caveat = "no source we could find" }\n', ""),
        encoding="utf-8",
    )
    assert main(["--flows-dir", str(flows), "flow", "check"]) == 1
    err = capsys.readouterr().err
    assert "nodes.P5e.claims: the flowchart says '40% cost reduction' here" in err


def test_flow_check_passes_on_the_shipped_flows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flow", "check"]) == 0
    assert "ok (26 nodes, 9 questions, 30 paths)" in capsys.readouterr().out
