"""Where a conversation stands: one vocabulary for the pure logic and the store."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    ACTIVE = "active"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
