"""One CPU for a server process, so that its threads hand the GIL over on one core.

The server's threads (waitress's request threads, the outbox's senders, the loop)
give up the GIL at every socket and SQLite call. Spread over several cores, each
hand-over wakes a thread on another core, and the GIL's state and the thread's data
move between caches with it. On the 2-core bench machine the same run costs 2.9 ms of
CPU a step with the threads spread and 2.0 ms with every thread on one core
(bench/README.md). The process is bound by the GIL either way: a second core cannot
run its Python code at the same time.

Measured against the bench's fake Slack (plain HTTP on loopback) on a machine whose
two cores the load driver shares: work that runs without the GIL (TLS to slack.com,
say) could use a second core, and that was not measured.

``SERVER_CPU``: ``auto`` (the default) keeps the process on one CPU where it may use
several: the one it runs on, unless another server has claimed it, then the next free
one; with every CPU claimed the threads are left to the kernel. A claim is a lock file
per CPU in the temp directory, held for the process's life, so it reaches the servers
that share that directory: not those in other containers or with a private /tmp (give
those ``off`` or a number each). ``off`` leaves the threads to the kernel; a number
names the CPU (and claims it, so that ``auto`` servers pass it by).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

AUTO: Literal["auto"] = "auto"
OFF: Literal["off"] = "off"
#: SERVER_CPU as the settings give it: a mode, or a CPU's number.
ServerCpu = Literal["auto", "off"] | int

_claimed: list[int] = []  # descriptors of the CPU claims held for the process's life


class CpuChoiceError(ValueError):
    """``SERVER_CPU`` names a CPU this process may not run on, or pinning is not
    available here; the message says what to set instead."""


@dataclass(frozen=True)
class CpuDecision:
    """Where the server's threads run: ``cpu``, or None when left to the kernel, and
    why, for the log once the server has started; ``warning`` when the operator may
    want another setting (a pin refused, a CPU shared with another server)."""

    cpu: int | None
    reason: str
    warning: bool = False


def allowed_cpus() -> set[int]:
    """The CPUs this process may run on; empty where the system cannot say (or pin)."""
    if not hasattr(os, "sched_getaffinity") or not hasattr(os, "sched_setaffinity"):
        return set()
    return set(os.sched_getaffinity(0))


def preferred_order(allowed: set[int], current: int | None) -> list[int]:
    """The CPUs ``auto`` tries, in order: the current one (where the kernel has just
    put the process), then the others by number."""
    rest = sorted(allowed - {current})
    return [current, *rest] if current in allowed else rest


class ClaimsUnavailable(OSError):
    """CPU claims cannot be taken in the lock directory (no file locks there, say):
    not a sign that another server holds the CPU."""


@dataclass(frozen=True)
class Claims:
    """What the claim files said: the CPU claimed and the descriptor that holds it
    (None when every CPU was held), and the claim files this user could not open."""

    cpu: int | None
    fd: int | None
    unreadable: tuple[Path, ...] = ()


def claim_cpu(order: Iterable[int], lock_dir: Path) -> Claims:
    """The first CPU in ``order`` that no other server sharing ``lock_dir`` holds, with
    the descriptor of its lock file (held until the process ends; the kernel drops it
    then). Raises :class:`ClaimsUnavailable` when locks cannot be taken there at all."""
    unreadable: list[Path] = []
    for cpu in order:
        path = lock_dir / f"llm-cost-bot-cpu{cpu}.lock"
        try:
            fd = _open_claim(path)
        except PermissionError:  # another user's file, readable by its owner only
            unreadable.append(path)
            continue
        except OSError as exc:
            raise ClaimsUnavailable(f"cannot open {path}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # held by another server
            os.close(fd)
            continue
        except OSError as exc:
            os.close(fd)
            raise ClaimsUnavailable(f"cannot lock {path}: {exc}") from exc
        return Claims(cpu, fd, tuple(unreadable))
    return Claims(None, None, tuple(unreadable))


def _open_claim(path: Path) -> int:
    """A descriptor to lock ``path`` through, made if missing (never through a link).
    Read-only, and created only where missing: a file another user's server made (in a
    sticky temp directory, where creating over it is refused) still locks; made
    readable by all whatever the umask, so that holds for this one too."""
    flags = os.O_RDONLY | os.O_NOFOLLOW
    try:
        return os.open(path, flags)
    except FileNotFoundError:
        pass
    fd = os.open(path, flags | os.O_CREAT, 0o644)
    with contextlib.suppress(OSError):
        os.fchmod(fd, 0o644)
    return fd


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


def keep_server_on_one_cpu(setting: ServerCpu, lock_dir: Path | None = None) -> CpuDecision:
    """Apply ``SERVER_CPU`` to this process, best done before it starts threads.
    Raises :class:`CpuChoiceError` for a CPU it cannot use."""
    allowed = allowed_cpus()
    if not allowed or not os.path.isdir("/proc/self/task"):
        if isinstance(setting, int):
            raise CpuChoiceError(
                f"SERVER_CPU={setting}: this system cannot keep a process on one CPU; "
                "set SERVER_CPU=auto or off"
            )
        return CpuDecision(None, "this system cannot keep a process on one CPU")
    if setting == OFF:
        return CpuDecision(None, "SERVER_CPU=off")
    if isinstance(setting, int) and setting not in allowed:
        listed = ", ".join(str(c) for c in sorted(allowed))
        raise CpuChoiceError(
            f"SERVER_CPU={setting}, but this process may run only on CPUs {listed}; "
            "set one of those, or SERVER_CPU=auto"
        )
    if setting == AUTO and len(allowed) < 2:
        return CpuDecision(None, "the process may use one CPU only")
    lock_dir = lock_dir or Path(tempfile.gettempdir())
    named = isinstance(setting, int)
    order = [setting] if named else preferred_order(allowed, current_cpu())
    caveat = ""
    try:
        claims = claim_cpu(order, lock_dir)
    except ClaimsUnavailable as exc:
        claims = Claims(None, None)
        caveat = f"unclaimed ({exc}): servers sharing this host may share it"
    if claims.cpu is not None:
        cpu = claims.cpu
    elif named or caveat:
        cpu = order[0]  # the operator's choice, or the current CPU where none is claimed
        caveat = caveat or f"another server sharing {lock_dir} has claimed it too"
    else:
        held = f"other servers sharing {lock_dir} hold each CPU"
        if claims.unreadable:
            names = ", ".join(str(p) for p in claims.unreadable)
            held += f", or their claim files are not readable by this user ({names})"
        return CpuDecision(None, held)
    try:
        pin_threads(cpu, _thread_ids(), os.sched_getaffinity, os.sched_setaffinity)
    except OSError as exc:  # the CPU set changed under us, or not permitted
        if claims.fd is not None:
            os.close(claims.fd)
        return CpuDecision(None, f"could not keep them on CPU {cpu} ({exc})", warning=True)
    if claims.fd is not None:
        _claimed.append(claims.fd)
    reason = f"SERVER_CPU={setting}" + (f"; {caveat}" if caveat else "")
    return CpuDecision(cpu, reason, warning=bool(caveat))
