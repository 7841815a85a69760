"""Serving sized from a model's shape: the KV cache per sequence, the batch it allows,
the time each step spends reading it, and the vLLM settings that agree with it all."""

from __future__ import annotations

import json

import pytest

from bot.__main__ import main
from bot.estimate import InferenceJob, estimate_inference
from bot.estimate.sizes import read_model_size
from bot.flow.loader import load_flow

FLOW = load_flow()
WORDS = FLOW.words.estimate
CAT = FLOW.catalogue
assert WORDS is not None
LLAMA_70B = read_model_size("Llama 3 70B", CAT.models)
assert LLAMA_70B is not None and LLAMA_70B.shape is not None


def serve(context: int | None, instance: str = "p5en.48xlarge", **kw):
    job = InferenceJob(
        LLAMA_70B.params,
        2_000.0,
        kv_values_per_token=LLAMA_70B.shape.values_per_token,
        context_tokens=context,
        **kw,
    )
    return estimate_inference(CAT, WORDS, job, [[instance]]).recommended


def test_kv_values_per_token_follow_the_published_configs() -> None:
    """Llama 3 70B: 80 layers × 2 × 8 KV heads × 128 = 163,840 values (320 KiB in
    BF16); DeepSeek-V3's latent attention: 61 layers × 576 = 35,136."""
    assert LLAMA_70B.shape.values_per_token == 163_840
    deepseek = read_model_size("DeepSeek-V3", CAT.models)
    assert deepseek.shape.values_per_token == 35_136


def test_the_batch_is_capped_by_the_sequences_whose_cache_fits() -> None:
    short, long = serve(8_192), serve(128_000)
    usable = 141e9 * WORDS.usable_memory.value * short.accelerators_per_replica
    per_sequence = 163_840 * 2 * 8_192
    assert short.kv_cache_sequences == int((usable - LLAMA_70B.params * 2) // per_sequence)
    # the replica size with the most tokens/s per GPU: its batch reaches the cap of 64
    assert short.batch == WORDS.max_batch.value <= short.kv_cache_sequences
    assert long.batch <= long.kv_cache_sequences < 2 * long.batch  # the cache caps it
    assert long.batch < short.batch
    assert long.monthly_cost_usd > short.monthly_cost_usd


def test_without_a_context_the_headroom_rule_stays() -> None:
    option = serve(None)
    assert option.kv_cache_sequences is None and option.batch == WORDS.max_batch.value


def test_the_vllm_settings_agree_with_the_estimate() -> None:
    option = serve(8_192, precision="fp8")
    config = option.serving_config
    assert config is not None and config.engine == "vLLM"
    assert config.tensor_parallel_size == option.accelerators_per_replica
    assert config.pipeline_parallel_size == 1
    assert config.max_num_seqs == option.batch <= option.kv_cache_sequences
    assert config.gpu_memory_utilization == WORDS.usable_memory.value
    assert (config.kv_cache_dtype, config.quantization, config.max_model_len) == (
        "fp8",
        "fp8",
        8_192,
    )
    assert f"--tensor-parallel-size {option.accelerators_per_replica} " in config.flags()
    assert f"--max-num-seqs {option.batch}" in config.flags()


def test_inferentia_gets_no_vllm_settings() -> None:
    assert serve(8_192, instance="inf2.48xlarge").serving_config is None


def test_the_cli_gives_the_serving_config_for_a_named_model(capsys) -> None:
    code = main(
        [
            "estimate", "inference", "--params", "Llama 3 70B", "--requests-per-second", "5",
            "--input-tokens", "3000", "--output-tokens", "500", "--instance", "p5.48xlarge",
            "--json",
        ]
    )  # fmt: skip
    out, _ = capsys.readouterr()
    assert code == 0
    [option] = json.loads(out)
    assert option["serving_config"]["max_model_len"] == 3_500
    assert option["serving_config"]["max_num_seqs"] == option["batch"]
    assert option["assumptions"]["kv_values_per_token"] == 163_840


@pytest.mark.parametrize("context", ["lots", "-5", "1.5"])
def test_a_bad_context_is_one_line_and_exit_2(capsys, context: str) -> None:
    argv = ["estimate", "inference", "--params", "70B", "--tokens-per-day", "1B"]
    code = main([*argv, f"--context={context}"])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
