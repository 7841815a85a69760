"""The test PostgreSQL server is shared by pytest-xdist's workers, and one test stops it.

Every test that uses the server holds a shared lock on one file for the machine; the
outage test (tests/slack/test_faults.py) turns its lock exclusive, so it stops the
server only while no other worker's test is using it, and their next tests wait until
the server is back. `flock` locks belong to an open file, so each process opens the
file once and the outage test converts the shared lock it already holds.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PATH = Path(tempfile.gettempdir()) / "llm-cost-bot-test-postgresql.lock"


class ServerLock:
    """This process's handle on the machine-wide lock of the test PostgreSQL server."""

    def __init__(self, path: Path = PATH) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)

    @contextmanager
    def shared(self) -> Iterator[None]:
        """Use the server; it stays up until this ends."""
        fcntl.flock(self._fd, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Inside `shared`: wait until no other process uses the server, then own it."""
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_SH)

    def close(self) -> None:
        os.close(self._fd)
