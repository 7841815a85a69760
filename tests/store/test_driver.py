"""Hot statements on the driver: the same values and errors as through SQLAlchemy, and
a connection that cannot write is not given back to the pool."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.store import make_engine
from bot.store.driver import Prepared
from bot.store.engine import DB_FILENAME, driver_transaction
from bot.store.schema import JSONText, UTCDateTime
from tests.store.conftest import Database
from tests.store.helpers import SQLiteOpener

metadata = sa.MetaData()
things = sa.Table(
    "driver_things",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("body", JSONText, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("flag", sa.Boolean, nullable=False),
)
INSERT = things.insert()
SELECT_OPEN = sa.select(things.c.id, things.c.body, things.c.at, things.c.flag).where(
    things.c.kind == "open", things.c.at > sa.bindparam("after", type_=UTCDateTime)
)


@pytest.fixture
def engine(db: Database) -> sa.Engine:
    engine = db.make_store().engine
    metadata.create_all(engine)
    return engine


def test_values_go_through_the_column_types(engine: sa.Engine) -> None:
    insert = Prepared(INSERT, engine.dialect, ["id", "kind", "body", "at", "flag"])
    select = Prepared(SELECT_OPEN, engine.dialect)
    at = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    with driver_transaction(engine) as conn:
        insert.run(conn, {"id": 1, "kind": "open", "body": {"é": [1]}, "at": at, "flag": True})
        insert.run(conn, {"id": 2, "kind": "shut", "body": {}, "at": at, "flag": False})
    with driver_transaction(engine, write=False) as conn:
        rows = select.rows(conn, {"after": datetime(2026, 1, 1, tzinfo=UTC)})
    assert rows == [(1, {"é": [1]}, at, True)]  # the literal "open" was bound once
    with engine.connect() as conn:  # SQLAlchemy reads the same thing back
        assert conn.execute(
            sa.select(things.c.body, things.c.at).where(things.c.id == 1)
        ).one() == (
            {"é": [1]},
            at,
        )


def test_errors_come_out_as_sqlalchemy_errors(engine: sa.Engine) -> None:
    insert = Prepared(INSERT, engine.dialect, ["id", "kind", "body", "at", "flag"])
    at = datetime(2026, 11, 27, tzinfo=UTC)
    row = {"id": 1, "kind": "open", "body": {}, "at": at, "flag": True}
    with driver_transaction(engine) as conn:
        insert.run(conn, row)
    with pytest.raises(sa.exc.IntegrityError), driver_transaction(engine) as conn:
        insert.run(conn, row)
    bad = [
        ({"id": 2, "body": {"x": object()}}, "not JSON"),
        ({"id": 3, "at": datetime(2026, 1, 1)}, "naive"),
    ]
    for change, message in bad:
        with (
            pytest.raises(sa.exc.StatementError, match=message),
            driver_transaction(engine) as conn,
        ):
            insert.run(conn, {**row, **change})
    with engine.connect() as conn:  # the failed transactions left nothing behind
        assert conn.execute(sa.select(sa.func.count()).select_from(things)).scalar() == 1


def test_a_connection_refused_a_write_as_read_only_leaves_the_pool(tmp_path: Path) -> None:
    """SQLite opens a file it cannot write read-only, for good: the connection is dropped
    at its first refused write, so the next transaction opens another."""
    Database("sqlite", None, tmp_path / "data").make_store().dispose()  # the schema
    opener = SQLiteOpener(tmp_path / "data" / DB_FILENAME)
    engine = make_engine(None, tmp_path / "data", creator=opener)
    metadata.create_all(engine)
    insert = Prepared(INSERT, engine.dialect, ["id", "kind", "body", "at", "flag"])
    row = {"kind": "open", "body": {}, "at": datetime(2026, 11, 27, tzinfo=UTC), "flag": True}
    opener.read_only = True
    engine.dispose()  # the next transaction opens a read-only connection
    with (
        pytest.raises(sa.exc.OperationalError, match="readonly"),
        driver_transaction(engine) as conn,
    ):
        insert.run(conn, {**row, "id": 1})
    opener.read_only = False
    with driver_transaction(engine) as conn:
        insert.run(conn, {**row, "id": 2})
    with engine.connect() as conn:
        assert conn.execute(sa.select(things.c.id)).scalars().all() == [2]
    engine.dispose()
