"""Exceptions raised by the store."""

from __future__ import annotations


class StoreError(Exception):
    """Base class for store errors."""


class StoreConfigError(StoreError):
    """The database cannot be used as configured; the message says what to change."""


class ConversationNotFound(StoreError, KeyError):
    """An operation named a conversation id that is not in the database."""

    def __str__(self) -> str:
        return f"no conversation with id {self.args[0]!r}" if self.args else "no conversation"


def _unavailable() -> tuple[type[BaseException], ...]:
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    return (DBAPIError, StoreError, TimeoutError, PoolTimeout)


#: Failures meaning the database is not answering now; trying again later can succeed.
#: Callers outside the store catch these instead of knowing the database library.
UNAVAILABLE: tuple[type[BaseException], ...] = _unavailable()
