"""Hot statements run straight on the database driver.

SQLAlchemy builds each hot statement once and compiles it once per dialect; running
it then goes straight to a pooled DBAPI connection, skipping the per-execution
machinery (Connection, execution context, parameter and result objects) that costs
several times what SQLite itself spends on such a statement. Values go through the
type processors SQLAlchemy would apply, and driver errors come out as SQLAlchemy's
own exception classes, so callers see no difference.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ClauseElement

_Processor = Callable[[Any], Any] | None


class Prepared:
    """One statement compiled for one dialect, with its bind and result processors.

    Parameters are passed by name, as to ``Connection.execute``; fixed values in the
    statement (``status == 'active'``) are bound at compile time.
    """

    __slots__ = ("_dbapi_error", "_dialect", "_named", "_results", "_slots", "sql")

    def __init__(
        self,
        statement: ClauseElement,
        dialect: sa.Dialect,
        column_keys: Sequence[str] | None = None,
    ) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=column_keys)
        self.sql = compiled.string
        self._dialect = dialect
        self._dbapi_error: type[Exception] = dialect.loaded_dbapi.Error
        self._named = not compiled.positional
        names = list(compiled.positiontup or ()) if compiled.positional else list(compiled.binds)
        defaults = compiled.params
        slots: list[tuple[str, bool, Any, _Processor]] = []
        for name in names:
            bind = compiled.binds[name]
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            required = bind.required or bind.callable is not None
            fixed = None if required else defaults.get(name)
            if fixed is not None and process is not None:
                fixed = process(fixed)
            slots.append((name, required, fixed, None if not required else process))
        self._slots = slots
        columns = getattr(statement, "selected_columns", None)
        if columns is None:
            columns = getattr(statement, "exported_columns", ())
        self._results = [
            (i, p)
            for i, column in enumerate(columns)
            if (p := column.type.dialect_impl(dialect).result_processor(dialect, None)) is not None
        ]

    def args(self, params: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """The driver's parameters for ``params`` (by name)."""
        values = []
        for name, required, fixed, process in self._slots:
            if required:
                value = params[name]
                if process is not None and value is not None:
                    value = process(value)
                values.append(value)
            else:
                values.append(fixed)
        if self._named:
            return {slot[0]: value for slot, value in zip(self._slots, values, strict=True)}
        return tuple(values)

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        """A result row with the column types' processing applied."""
        if not self._results:
            return tuple(raw)
        values = list(raw)
        for i, process in self._results:
            values[i] = process(values[i])
        return tuple(values)

    def run(self, driver: Any, params: Mapping[str, Any]) -> Any:
        """Execute on a DBAPI connection (see :func:`driver_transaction`); the driver's
        cursor. Driver errors are raised as ``sqlalchemy.exc.DBAPIError``s, values the
        column types cannot take as ``sqlalchemy.exc.StatementError``, as SQLAlchemy does."""
        try:
            args = self.args(params)
        except Exception as exc:
            raise sa.exc.StatementError(
                f"({type(exc).__module__}.{type(exc).__name__}) {exc}",
                self.sql,
                None,
                exc,
                hide_parameters=True,
            ) from exc
        try:
            return driver.execute(self.sql, args)
        except self._dbapi_error as exc:
            raise as_sqlalchemy_error(exc, self._dialect, self.sql) from exc

    def rows(self, driver: Any, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """All result rows."""
        cursor = self.run(driver, params)
        try:
            return [self.row(r) for r in cursor.fetchall()]
        except self._dbapi_error as exc:
            raise as_sqlalchemy_error(exc, self._dialect, self.sql) from exc

    def first(self, driver: Any, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first result row, or None."""
        found = self.rows(driver, params)
        return found[0] if found else None

    def count(self, driver: Any, params: Mapping[str, Any]) -> int:
        """Rows the statement changed."""
        return int(self.run(driver, params).rowcount)


def driver_of(conn: sa.Connection) -> Any:
    """The DBAPI connection under an open SQLAlchemy connection (same transaction)."""
    return conn.connection.driver_connection


def as_sqlalchemy_error(exc: Exception, dialect: sa.Dialect, sql: str | None = None) -> Exception:
    """A driver error as the ``sqlalchemy.exc`` class SQLAlchemy would raise for it
    (``OperationalError``, ``IntegrityError``, ...), parameters hidden."""
    return sa.exc.DBAPIError.instance(  # type: ignore[return-value]
        sql, None, exc, dialect.loaded_dbapi.Error, hide_parameters=True, dialect=dialect
    )
