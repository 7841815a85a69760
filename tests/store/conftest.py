"""Fixtures: a fresh Store on SQLite (tmp dir) and on PostgreSQL (a schema per test)."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.store import Store
from bot.store.engine import normalise_url
from tests.pg_server_lock import ServerLock
from tests.store.helpers import FakeClock

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Database:
    """Where a test's store lives, and how to open more stores (or workers) on it."""

    kind: str
    url: str | None
    data_dir: Path
    schema: str | None = None
    stores: list[Store] = field(default_factory=list)

    @property
    def engine_kw(self) -> dict[str, Any]:
        if self.schema is None:
            return {}
        return {"connect_args": {"options": f"-csearch_path={self.schema}"}}

    def make_store(self, **kw: Any) -> Store:
        store = Store.from_url(self.url, self.data_dir, engine_kw=self.engine_kw, **kw)
        self.stores.append(store)
        return store

    def worker_args(self) -> list[str]:
        """Command-line arguments that let a worker process open the same database."""
        args = ["--data-dir", str(self.data_dir)]
        if self.url:
            args += ["--url", self.url]
        if self.schema:
            args += ["--schema", self.schema]
        return args

    def close(self) -> None:
        for store in self.stores:
            store.dispose()


def python_worker(module: str, *args: str) -> list[str]:
    """argv running ``python -m module args`` from the repository root."""
    return [sys.executable, "-m", module, *args]


def worker_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture(scope="session")
def pg_server_lock() -> Iterator[ServerLock]:
    """This process's handle on the lock that keeps the test PostgreSQL up for a test."""
    lock = ServerLock()
    yield lock
    lock.close()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[tuple[str, sa.Engine]]:
    """(url, engine) for the test PostgreSQL; skipped when unreachable unless CI set it."""
    from_env = os.environ.get("TEST_DATABASE_URL")
    url = normalise_url(from_env or DEFAULT_PG_URL)
    engine = sa.create_engine(url, connect_args={"connect_timeout": 1}, poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any connect failure
        engine.dispose()
        if from_env:
            pytest.fail(f"TEST_DATABASE_URL is set but PostgreSQL is not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {url}; set TEST_DATABASE_URL to run these")
    yield url, engine
    engine.dispose()


@pytest.fixture
def pg_admin(
    pg_server: tuple[str, sa.Engine], pg_server_lock: ServerLock
) -> Iterator[tuple[str, sa.Engine]]:
    """(url, engine) for the test PostgreSQL, which stays up until the test ends (another
    xdist worker's outage test waits for it: tests/pg_server_lock.py)."""
    with pg_server_lock.shared():
        yield pg_server


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database of each kind."""
    if request.param == "sqlite":
        database = Database("sqlite", None, tmp_path / "data")
        yield database
        database.close()
        return
    url, admin = request.getfixturevalue("pg_admin")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    database = Database("postgresql", url, tmp_path, schema=schema)
    try:
        yield database
    finally:
        database.close()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(db: Database, clock: FakeClock) -> Store:
    """A Store on a fresh database, driven by a fake clock."""
    return db.make_store(clock=clock)
