"""Ranges in the JSON and the view, mixture-of-experts sizes, QLoRA memory, honest
comparisons (Capacity Blocks for serving, huge fleets) and bad input to the new flags."""

from __future__ import annotations

import json

import pytest

from bot.__main__ import main
from bot.estimate import InferenceJob, TrainingJob, estimate_inference, estimate_training
from bot.estimate.inference import decode_step_seconds
from bot.estimate.sizes import ModelSize, read_model_size, read_number
from bot.estimate.training import training_state_bytes
from bot.estimate.view import cheaper_alternative, headline
from bot.flow.loader import load_flow

FLOW = load_flow()
WORDS = FLOW.words.estimate
CAT = FLOW.catalogue
assert WORDS is not None


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["estimate", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("70B", ModelSize(70e9)),
        ("1_000B", ModelSize(1e12)),
        ("671B-A37B", ModelSize(671e9, 37e9)),
        ("235b-a22b", ModelSize(235e9, 22e9)),
        ("671B total, 37B active", ModelSize(671e9, 37e9)),
        ("37B active of 671B", ModelSize(671e9, 37e9)),
        ("DeepSeek-V3", ModelSize(671e9, 37e9, "deepseek-v3")),
        ("Mixtral 8x7B", ModelSize(46.7e9, 12.9e9, "mixtral-8x7b")),
        ("8x7B", ModelSize(46.7e9, 12.9e9, "mixtral-8x7b")),
        ("serve qwen3-moe please", ModelSize(235e9, 22e9, "qwen3-235b-a22b")),
        ("gpt-oss-20b", ModelSize(20.9e9, 3.6e9, "gpt-oss-20b")),
    ],
)
def test_model_sizes_as_people_write_them(text: str, size: ModelSize) -> None:
    read = read_model_size(text, CAT.models)
    assert read is not None
    assert (read.params, read.active_params, read.named) == (
        size.params,
        size.active_params,
        size.named,
    )


@pytest.mark.parametrize("text", ["", "big", "37B total, 671B active", "0B"])
def test_no_size_or_an_impossible_one_is_none(text: str) -> None:
    assert read_model_size(text, CAT.models) is None


def test_underscored_digit_groups_read_as_python_writes_them() -> None:
    assert read_number("1_000B") == 1e12
    assert read_number("1_000") is None  # no unit: not a model size


def test_training_json_has_ranges_and_the_training_state(capsys) -> None:
    code, out, _ = run(
        capsys,
        "training",
        "--params",
        "70B",
        "--tokens",
        "2T",
        "--instance",
        "p5.48xlarge",
        "--json",
    )
    assert code == 0
    [option] = json.loads(out)
    for key in ("accelerator_hours", "cost_usd", "wall_clock_hours"):
        low, high = option[f"{key}_range"]
        assert low <= option[key] <= high
        assert high / low <= 2.05
    assert option["training_state_gb"] == pytest.approx(70 * 16 * 1.2)


def test_moe_flags_and_forms_agree_in_the_cli(capsys) -> None:
    base = ("training", "--tokens", "14.8T", "--instance", "p5.48xlarge", "--json")
    outs = []
    for params in (["--params", "671B", "--active-params", "37B"], ["--params", "671B-A37B"]):
        code, out, _ = run(capsys, *base, *params)
        assert code == 0
        outs.append(json.loads(out)[0])
    assert outs[0]["accelerator_hours"] == outs[1]["accelerator_hours"]
    assert outs[0]["assumptions"]["active_params"] == 37e9


@pytest.mark.parametrize(
    "argv",
    [
        ["training", "--params", "70B", "--tokens", "2T", "--instances", "99999999999999999999"],
        ["training", "--params", "70B", "--tokens", "2T", "--instances", "100001"],
        ["training", "--params", "37B", "--active-params", "671B", "--tokens", "2T"],
        ["training", "--params", "671B", "--active-params", "lots", "--tokens", "2T"],
        ["training", "--params", "huge", "--tokens", "2T"],
        ["inference", "--params", "70B", "--active-params=-3B", "--tokens-per-day", "1B"],
    ],
)
def test_bad_input_to_the_new_flags_is_one_line_and_exit_2(capsys, argv: list[str]) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1


def test_1_000b_reads_as_one_trillion(capsys) -> None:
    code, out, _ = run(
        capsys,
        "training",
        "--params",
        "1_000B",
        "--tokens",
        "2T",
        "--instance",
        "p5.48xlarge",
        "--json",
    )
    assert code == 0 and json.loads(out)[0]["assumptions"]["params"] == 1e12


def test_the_headline_says_likely_and_range() -> None:
    estimate = estimate_training(CAT, WORDS, TrainingJob(70e9, 2e12), [["p5.48xlarge"]])
    text = headline(estimate)
    assert "likely $" in text and "(range $" in text


def test_qlora_fits_a_65b_model_on_one_48_gb_gpu() -> None:
    """The QLoRA paper fine-tunes 65B on one 48 GB GPU (arXiv 2305.14314)."""
    need = training_state_bytes(WORDS, TrainingJob(65e9, 1e9, method="qlora"))
    assert need <= 48e9 * WORDS.usable_memory.value
    lora = training_state_bytes(WORDS, TrainingJob(65e9, 1e9, method="lora"))
    assert lora > 2 * need


def test_always_on_serving_on_capacity_blocks_says_they_are_prepaid_and_short() -> None:
    option = estimate_inference(
        CAT, WORDS, InferenceJob(70e9, 1000.0), [["p5e.48xlarge"]]
    ).recommended
    assert any("182 days" in note and "always-on" in note for note in option.notes)


def test_the_cli_prefers_on_demand_for_always_on_serving(capsys) -> None:
    code, out, _ = run(capsys, "inference", "--params", "70B", "--tokens-per-day", "500M", "--json")
    assert code == 0
    assert json.loads(out)[0]["price_basis"] == "on-demand"


def test_a_fleet_beyond_capacity_block_limits_gets_a_note() -> None:
    option = estimate_training(
        CAT, WORDS, TrainingJob(405e9, 15e12), [["p4d.24xlarge"]]
    ).recommended
    assert option.instances > 256
    assert any("quota" in note for note in option.notes)


def test_moe_inference_memory_follows_the_total_and_decode_the_active() -> None:
    """Memory holds all 671B; a decode step at batch 1 streams the 37B active, and a
    large batch touches every expert (min(total, active x batch))."""
    dense_job, moe_job = InferenceJob(671e9, 10.0), InferenceJob(671e9, 10.0, active_params=37e9)
    dense = estimate_inference(CAT, WORDS, dense_job, [["p5en.48xlarge"]]).recommended
    moe = estimate_inference(CAT, WORDS, moe_job, [["p5en.48xlarge"]]).recommended
    assert dense.accelerators_per_replica == moe.accelerators_per_replica  # same memory
    one = decode_step_seconds(CAT, WORDS, moe_job, "p5en.48xlarge", 1)
    assert one * 671 / 37 == pytest.approx(
        decode_step_seconds(CAT, WORDS, dense_job, "p5en.48xlarge", 1)
    )
    assert decode_step_seconds(CAT, WORDS, moe_job, "p5en.48xlarge", 64) == pytest.approx(
        decode_step_seconds(CAT, WORDS, dense_job, "p5en.48xlarge", 64)
    )


def test_prompt_and_generated_tokens_are_costed_apart(capsys) -> None:
    """Prompts are read in parallel (compute bound), so 2,000 prompt + 300 generated
    tokens per request need fewer replicas than 2,300 generated ones, and the JSON says
    how much of a replica's time goes to prompts."""
    base = ("inference", "--params", "70B", "--requests-per-second", "10", "--instance")
    code, out, _ = run(
        capsys, *base, "p5en.48xlarge", "--input-tokens", "2000", "--output-tokens", "300", "--json"
    )
    assert code == 0
    [split] = json.loads(out)
    code, out, _ = run(capsys, *base, "p5en.48xlarge", "--tokens-per-request", "2300", "--json")
    [lumped] = json.loads(out)
    assert split["assumptions"]["prompt_tokens_per_second"] == 20_000
    assert split["assumptions"]["tokens_per_second"] == 3_000
    assert 0 < split["prefill_share"] < 1 and lumped["prefill_share"] is None
    assert split["tokens_per_second_capacity"] >= 3_000
    assert split["monthly_cost_usd"] < lumped["monthly_cost_usd"]


@pytest.mark.parametrize(
    "extra",
    [
        ["--input-tokens", "2000"],
        ["--input-tokens", "2000", "--output-tokens", "-5"],
        ["--input-tokens", "2000", "--output-tokens", "300", "--tokens-per-request", "800"],
        ["--input-tokens", "many", "--output-tokens", "300"],
    ],
)
def test_bad_prompt_and_output_flags_are_one_line_and_exit_2(capsys, extra: list[str]) -> None:
    argv = ["inference", "--params", "70B", "--requests-per-second", "10", *extra]
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1


def test_a_cheaper_option_of_the_same_decision_is_named_in_one_line() -> None:
    """The flowchart's pick stays first; the line names the cheaper one and its saving."""
    groups = [["u-p6e-gb200x72"], ["trn2.48xlarge"], ["p5en.48xlarge"]]
    estimate = estimate_training(CAT, WORDS, TrainingJob(70e9, 2e12), groups)
    line = cheaper_alternative(estimate)
    assert estimate.recommended.instance == "u-p6e-gb200x72"
    cheapest = min(estimate.options, key=lambda o: o.cost)
    saving = 1 - cheapest.cost / estimate.recommended.cost
    assert line.startswith(f"{cheapest.instance} meets this for {saving:.0%} less")
    assert "software maturity or availability" in line
    alone = estimate_training(CAT, WORDS, TrainingJob(70e9, 2e12), [["trn2.48xlarge"]])
    assert cheaper_alternative(alone) is None


def test_serving_never_points_to_a_capacity_block_only_option() -> None:
    """p5e is cheaper per hour than p5en but sold only as prepaid Capacity Blocks."""
    groups = [["p5en.48xlarge"], ["p5e.48xlarge"]]
    estimate = estimate_inference(CAT, WORDS, InferenceJob(70e9, 5000.0), groups)
    assert estimate.options[1].cost < estimate.recommended.cost
    assert cheaper_alternative(estimate) is None
