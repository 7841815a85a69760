"""The lock that keeps the shared test PostgreSQL up: shared among tests, exclusive for
the one that stops it (another open file stands for another xdist worker)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pg_server_lock import ServerLock


def free_for(fd: int, mode: int) -> bool:
    """Could another process take the lock in ``mode`` right now?"""
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    fcntl.flock(fd, fcntl.LOCK_UN)
    return True


@pytest.fixture
def other(tmp_path: Path) -> Iterator[int]:
    fd = os.open(tmp_path / "server.lock", os.O_RDWR | os.O_CREAT)
    yield fd
    os.close(fd)


def test_tests_share_the_server_and_the_outage_test_waits_for_them(
    tmp_path: Path, other: int
) -> None:
    lock = ServerLock(tmp_path / "server.lock")
    with lock.shared():
        assert free_for(other, fcntl.LOCK_SH)
        assert not free_for(other, fcntl.LOCK_EX)
    assert free_for(other, fcntl.LOCK_EX)
    lock.close()


def test_while_the_server_is_stopped_no_other_test_may_use_it(tmp_path: Path, other: int) -> None:
    lock = ServerLock(tmp_path / "server.lock")
    with lock.shared():
        with lock.exclusive():
            assert not free_for(other, fcntl.LOCK_SH)
        assert free_for(other, fcntl.LOCK_SH)  # back to shared when the outage ends
        assert not free_for(other, fcntl.LOCK_EX)
    lock.close()
