"""Waiting in a test for what another thread or process does, where it signals nothing
the test could wait on: the condition is polled until it holds or the time is up (a
bound on failure, never what orders the test)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(
    condition: Callable[[], object],
    timeout: float = 10.0,
    failure: str = "timed out",
    every: float = 0.01,
) -> None:
    """Call ``condition`` every ``every`` seconds until it is true; after ``timeout``
    seconds raise AssertionError(``failure``)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(every)
