"""flows/calibration.toml and flows/models.toml: every figure sourced, every run in a
band, every band on a catalogue accelerator; `flow check` fails otherwise."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.flow.calibration import load_calibration, load_models
from bot.flow.errors import FlowError
from bot.flow.loader import flow_from_text
from tests.flow._fixtures import SHIPPED_CATALOGUE, SHIPPED_MMD, SHIPPED_TOML

FLOWS = SHIPPED_CATALOGUE.parent
CALIBRATION = (FLOWS / "calibration.toml").read_text(encoding="utf-8")
MODELS = (FLOWS / "models.toml").read_text(encoding="utf-8")


def test_the_shipped_files_load_with_every_source_dated() -> None:
    cal = load_calibration(CALIBRATION, "calibration.toml")
    models = load_models(MODELS, "models.toml")
    assert len(cal.runs) == 17 and cal.serving_rows
    for source in (*cal.sources.values(), *models.sources.values()):
        assert source.url.startswith("https://") and source.read_on.year >= 2026
    assert models.models["deepseek-v3"].active_params == 37e9


def test_a_run_naming_an_unknown_source_is_refused() -> None:
    broken = CALIBRATION.replace('source = "llama2-card"', 'source = "nowhere"', 1)
    with pytest.raises(FlowError) as caught:
        load_calibration(broken, "calibration.toml")
    assert "runs[4] (Llama 2 7B): unknown source 'nowhere'" in str(caught.value)


def test_a_run_without_gpu_hours_is_refused() -> None:
    broken = CALIBRATION.replace("gpu_hours = 82_432\n", "", 1)
    with pytest.raises(FlowError) as caught:
        load_calibration(broken, "calibration.toml")
    assert "runs.0.gpu_hours: Field required" in str(caught.value)


def test_a_run_in_no_band_is_refused() -> None:
    broken = CALIBRATION.replace(
        'cluster = "a100-hpc"\ngpu_hours = 82_432', 'cluster = "tpu"\ngpu_hours = 82_432'
    )
    with pytest.raises(FlowError) as caught:
        load_calibration(broken, "calibration.toml")
    assert "runs[0] (LLaMA 7B): in no band" in str(caught.value)


def test_a_known_model_with_more_active_than_total_is_refused() -> None:
    broken = MODELS.replace("active_params = 37e9", "active_params = 700e9", 1)
    with pytest.raises(FlowError) as caught:
        load_models(broken, "models.toml")
    assert "models.deepseek-v3: active_params is more than params" in str(caught.value)


def test_a_band_on_an_accelerator_the_catalogue_lacks_is_refused() -> None:
    broken = CALIBRATION.replace(
        'applies_to = ["A100-40GB", "A100-80GB"]', 'applies_to = ["TPUv5"]'
    )
    texts = [p.read_text(encoding="utf-8") for p in (SHIPPED_MMD, SHIPPED_TOML, SHIPPED_CATALOGUE)]
    with pytest.raises(FlowError) as caught:
        flow_from_text("llm_cost", *texts, calibration=broken, models=MODELS)
    assert "bands.a100-aws-efa: unknown accelerator 'TPUv5'" in str(caught.value)


def test_flow_check_fails_on_an_unsourced_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for path in (SHIPPED_MMD, SHIPPED_TOML, SHIPPED_CATALOGUE, FLOWS / "models.toml"):
        shutil.copy(path, tmp_path / path.name)
    broken = CALIBRATION.replace(
        'source = "deepseek-v3-paper"\n\n[[runs]]', 'source = "x"\n\n[[runs]]'
    )
    (tmp_path / "calibration.toml").write_text(broken, encoding="utf-8")
    assert main(["flow", "check", str(tmp_path / SHIPPED_MMD.name)]) == 1
    assert "(DeepSeek-V3): unknown source 'x'" in capsys.readouterr().err


def test_a_vendor_row_must_name_a_known_model_and_an_instance_with_its_accelerator() -> None:
    broken = CALIBRATION.replace(
        'model = "llama-3-70b"  # Llama 3.3 70B\naccelerator = "H200"',
        'model = "llama-3-71b"  # Llama 3.3 70B\naccelerator = "H100"',
        1,
    )
    assert broken != CALIBRATION
    texts = [p.read_text(encoding="utf-8") for p in (SHIPPED_MMD, SHIPPED_TOML, SHIPPED_CATALOGUE)]
    with pytest.raises(FlowError) as caught:
        flow_from_text("llm_cost", *texts, calibration=broken, models=MODELS)
    said = str(caught.value)
    assert "unknown model 'llama-3-71b' (not in models.toml)" in said
    assert "p5en.48xlarge has H200, not 'H100'" in said
