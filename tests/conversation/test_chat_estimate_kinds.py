"""Issue 16 in `python -m bot chat`: mixture-of-experts sizes, prompt and generated
tokens, the serving configuration and the cheaper option, typed as people type them."""

from __future__ import annotations

import pytest

from tests.conversation.test_chat_phrasings import chat

TRAINING = ("training", "100B+", "active", "estimate")
SERVING = ("inference", "80 ms", "high", "kv", "estimate")


@pytest.mark.parametrize("size", ["671B-A37B", "671B total, 37B active", "DeepSeek-V3"])
def test_a_mixture_of_experts_size_says_which_count_is_which(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], size: str
) -> None:
    out = chat(monkeypatch, capsys, *TRAINING, size, "14.8T tokens")
    assert "mixture-of-experts model (671B parameters, 37B active)" in out
    assert "6 × N_active × D" in out


def test_a_dense_size_after_a_mixture_of_experts_one_is_dense(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = chat(monkeypatch, capsys, *TRAINING, "DeepSeek-V3 on 14.8T tokens")
    assert "How many tokens will the run train on?" not in out
    assert "37B active" in out


def test_prompt_and_generated_tokens_and_the_serving_configuration(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = chat(
        monkeypatch, capsys, *SERVING, "Llama 3 70B", "40 requests/s, 2,000 tokens in, 300 out"
    )
    assert "Serving configuration: vLLM on" in out
    assert "--max-model-len 2300" in out


def test_the_cheaper_option_is_named_beside_the_flowcharts_pick(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = chat(monkeypatch, capsys, "training", "70B", "active", "estimate", "2T tokens")
    assert "meets this for" in out and "less" in out


def test_the_throughput_path_compares_the_gpu_instances_teams_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = chat(
        monkeypatch, capsys, "inference", "standard", "throughput", "no cache", "estimate",
        "8B", "500M tokens a day",
    )  # fmt: skip
    table = out[out.index("Offering ") :]
    first, *rows = [line for line in table.splitlines()[2:] if line.strip()]
    assert first.startswith("inf2.") and "(recommended)" in first
    assert any(r.startswith("g6.xlarge ") and "on-demand" in r for r in rows)
    assert any(r.startswith("g6e.12xlarge ") for r in rows)


def test_the_cost_path_for_training_shows_p5_trn1_and_the_p4d_capacity_block(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = chat(monkeypatch, capsys, "training", "1-10B", "cost", "checkpoints", "estimate",
               "7B", "1T tokens")  # fmt: skip
    table = out[out.index("Offering ") :]
    first, *rows = [line for line in table.splitlines()[2:] if line.strip()]
    assert first.startswith("p4d.24xlarge (recommended)") and "as a Capacity Block" in first
    for name in ("p5.48xlarge", "p4de.24xlarge", "trn1.32xlarge"):
        assert any(r.startswith(name + " ") for r in rows), name
