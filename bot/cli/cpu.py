"""One CPU for a server process, so that its threads hand the GIL over on one core.

The server's threads (waitress's request threads, the outbox's senders, the loop)
give up the GIL at every socket and SQLite call. Spread over several cores, each
hand-over wakes a thread on another core, and the GIL's state and the thread's data
move between caches with it. On the 2-core bench machine the same run then costs
2.9 ms of CPU a step against 2.1 ms with every thread on one core, and steps/s rise
by half (bench/README.md). The process is bound by the GIL either way: a second core
cannot run its Python code at the same time.

``SERVER_CPU``: ``auto`` (the default) keeps the process on the CPU it starts on,
where it may use several; ``off`` leaves the kernel to spread the threads; a number
names the CPU. Several server processes sharing one host without their own CPU sets
(containers usually have them) should each be given a CPU, or ``off``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)

AUTO = "auto"
OFF = "off"


class CpuChoiceError(ValueError):
    """``SERVER_CPU`` names a CPU this process may not run on, or pinning is not
    available here; the message says what to set instead."""


def choose_cpu(setting: str, allowed: set[int], current: int | None) -> int | None:
    """The CPU to keep the server on, or None to leave its threads where the kernel
    puts them. ``allowed``: the CPUs the process may run on; ``current``: the one it
    runs on now (None when unknown)."""
    if setting == OFF:
        return None
    if setting == AUTO:
        if len(allowed) < 2:
            return None  # one CPU already (or none known): nothing to choose
        return current if current in allowed else min(allowed)
    cpu = int(setting)
    if cpu not in allowed:
        listed = ", ".join(str(c) for c in sorted(allowed)) or "none"
        raise CpuChoiceError(
            f"SERVER_CPU={cpu}, but this process may run only on CPUs {listed}; "
            f"set one of those, or SERVER_CPU=auto"
        )
    return cpu


def current_cpu(stat_path: str = "/proc/self/stat") -> int | None:
    """The CPU this process last ran on (field 39 of ``/proc/<pid>/stat``), or None."""
    try:
        with open(stat_path, encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()  # the name may hold spaces
        return int(fields[36])  # fields after the name start at field 3
    except (OSError, IndexError, ValueError):
        return None


def pin_threads(
    cpu: int,
    thread_ids: Iterable[int],
    set_affinity: Callable[[int, set[int]], None],
) -> int:
    """Keep each of the process's threads on ``cpu``; how many were moved. Threads
    started later inherit their creator's CPU; a thread that ended meanwhile is skipped."""
    moved = 0
    for tid in thread_ids:
        try:
            set_affinity(tid, {cpu})
        except ProcessLookupError:
            continue
        moved += 1
    return moved


def _thread_ids(tasks_dir: str = "/proc/self/task") -> list[int]:
    return [int(name) for name in os.listdir(tasks_dir)]


def keep_server_on_one_cpu(setting: str) -> int | None:
    """Apply ``SERVER_CPU`` to this process (all its threads so far); the CPU it now
    runs on, or None when it was left to the kernel. Raises :class:`CpuChoiceError`
    for a CPU that cannot be used."""
    set_affinity = getattr(os, "sched_setaffinity", None)
    get_affinity = getattr(os, "sched_getaffinity", None)
    if set_affinity is None or get_affinity is None or not os.path.isdir("/proc/self/task"):
        if setting not in (AUTO, OFF):
            raise CpuChoiceError(
                f"SERVER_CPU={setting}: this system cannot keep a process on one CPU; "
                "set SERVER_CPU=auto or off"
            )
        return None
    cpu = choose_cpu(setting, set(get_affinity(0)), current_cpu())
    if cpu is None:
        return None
    try:
        pin_threads(cpu, _thread_ids(), set_affinity)
    except OSError as exc:  # a CPU set changed under us, or not permitted
        log.warning("could not keep the server on CPU %s (%s); its threads may spread", cpu, exc)
        return None
    return cpu
