"""`python -m bot flow check`: exit 0 on good flows, 1 with `path:line` errors on stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.__main__ import main
from tests.flow._fixtures import FIXTURES, ROOT, SHIPPED_MMD


def test_shipped_flows_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flow", "check"]) == 0
    out, err = capsys.readouterr()
    assert f"{SHIPPED_MMD}: ok (26 nodes, 9 questions," in out
    assert err == ""


def test_named_good_fixture_passes(capsys: pytest.CaptureFixture[str]) -> None:
    mmd = FIXTURES / "words.mmd"
    assert main(["flow", "check", str(mmd)]) == 0
    assert f"{mmd}: ok (5 nodes, 1 questions, 3 paths)" in capsys.readouterr().out


def test_broken_fixture_fails_with_location(capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = FIXTURES / "words.mmd", FIXTURES / "cli_broken.mmd"
    assert main(["flow", "check", str(good), str(bad)]) == 1
    out, err = capsys.readouterr()
    assert f"{good}: ok" in out  # the good one is still checked
    assert err.startswith(f"{bad}:3:9: expected an arrow")


def test_words_errors_fail_too(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "w.mmd").write_text((FIXTURES / "words.mmd").read_text())
    (tmp_path / "w.toml").write_text((FIXTURES / "words_unknown_option.toml").read_text())
    assert main(["flow", "check", str(tmp_path / "w.mmd")]) == 1
    assert f"{tmp_path / 'w.toml'}: decisions.Size.options.'Medium size'" in capsys.readouterr().err


def test_validation_errors_list_every_line(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "m.mmd").write_text((FIXTURES / "invalid_many.mmd").read_text())
    (tmp_path / "m.toml").write_text((FIXTURES / "words.toml").read_text())
    assert main(["flow", "check", str(tmp_path / "m.mmd")]) == 1
    err = capsys.readouterr().err
    assert [line.split(": ")[0] for line in err.splitlines()] == [
        f"{tmp_path / 'm.mmd'}:7",
        f"{tmp_path / 'm.mmd'}:4",
        f"{tmp_path / 'm.mmd'}:6",
    ]


def test_subprocess_exit_codes() -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "bot", "flow", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert "llm_cost.mmd: ok" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "bot", "flow", "check", "tests/flow/fixtures/cli_broken.mmd"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1
    assert bad.stderr.startswith("tests/flow/fixtures/cli_broken.mmd:3:9: expected ")


def test_check_without_a_words_file_still_checks_the_flowchart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:

    mmd = tmp_path / "lonely.mmd"
    mmd.write_text("flowchart TD\nA --> B\nC --> B\n")
    assert main(["flow", "check", str(mmd)]) == 1
    err = capsys.readouterr().err
    assert "exactly one start node" in err
    assert "lonely.toml: missing" in err
