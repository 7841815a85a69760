"""One CPU for a server process, so that its threads hand the GIL over on one core.

The server's threads (waitress's request threads, the outbox's senders, the loop)
give up the GIL at every socket and SQLite call. Spread over several cores, each
hand-over wakes a thread on another core, and the GIL's state and the thread's data
move between caches with it. On the 2-core bench machine the same run costs 2.9 ms of
CPU a step with the threads spread and 2.0 ms with every thread on one core
(bench/README.md). The process is bound by the GIL either way: a second core cannot
run its Python code at the same time.

``SERVER_CPU``: ``auto`` (the default) keeps the process on one CPU where it may use
several: the one it runs on, unless another server on this host has claimed it (each
``auto`` server holds a lock file per CPU, in the temp directory, for its lifetime);
when every CPU is claimed the threads are left to the kernel. ``off`` leaves them to
the kernel; a number names the CPU (no claim: the operator has chosen).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

AUTO = "auto"
OFF = "off"

_claimed: list[int] = []  # descriptors of the CPU claims held for the process's life


class CpuChoiceError(ValueError):
    """``SERVER_CPU`` names a CPU this process may not run on, or pinning is not
    available here; the message says what to set instead."""


@dataclass(frozen=True)
class CpuDecision:
    """Where the server's threads run: ``cpu``, or None when left to the kernel, and
    why, for the log once the server has started; ``failed`` when pinning was tried
    and refused (a warning: the operator may want another setting)."""

    cpu: int | None
    reason: str
    failed: bool = False


def preferred_order(allowed: set[int], current: int | None) -> list[int]:
    """The CPUs ``auto`` tries, in order: the current one (where the kernel has just
    put the process), then the others by number."""
    rest = sorted(allowed - {current})
    return [current, *rest] if current in allowed else rest


def claim_cpu(order: Iterable[int], lock_dir: Path) -> tuple[int, int] | None:
    """The first CPU in ``order`` that no other server on this host holds, and the
    descriptor of its lock file (held until the process ends; the kernel drops it
    then), or None when all are held."""
    for cpu in order:
        fd = _open_claim(lock_dir / f"llm-cost-bot-cpu{cpu}.lock")
        if fd is None:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        return cpu, fd
    return None


def _open_claim(path: Path) -> int | None:
    """A descriptor to lock ``path`` through, made if missing; None when it cannot be
    opened. Read-only, and created only where missing: a file another user's server
    made (in a sticky temp directory, where creating over it is refused) still locks."""
    try:
        return os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        pass
    except OSError:
        return None
    try:
        return os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
    except OSError:
        return None


def current_cpu(stat_path: str = "/proc/thread-self/stat") -> int | None:
    """The CPU the calling thread last ran on (field 39 of its ``stat``), or None."""
    try:
        with open(stat_path, encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()  # the name may hold spaces
        return int(fields[36])  # fields after the name start at field 3
    except (OSError, IndexError, ValueError):
        return None


def pin_threads(
    cpu: int,
    thread_ids: Iterable[int],
    get_affinity: Callable[[int], set[int]],
    set_affinity: Callable[[int, set[int]], None],
) -> None:
    """Keep each of the process's threads on ``cpu`` (threads started later inherit
    their creator's CPUs; a thread that ended meanwhile is skipped). On an error, the
    threads already moved get their CPUs back, so none stays pinned alone."""
    moved: list[tuple[int, set[int]]] = []
    try:
        for tid in thread_ids:
            try:
                before = set(get_affinity(tid))
                set_affinity(tid, {cpu})
            except ProcessLookupError:
                continue
            moved.append((tid, before))
    except OSError:
        for tid, before in reversed(moved):
            with contextlib.suppress(OSError):
                set_affinity(tid, before)
        raise


def _thread_ids() -> list[int]:
    return [int(name) for name in os.listdir("/proc/self/task")]


def keep_server_on_one_cpu(setting: str, lock_dir: Path | None = None) -> CpuDecision:
    """Apply ``SERVER_CPU`` to this process, best done before it starts threads.
    Raises :class:`CpuChoiceError` for a CPU it cannot use."""
    set_affinity = getattr(os, "sched_setaffinity", None)
    get_affinity = getattr(os, "sched_getaffinity", None)
    if set_affinity is None or get_affinity is None or not os.path.isdir("/proc/self/task"):
        if setting not in (AUTO, OFF):
            raise CpuChoiceError(
                f"SERVER_CPU={setting}: this system cannot keep a process on one CPU; "
                "set SERVER_CPU=auto or off"
            )
        return CpuDecision(None, "this system cannot keep a process on one CPU")
    if setting == OFF:
        return CpuDecision(None, "SERVER_CPU=off")
    allowed = set(get_affinity(0))
    claim = None
    if setting == AUTO:
        if len(allowed) < 2:
            return CpuDecision(None, "the process may use one CPU only")
        lock_dir = lock_dir or Path(tempfile.gettempdir())
        claim = claim_cpu(preferred_order(allowed, current_cpu()), lock_dir)
        if claim is None:
            return CpuDecision(None, "another server on this host holds each CPU")
        cpu = claim[0]
    else:
        cpu = int(setting)
        if cpu not in allowed:
            listed = ", ".join(str(c) for c in sorted(allowed))
            raise CpuChoiceError(
                f"SERVER_CPU={cpu}, but this process may run only on CPUs {listed}; "
                "set one of those, or SERVER_CPU=auto"
            )
    try:
        pin_threads(cpu, _thread_ids(), get_affinity, set_affinity)
    except OSError as exc:  # the CPU set changed under us, or not permitted
        if claim is not None:
            os.close(claim[1])
        return CpuDecision(None, f"could not keep them on CPU {cpu} ({exc})", failed=True)
    if claim is not None:
        _claimed.append(claim[1])
    return CpuDecision(cpu, f"SERVER_CPU={setting}")
