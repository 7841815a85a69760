"""Issue 19's phrasings in `python -m bot chat`: each ends where the person meant."""

from __future__ import annotations

import io
import sys

import pytest

from bot.__main__ import main


def chat(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *lines: str) -> str:
    monkeypatch.setattr(sys, "stdin", io.StringIO("".join(f"{line}\n" for line in lines)))
    assert main(["chat"]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            ("inference", "our p99 latency budget is 250ms", "cost", "yes", "no cache"),
            ["-> Latency Requirements? Standard 100-500ms", "Recommendation: Amazon Bedrock"],
        ),
        (
            ("inference", "standard", "cost", "no cache", "yes", "no cache"),
            ["That seems to answer a different question", "-> Use Optimization? Yes"],
        ),
        (
            ("we're pre-training a 405B model from scratch", "checkpoints"),
            ["-> Model Size? 100B+ params", "-> Storage Strategy Checkpoints"],
        ),
        (
            ("not training, we just need to serve a 70B model", "80 ms", "high", "kv"),
            ["-> Training or Inference? Inference", "-> Caching? KV Cache"],
        ),
        (
            ("real-time voice assistant for millions of users", "none"),
            ["-> Scale? High", "you mentioned “real-time”", "-> Caching? No Cache"],
        ),
        (
            ("inference", "latency doesn't really matter", "throughput", "none"),
            ["most relaxed band", "-> Optimize for? Throughput"],
        ),
        (
            ("inference", "sub-second is fine", "throughput", "none"),
            ["A target of under 1 s is looser", "-> Optimize for? Throughput"],
        ),
        (
            ("no idea, just exploring", "training", "7B", "cost is secondary", "archive"),
            ["No problem.", "You said no to *Cost*, so I took *Performance*"],
        ),
        (
            ("fine-tune a 7B on a budget", "checkpoints"),
            ["-> Cost Priority? Cost", "p4d.24xlarge"],
        ),
    ],
)
def test_phrasings_end_where_the_person_meant(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    lines: tuple[str, ...],
    expected: list[str],
) -> None:
    out = chat(monkeypatch, capsys, *lines)
    for text in expected:
        assert text in out, out


def test_estimate_follow_ups_route_tokens_and_take_everything(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = chat(monkeypatch, capsys, "training", "10-100B", "active", "estimate", "2T tokens", "70B")
    assert "I noted 2T training tokens" in out
    assert "How many tokens will the run train on?" not in out
    assert "p5en.48xlarge (recommended)" in out
    out = chat(monkeypatch, capsys, "training", "10-100B", "active", "estimate", "70B on 2T tokens")
    assert "How many tokens will the run train on?" not in out
    assert "p5en.48xlarge (recommended)" in out


def test_absurd_amounts_name_the_range(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = chat(
        monkeypatch,
        capsys,
        "training",
        "10-100B",
        "active",
        "estimate",
        "1e99T tokens",
        "1" * 400 + "B",
        "70B on 2T tokens",
    )
    assert out.count("beyond what I can plan for") == 2
    assert "p5en.48xlarge (recommended)" in out


def test_absurd_traffic_names_the_range(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = chat(
        monkeypatch,
        capsys,
        "inference",
        "80 ms",
        "high",
        "kv",
        "estimate",
        "8B",
        "1e99 tokens a day",
        "500M tokens a day",
    )
    assert "beyond what I can plan for: give between 0.001 and 1B tokens per second" in out
    assert "(recommended)" in out


def test_an_amount_stored_before_bounds_is_asked_again() -> None:
    from bot.estimate.dialog import EstimateInputs, still_needed

    stored = EstimateInputs(kind="training", params=float("inf"), tokens=2e12)
    assert still_needed(stored) == "params"
    stored = EstimateInputs(kind="training", params=7e10, tokens=1e111)
    assert still_needed(stored) == "tokens"
