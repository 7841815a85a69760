"""The command line: piped chat, flow paths, the help text."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_piped_chat_prints_the_recommendation_and_exits_0() -> None:
    done = run("chat", stdin="training\n70B\nactive\n")
    assert done.returncode == 0, done.stderr
    assert "P5en" in done.stdout
    assert "EBS gp3" in done.stdout
    assert "p5en.48xlarge" in done.stdout
    assert "2026-09-19" in done.stdout


def test_chat_handles_commands_and_reprompts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    monkeypatch.setattr(
        sys,
        "stdin",
        io.StringIO(
            "help\nbanana\ninference\nback\ntraining\n7B\nrestart\ninference\n80ms\nmedium\n"
            "kv cache\n"
        ),
    )
    assert main(["chat"]) == 0
    out = capsys.readouterr().out
    assert "I could not match that" in out
    assert "Starting over." in out
    assert "P5e Inference" in out
    assert "ElastiCache" in out
    assert "10x lower latency" in out  # the flowchart's words, with the caveat beside them
    assert "10x lower latency (that is AWS's Inf2-versus-Inf1 claim" in out


def test_chat_that_runs_out_of_input_exits_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("training\n"))
    assert main(["chat"]) == 1
    assert "Input ended" in capsys.readouterr().out


def test_chat_cancel_exits_0(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("cancel\n"))
    assert main(["chat"]) == 0
    assert "Cancelled" in capsys.readouterr().out


def test_no_arguments_explains_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "python -m bot chat" in out and "python -m bot run" in out


def test_unknown_flow_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flow", "paths", "nope"]) == 1
    assert "nope.mmd: cannot read the file" in capsys.readouterr().err


def test_piped_chat_estimates_the_cost_after_the_result() -> None:
    done = run("chat", stdin="training\n70B\nactive\nestimate\n2T tokens\n")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.rstrip().splitlines()
    # It ends with the table: the header, a rule, the recommended row with its cost per run.
    at = max(i for i, line in enumerate(lines) if line.startswith("Offering "))
    header, recommended = lines[at], lines[at + 2]
    assert header.split()[:2] == ["Offering", "Instances"] and "Cost per run" in header
    assert recommended.startswith("p5en.48xlarge (recommended)")
    assert "$" in recommended and "on-demand" in recommended
    # 70B was kept from the answer, so only the tokens were asked for.
    assert "How many parameters" not in done.stdout
    assert "How many tokens will the run train on?" in done.stdout


def test_chat_estimate_reprompts_an_unreadable_reply(monkeypatch, capsys) -> None:
    import io

    monkeypatch.setattr(
        sys,
        "stdin",
        io.StringIO(
            "inference\n80 ms\nmedium\nno cache\nestimate\n"
            "big\n13B\nlots of traffic\n2M tokens a day\n"
        ),
    )
    assert main(["chat"]) == 0
    out = capsys.readouterr().out
    assert "I could not read a model size there" in out
    assert "I could not read a traffic rate there" in out
    assert "serving a 13B-parameter model at bf16" in out


def test_chat_jumps_back_to_a_question_even_after_the_result() -> None:
    done = run(
        "chat",
        stdin="training\n70B\nactive\nchange 2\n7B\nperformance\nchange 9\ncheckpoints\n",
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Recommendation: p5en.48xlarge + EBS gp3 volumes" in out
    assert "Back to question 2." in out
    assert "There is no answer 9 to change" in out
    assert out.rstrip().splitlines()[-1].startswith("Type `estimate`")
    assert "Recommendation: p5e.48xlarge + S3 Standard with lifecycle rules" in out
    assert out.count("(Question 2 of up to 4)") == 2  # asked again, with its progress
