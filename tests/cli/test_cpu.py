"""SERVER_CPU: which CPU a server keeps its threads on, and that every thread moves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.cli.cpu import CpuChoiceError, choose_cpu, current_cpu, pin_threads

ROOT = Path(__file__).resolve().parents[2]


def test_auto_keeps_the_cpu_the_process_runs_on() -> None:
    assert choose_cpu("auto", {0, 1, 2, 3}, current=2) == 2


def test_auto_takes_the_first_allowed_cpu_when_the_current_one_is_unknown() -> None:
    assert choose_cpu("auto", {4, 5}, current=None) == 4
    assert choose_cpu("auto", {4, 5}, current=0) == 4  # not in this process's set


def test_auto_does_nothing_on_a_single_cpu() -> None:
    assert choose_cpu("auto", {3}, current=3) is None
    assert choose_cpu("auto", set(), current=None) is None


def test_off_leaves_the_threads_to_the_kernel() -> None:
    assert choose_cpu("off", {0, 1}, current=1) is None


def test_a_number_names_the_cpu() -> None:
    assert choose_cpu("1", {0, 1}, current=0) == 1


def test_a_cpu_the_process_may_not_use_is_refused_with_what_to_set() -> None:
    with pytest.raises(CpuChoiceError) as refused:
        choose_cpu("7", {0, 1}, current=0)
    assert "SERVER_CPU=7" in str(refused.value)
    assert "CPUs 0, 1" in str(refused.value)
    assert "SERVER_CPU=auto" in str(refused.value)


def test_every_thread_is_moved_and_one_that_ended_is_skipped() -> None:
    moved: dict[int, set[int]] = {}

    def set_affinity(tid: int, cpus: set[int]) -> None:
        if tid == 13:
            raise ProcessLookupError(tid)  # ended between the listing and the call
        moved[tid] = cpus

    assert pin_threads(1, [10, 11, 13, 12], set_affinity) == 3
    assert moved == {10: {1}, 11: {1}, 12: {1}}


def test_the_current_cpu_is_read_past_a_name_with_spaces_and_parentheses(
    tmp_path: Path,
) -> None:
    stat = tmp_path / "stat"
    fields = ["S"] + ["0"] * 35 + ["5"] + ["0"] * 10  # field 39 is the 37th after the name
    stat.write_text(f"4242 (bot (run) x) {' '.join(fields)}\n", encoding="ascii")
    assert current_cpu(str(stat)) == 5
    assert current_cpu(str(tmp_path / "missing")) is None


def _allowed_cpus() -> set[int]:
    return set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else set()


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or len(_allowed_cpus()) < 2,
    reason="needs Linux and a process allowed on two CPUs or more",
)
def test_a_thread_started_before_and_one_started_after_both_stay_on_the_cpu() -> None:
    """In a process of its own (never the test runner's): threads running before the
    call are moved, and threads started afterwards inherit the CPU."""
    cpu = max(_allowed_cpus())
    script = textwrap.dedent(
        f"""
        import json, os, threading
        from bot.cli.cpu import keep_server_on_one_cpu
        started, stop = threading.Event(), threading.Event()
        def wait():
            started.set()
            stop.wait()
        before = threading.Thread(target=wait)
        before.start()
        started.wait()
        assert keep_server_on_one_cpu("{cpu}") == {cpu}
        seen = {{}}
        def look():
            seen["after"] = os.sched_getaffinity(threading.get_native_id())
        after = threading.Thread(target=look)
        after.start()
        after.join()
        mine = os.sched_getaffinity(0)
        print(json.dumps([sorted(os.sched_getaffinity(before.native_id)),
                          sorted(seen["after"]), sorted(mine)]))
        stop.set()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [[cpu], [cpu], [cpu]]
