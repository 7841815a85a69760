"""A monotonic clock (float seconds) that only moves when a test moves it."""

from __future__ import annotations


class Seconds:
    def __init__(self, start: float = 100.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now
