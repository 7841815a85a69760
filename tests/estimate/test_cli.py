"""`python -m bot estimate`: the table, the JSON contract, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bot.__main__ import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["estimate", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_training_json_has_one_object_per_option_recommended_first(capsys) -> None:
    code, out, _ = run(capsys, "training", "--params", "70B", "--tokens", "2T", "--json")
    assert code == 0
    options = json.loads(out)
    # five flowchart nodes, then the rows they are compared with (p5, p4de, trn1)
    assert len(options) == 8
    assert options[0]["recommended"] and not any(o["recommended"] for o in options[1:])
    for option in options:
        for key in (
            "instance",
            "accelerators_per_instance",
            "instances",
            "fits",
            "price_per_hour_usd",
            "assumptions",
            "notes",
            "sources",
            "accelerator_hours",
            "instance_hours",
            "wall_clock_hours",
            "cost_usd",
        ):
            assert key in option, key
        assert 0 < option["assumptions"]["mfu"] < 1  # this option's accelerator's MFU
        assert all(url.startswith("https://") for url in option["sources"])
    costs = [o["cost_usd"] for o in options if o["fits"]]
    assert costs[0] == min(costs)  # the CLI has no path: the cheapest that fits leads


def test_one_instance_with_a_count(capsys) -> None:
    code, out, _ = run(
        capsys,
        "training",
        "--params",
        "7B",
        "--tokens",
        "1T",
        "--instance",
        "p4d.24xlarge",
        "--instances",
        "8",
        "--method",
        "lora",
        "--json",
    )
    assert code == 0
    (option,) = json.loads(out)
    assert option["instance"] == "p4d.24xlarge" and option["instances"] == 8
    assert option["assumptions"]["method"] == "lora"
    assert option["wall_clock_hours"] == pytest.approx(option["instance_hours"] / 8, rel=1e-3)


def test_inference_by_requests(capsys) -> None:
    code, out, _ = run(
        capsys,
        "inference",
        "--params",
        "70B",
        "--requests-per-second",
        "40",
        "--tokens-per-request",
        "800",
        "--precision",
        "int4",
        "--instance",
        "inf2.48xlarge",
        "--json",
    )
    assert code == 0
    (option,) = json.loads(out)
    assert option["assumptions"]["tokens_per_second"] == 32_000
    assert option["tokens_per_second_capacity"] >= 32_000
    assert option["monthly_cost_usd"] == pytest.approx(
        option["instances"] * option["price_per_hour_usd"] * 730, rel=1e-3
    )


def test_a_model_that_cannot_fit_is_reported_as_not_fitting(capsys) -> None:
    code, out, _ = run(
        capsys,
        "inference",
        "--params",
        "70B",
        "--tokens-per-day",
        "500M",
        "--instance",
        "c7g.16xlarge",
        "--json",
    )
    assert code == 0
    (option,) = json.loads(out)
    assert option["fits"] is False and option["monthly_cost_usd"] is None


def test_the_table_shows_the_recommended_cost(capsys) -> None:
    code, out, _ = run(capsys, "training", "--params", "70B", "--tokens", "2T")
    assert code == 0
    lines = out.strip().splitlines()
    last = lines[max(i for i, line in enumerate(lines) if line.startswith("Offering ")) :]
    assert any("(recommended)" in line and "$" in line for line in last)


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["training", "--params", "lots", "--tokens", "2T"], "--params: cannot read 'lots'"),
        (["training", "--params", "0", "--tokens", "2T"], "--params: cannot read '0'"),
        (["training", "--params", "-5", "--tokens", "2T"], "--params: cannot read '-5'"),
        (["training", "--params", "7B", "--tokens", "2T", "--instance", "x1"], "unknown instance"),
        (["training", "--params", "7B", "--tokens", "2T", "--method", "magic"], "--method"),
        (["inference", "--params", "7B"], "Give the traffic"),
        (
            ["inference", "--params", "7B", "--tokens-per-day", "1B", "--precision", "fp4"],
            "--precision",
        ),
    ],
)
def test_bad_input_gets_one_line_and_status_2(capsys, argv: list[str], says: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and says in err


def test_a_missing_option_is_one_line_too() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "estimate", "training", "--params", "-5B"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1


def test_an_offering_without_training_figures_is_not_estimated(capsys) -> None:
    code, out, _ = run(
        capsys,
        "training",
        "--params",
        "7B",
        "--tokens",
        "1T",
        "--instance",
        "c7g.16xlarge",
        "--json",
    )
    assert code == 0
    (option,) = json.loads(out)
    assert option["estimable"] is False and option["fits"] is False
    assert option["cost_usd"] is None and "no training figures" in option["notes"][0]
