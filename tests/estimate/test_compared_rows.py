"""Issue 16: the instances teams actually run (P5, P4de, G5, G6, G6e, Trn1, the P4d
Capacity Block) are compared on the flowchart paths whose need they meet, as the words
file says (`compare` on a node), with the flowchart's pick kept first."""

from __future__ import annotations

import json

import pytest

from bot.__main__ import main
from bot.estimate.dialog import EstimateInputs, compute
from bot.flow.catalogue import load_catalogue
from bot.flow.errors import FlowError
from bot.flow.loader import load_flow
from bot.flow.mermaid import parse_mermaid
from bot.flow.words import check_words, load_words
from tests.flow._fixtures import SHIPPED_CATALOGUE, SHIPPED_MMD, SHIPPED_TOML

FLOW = load_flow()
NEW_ROWS = [
    "p5.48xlarge",
    "p4de.24xlarge",
    "g6e.12xlarge",
    "g6e.48xlarge",
    "g5.xlarge",
    "g6.xlarge",
    "trn1.32xlarge",
]


def names(kind: str, first: str | None) -> list[str]:
    return [n for _, group in FLOW.estimate_groups(kind, first) for n in group]  # type: ignore[arg-type]


def test_every_new_instance_is_compared_on_some_flowchart_path() -> None:
    shown = {
        name
        for node_id, details in FLOW.words.nodes.items()
        if details.estimate
        for name in names(details.estimate, node_id)
    }
    assert set(NEW_ROWS) <= shown


@pytest.mark.parametrize(
    ("node", "kind", "expected"),
    [
        ("P4d", "training", ["p5.48xlarge", "p4de.24xlarge", "trn1.32xlarge"]),
        ("P5en", "training", ["p5.48xlarge", "p4de.24xlarge", "trn1.32xlarge"]),
        ("Inf2", "inference", ["g6e.12xlarge", "g6.xlarge", "g5.xlarge", "trn1.32xlarge"]),
        ("P5eInf", "inference", ["p5en.48xlarge", "p5.48xlarge", "g6e.12xlarge"]),
        ("C7g", "inference", ["g6.xlarge", "g5.xlarge"]),
    ],
)
def test_a_path_compares_its_need_after_the_pick(node: str, kind: str, expected: list) -> None:
    groups = FLOW.estimate_groups(kind, node)  # type: ignore[arg-type]
    assert groups[0] == (node, FLOW.words.nodes[node].instances)
    compared = [g for n, g in groups if n.startswith("compare:")]
    for name in expected:
        assert any(name in g for g in compared), name
    families = [FLOW.catalogue.instances[g[0]].family for g in compared]
    assert len(families) == len(set(families))  # one row per family: its cheapest that fits
    listed = names(kind, node)
    assert len(listed) == len(set(listed))  # nothing twice


def test_training_on_gpus_leaves_out_the_rows_with_no_training_band() -> None:
    assert not {"g5.xlarge", "g6.xlarge", "g6e.48xlarge"} & set(names("training", "P4d"))


def test_the_p4d_path_shows_the_new_rows_and_the_p4d_capacity_block() -> None:
    inputs = EstimateInputs(kind="training", params=7e9, tokens=1e12)
    estimate = compute(FLOW, inputs, "P4d")
    assert estimate is not None
    pick, *rest = estimate.options
    assert pick.recommended and pick.instance == "p4d.24xlarge"
    assert pick.capacity_block_cost_usd is not None
    assert pick.capacity_block_cost_usd < (pick.cost_usd or 0)  # $11.80 against $21.96 per hour
    by_name = {o.instance: o for o in rest}
    for name in ("p5.48xlarge", "p4de.24xlarge", "trn1.32xlarge"):
        assert by_name[name].fits and by_name[name].cost_usd, name


def test_the_inference_path_sizes_each_gpu_family_on_its_cheapest_size() -> None:
    inputs = EstimateInputs(kind="inference", params=8e9, tokens_per_second=5_787)
    estimate = compute(FLOW, inputs, "Inf2")
    assert estimate is not None
    assert estimate.options[0].instance.startswith("inf2.")
    by_family = {FLOW.catalogue.instances[o.instance].family: o for o in estimate.options}
    assert by_family["G6"].instance == "g6.xlarge"  # 16 GB of BF16 weights fit one L4
    assert by_family["G6e"].fits and by_family["P5"].fits


def test_the_command_line_compares_the_new_rows_too() -> None:
    assert set(NEW_ROWS) - {"g6e.48xlarge"} <= set(names("inference", None)) | set(
        names("training", None)
    )


@pytest.mark.parametrize("instance", NEW_ROWS)
def test_each_new_instance_is_estimated_on_the_command_line(
    capsys: pytest.CaptureFixture[str], instance: str
) -> None:
    kind = "training" if instance.startswith(("p", "trn")) else "inference"
    args = ["--params", "8B"]
    args += ["--tokens", "100B"] if kind == "training" else ["--tokens-per-day", "100M"]
    assert main(["estimate", kind, *args, "--instance", instance, "--json"]) == 0
    options = [o for o in json.loads(capsys.readouterr().out) if o["kind"] == "self-hosted"]
    (option,) = options
    assert option["instance"] == instance and option["fits"]
    assert option["price_per_hour_usd"] > 0 and option["sources"]


def test_a_compared_row_must_be_in_the_catalogue() -> None:
    toml = SHIPPED_TOML.read_text(encoding="utf-8").replace(
        'compare = ["g6.xlarge"', 'compare = ["g7.xlarge", "g6.xlarge"', 1
    )
    words = load_words(toml, "words.toml")
    catalogue = load_catalogue(SHIPPED_CATALOGUE.read_text(encoding="utf-8"), "offerings.toml")
    graph = parse_mermaid(SHIPPED_MMD.read_text(encoding="utf-8"), "llm_cost.mmd")
    with pytest.raises(FlowError) as caught:
        check_words(words, graph, "words.toml", catalogue)
    assert "nodes.C7g.compare: unknown instance 'g7.xlarge'" in str(caught.value)


def test_a_price_no_second_source_confirms_is_said_beside_the_estimate() -> None:
    inputs = EstimateInputs(kind="training", params=7e9, tokens=1e12)
    estimate = compute(FLOW, inputs, "P4d")
    assert estimate is not None
    (note,) = [n for n in estimate.options[0].notes if "not confirmed" in n]
    assert note.startswith("Capacity Block price $11.80/h not confirmed:") and "$14.75" in note
    p5 = next(o for o in estimate.options if o.instance == "p5.48xlarge")
    assert not any("not confirmed" in n for n in p5.notes)
