"""SERVER_CPU: which CPU a server keeps its threads on, and that every thread moves."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from bot.cli.cpu import (
    Claims,
    ClaimsUnavailable,
    allowed_cpus,
    claim_cpu,
    current_cpu,
    pin_threads,
    preferred_order,
)

ROOT = Path(__file__).resolve().parents[2]


needs_two_cpus = pytest.mark.skipif(
    not sys.platform.startswith("linux") or len(allowed_cpus()) < 2,
    reason="needs Linux and a process allowed on two CPUs or more",
)


def run_python(script: str) -> subprocess.CompletedProcess[str]:
    """In a process of its own: the test runner's CPUs are never touched."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_auto_tries_the_current_cpu_first_then_the_others_by_number() -> None:
    assert preferred_order({0, 1, 2, 3}, current=2) == [2, 0, 1, 3]
    assert preferred_order({4, 5}, current=None) == [4, 5]
    assert preferred_order({4, 5}, current=0) == [4, 5]  # not in this process's set


def test_a_cpu_another_server_holds_is_skipped_and_none_is_left_when_all_are(
    tmp_path: Path,
) -> None:
    first = claim_cpu([1, 0], tmp_path)
    assert first.cpu == 1 and first.fd is not None
    try:
        second = claim_cpu([1, 0], tmp_path)  # another server starting on the same CPU
        assert second.cpu == 0 and second.fd is not None
        try:
            assert claim_cpu([1, 0], tmp_path) == Claims(None, None)
        finally:
            os.close(second.fd)
        third = claim_cpu([1, 0], tmp_path)  # a server that stopped let its CPU go
        assert third.cpu == 0 and third.fd is not None
        os.close(third.fd)
    finally:
        os.close(first.fd)


def test_where_no_lock_can_be_taken_the_claims_say_so_rather_than_held(
    tmp_path: Path,
) -> None:
    with pytest.raises(ClaimsUnavailable, match="cannot open"):
        claim_cpu([0, 1], tmp_path / "no-such-directory")


def test_a_claim_file_is_not_followed_through_a_link(tmp_path: Path) -> None:
    (tmp_path / "llm-cost-bot-cpu2.lock").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ClaimsUnavailable):
        claim_cpu([2], tmp_path)
    assert not (tmp_path / "elsewhere").exists()


def _can_be_nobody() -> bool:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        return False
    return True


@pytest.mark.skipif(not _can_be_nobody(), reason="needs root, to claim as another user")
def test_another_users_claim_file_still_claims_whatever_umask_made_it() -> None:
    """A server of one user (root here, under umask 077) made the files and stopped; a
    server of another user (nobody) can still claim those CPUs, and one held by the
    first user's running server stays held for it."""
    shared = Path(tempfile.mkdtemp(dir="/tmp"))  # a /tmp of its own: pytest's is root's only
    shared.chmod(0o1777)
    old = os.umask(0o077)
    try:
        made = claim_cpu([3], shared)  # made under umask 077, then let go
        assert made.fd is not None
        os.close(made.fd)
        held = claim_cpu([4], shared)  # made and still held
    finally:
        os.umask(old)
    try:
        nobody = pwd.getpwnam("nobody")
        done = run_python(
            f"""
            import json, os
            from pathlib import Path
            from bot.cli.cpu import claim_cpu
            os.setgroups([])
            os.setgid({nobody.pw_gid})
            os.setuid({nobody.pw_uid})  # the code is loaded: from here on, another user
            got = claim_cpu([4, 3], Path({str(shared)!r}))
            print(json.dumps([os.getuid(), got.cpu, [str(p) for p in got.unreadable]]))
            """
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == [nobody.pw_uid, 3, []]
    finally:
        assert held.fd is not None
        os.close(held.fd)
        shutil.rmtree(shared)


def test_every_thread_is_moved_and_one_that_ended_is_skipped() -> None:
    cpus = {10: {0, 1}, 11: {0, 1}, 12: {0, 1}}

    def set_affinity(tid: int, wanted: set[int]) -> None:
        if tid == 13:
            raise ProcessLookupError(tid)  # ended between the listing and the call
        cpus[tid] = wanted

    pin_threads(1, [10, 11, 13, 12], lambda tid: cpus.get(tid, {0, 1}), set_affinity)
    assert cpus == {10: {1}, 11: {1}, 12: {1}}


def test_a_refusal_half_way_gives_the_moved_threads_their_cpus_back() -> None:
    cpus = {10: {0, 1}, 11: {0, 1}, 12: {0, 1}}

    def set_affinity(tid: int, wanted: set[int]) -> None:
        if tid == 12 and wanted == {1}:
            raise OSError(22, "Invalid argument")
        cpus[tid] = wanted

    with pytest.raises(OSError):
        pin_threads(1, [10, 11, 12], lambda tid: cpus[tid], set_affinity)
    assert cpus == {10: {0, 1}, 11: {0, 1}, 12: {0, 1}}  # none stays pinned alone


def test_the_current_cpu_is_read_past_a_name_with_spaces_and_parentheses(
    tmp_path: Path,
) -> None:
    stat = tmp_path / "stat"
    fields = ["S"] + ["0"] * 35 + ["5"] + ["0"] * 10  # field 39 is the 37th after the name
    stat.write_text(f"4242 (bot (run) x) {' '.join(fields)}\n", encoding="ascii")
    assert current_cpu(str(stat)) == 5
    assert current_cpu(str(tmp_path / "missing")) is None


@needs_two_cpus
def test_the_current_cpu_is_the_one_the_kernel_runs_the_thread_on() -> None:
    cpu = max(allowed_cpus())
    done = run_python(
        f"""
        import os
        from bot.cli.cpu import current_cpu
        os.sched_setaffinity(0, {{{cpu}}})
        print(current_cpu())
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(cpu)


@needs_two_cpus
def test_a_thread_started_before_and_one_started_after_both_stay_on_the_cpu(
    tmp_path: Path,
) -> None:
    """Threads running before the call are moved; threads started afterwards inherit."""
    cpu = max(allowed_cpus())
    done = run_python(
        f"""
        import json, os, threading
        from pathlib import Path
        from bot.cli.cpu import keep_server_on_one_cpu
        started, stop = threading.Event(), threading.Event()
        def wait():
            started.set()
            stop.wait()
        before = threading.Thread(target=wait)
        before.start()
        started.wait()
        decision = keep_server_on_one_cpu({cpu}, Path({str(tmp_path)!r}))
        seen = {{}}
        def look():
            seen["after"] = os.sched_getaffinity(threading.get_native_id())
        after = threading.Thread(target=look)
        after.start()
        after.join()
        mine = os.sched_getaffinity(0)
        print(json.dumps([decision.cpu, sorted(os.sched_getaffinity(before.native_id)),
                          sorted(seen["after"]), sorted(mine)]))
        stop.set()
        """
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [cpu, [cpu], [cpu], [cpu]]


@needs_two_cpus
def test_two_auto_servers_started_on_one_cpu_take_different_cpus(tmp_path: Path) -> None:
    """Both start on the same CPU (as processes started together tend to); the second
    finds the first's claim and takes the other (which one the first takes depends on
    where the kernel runs it as it decides). A third finds both claimed and leaves its
    threads to the kernel."""
    pair = sorted(allowed_cpus())[:2]
    script = f"""
        import json, os, sys
        from pathlib import Path
        from bot.cli.cpu import keep_server_on_one_cpu
        os.sched_setaffinity(0, {{{pair[0]}}})  # started on the first CPU,
        os.sched_setaffinity(0, {set(pair)!r})  # allowed on both
        decision = keep_server_on_one_cpu("auto", Path({str(tmp_path)!r}))
        print(json.dumps([decision.cpu, decision.reason]), flush=True)
        sys.stdin.read()  # hold the claim until told to stop
        """
    servers: list[subprocess.Popen[str]] = []
    decisions = []
    try:
        for _ in range(3):
            server = subprocess.Popen(
                [sys.executable, "-c", textwrap.dedent(script)],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            servers.append(server)
            assert server.stdout is not None
            line = server.stdout.readline()  # its decision, once made (the claim is held)
            assert line, "the server process printed nothing"
            decisions.append(json.loads(line))
        assert sorted([decisions[0][0], decisions[1][0]]) == pair
        assert decisions[2] == [None, f"other servers sharing {tmp_path} hold each CPU"]
        # A CPU named by number is kept even when claimed, and the log says so.
        named = run_python(script.replace('"auto"', str(pair[0])).replace("sys.stdin.read()", ""))
        assert named.returncode == 0, named.stderr
        cpu, reason = json.loads(named.stdout)
        assert cpu == pair[0] and "has claimed it too" in reason
    finally:
        for server in servers:
            server.communicate("", timeout=60)


@needs_two_cpus
def test_where_claims_cannot_be_taken_auto_still_keeps_one_cpu_and_warns(
    tmp_path: Path,
) -> None:
    done = run_python(
        f"""
        import json, os
        from pathlib import Path
        from bot.cli.cpu import keep_server_on_one_cpu
        decision = keep_server_on_one_cpu("auto", Path({str(tmp_path / "missing")!r}))
        print(json.dumps([decision.cpu, decision.reason, decision.warning,
                          sorted(os.sched_getaffinity(0))]))
        """
    )
    assert done.returncode == 0, done.stderr
    cpu, reason, warning, mine = json.loads(done.stdout)
    assert cpu is not None and mine == [cpu] and warning
    assert "unclaimed" in reason and "may share it" in reason
