"""Alembic migrations on SQLite and PostgreSQL: from an empty database, from the
schema as it stood before migrations, concurrently, and in step with the tables."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.store import Store, StoreConfigError, make_engine, upgrade_schema
from bot.store.engine import write_transaction
from bot.store.migrate import FIRST, _config, current, head
from bot.store.schema import metadata
from tests.store.conftest import REPO_ROOT, Database
from tests.store.helpers import new_conversation


def engine_of(db: Database) -> sa.Engine:
    return make_engine(db.url, db.data_dir, **db.engine_kw)


def tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_from_empty_to_head_and_idempotent(db: Database) -> None:
    engine = engine_of(db)
    try:
        assert current(engine) is None
        assert upgrade_schema(engine) == head()
        assert current(engine) == head()
        store = Store(engine)
        cid = new_conversation(store)
        assert upgrade_schema(engine) == head()  # nothing to do, nothing lost
        assert store.get(cid) is not None
        assert "schema_version" not in tables(engine)
        assert {"conversations", "outbox", "seen_events", "recommendations"} <= tables(engine)
    finally:
        engine.dispose()


def make_pre_migration_database(engine: sa.Engine) -> None:
    """A database as the code before migrations left it: today's tables, a
    `schema_version` row at 1, no `alembic_version`."""
    with write_transaction(engine) as conn:
        command.upgrade(_config(conn), FIRST)
        conn.execute(sa.text("DROP TABLE alembic_version"))
        conn.execute(
            sa.text("INSERT INTO schema_version (id, version, updated_at) VALUES (1, 1, :now)"),
            {"now": datetime.now(UTC)},
        )


def test_from_the_schema_before_migrations(db: Database) -> None:
    engine = engine_of(db)
    try:
        make_pre_migration_database(engine)
        with write_transaction(engine) as conn:
            conn.execute(
                sa.text(
                    'INSERT INTO conversations (id, team, channel, "user", flow_name, '
                    "flow_hash, record, version, status, created_at, updated_at, expires_at) "
                    "VALUES ('c1', 'T1', 'C1', 'U1', 'llm_cost', 'h', '{}', 1, 'active', "
                    ":now, :now, :now)"
                ),
                {"now": datetime.now(UTC)},
            )
        assert current(engine) is None
        assert upgrade_schema(engine) == head()
        assert current(engine) == head()
        assert "schema_version" not in tables(engine)
        assert Store(engine).get("c1") is not None
    finally:
        engine.dispose()


def test_the_migrated_schema_is_the_one_the_code_uses(db: Database) -> None:
    engine = engine_of(db)
    try:
        upgrade_schema(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = compare_metadata(context, metadata)
        assert diffs == []
    finally:
        engine.dispose()


def test_a_newer_schema_is_refused(db: Database) -> None:
    engine = engine_of(db)
    try:
        upgrade_schema(engine)
        with write_transaction(engine) as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
        with pytest.raises(StoreConfigError, match="revision 9999"):
            upgrade_schema(engine)
    finally:
        engine.dispose()


def test_concurrent_upgrades(db: Database) -> None:
    engine = engine_of(db)
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def run() -> None:
        barrier.wait()
        try:
            upgrade_schema(engine)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == [] and current(engine) == head()
    finally:
        engine.dispose()


def test_db_upgrade_command_on_the_embedded_default(tmp_path: Path) -> None:
    """`python -m bot db upgrade` on a fresh clone: no Slack settings needed."""
    env = {"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade"],
        cwd=str(REPO_ROOT),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert head() in done.stdout
    engine = make_engine(None, tmp_path / "data")
    try:
        assert current(engine) == head()
    finally:
        engine.dispose()


def test_downgrading_the_thread_links_keeps_every_row(db: Database) -> None:
    """0003's downgrade drops a column; on SQLite a table rebuild would have cascaded
    into the outbox and the results (foreign keys are on)."""
    from bot.store import OutboxMessage

    engine = engine_of(db)
    try:
        upgrade_schema(engine)
        store = Store(engine)
        cid = new_conversation(store)
        store.enqueue(cid, [OutboxMessage("post", {"text": "q"})])
        store.apply_step(cid, 1, {}, status="finished", recommendation={"headline": "x"})
        counts = "SELECT (SELECT count(*) FROM outbox), (SELECT count(*) FROM recommendations)"
        with engine.connect() as conn:
            before = tuple(conn.execute(sa.text(counts)).one())
        with write_transaction(engine) as conn:
            command.downgrade(_config(conn), "0002")
        with engine.connect() as conn:
            assert tuple(conn.execute(sa.text(counts)).one()) == before
            assert "permalink" not in {
                c["name"] for c in sa.inspect(conn).get_columns("conversations")
            }
        assert upgrade_schema(engine) == head()
    finally:
        engine.dispose()


def test_outbox_metadata_moves_out_of_the_payload_and_back(db: Database) -> None:
    """0007: "_" keys leave the payload for ``meta``, and the "unconfirmed: " prefix of
    ``error`` becomes the ``unconfirmed`` flag; the downgrade puts both back."""
    import json

    engine = engine_of(db)
    try:
        with write_transaction(engine) as conn:
            command.upgrade(_config(conn), "0006")
        store = Store(engine)
        cid = new_conversation(store)
        with write_transaction(engine) as conn:
            now = datetime.now(UTC)
            for seq, payload, error in (
                (1, {"channel": "C1", "text": "q", "_user": "U1", "_retry_until": "x"}, None),
                (2, {"user_id": "U1", "_team": "T1"}, "unconfirmed: TimeoutError"),
                (3, {"channel": "C1", "text": "plain"}, "http_500"),
            ):
                conn.execute(
                    sa.text(
                        "INSERT INTO outbox (conversation_id, seq, kind, sets_thread, payload, "
                        "status, attempts, next_attempt_at, error, created_at) VALUES (:cid, "
                        ":seq, 'post', false, :payload, 'pending', 0, :now, :error, :now)"
                    ),
                    {"cid": cid, "seq": seq, "payload": json.dumps(payload), "error": error}
                    | {"now": now},
                )
        query = "SELECT seq, payload, error FROM outbox ORDER BY seq"
        with engine.connect() as conn:
            before = [tuple(r) for r in conn.execute(sa.text(query))]
        assert upgrade_schema(engine) == head()
        rows = {r.seq: r for r in Store(engine).outbox_rows(cid)}
        assert rows[1].payload == {"channel": "C1", "text": "q"}
        assert rows[1].meta == {"_user": "U1", "_retry_until": "x"} and not rows[1].unconfirmed
        assert rows[2].payload == {"user_id": "U1"} and rows[2].meta == {"_team": "T1"}
        assert rows[2].unconfirmed and rows[2].error == "TimeoutError"
        assert rows[3].meta == {} and rows[3].error == "http_500" and not rows[3].unconfirmed
        with write_transaction(engine) as conn:
            command.downgrade(_config(conn), "0006")
        with engine.connect() as conn:
            after = [tuple(r) for r in conn.execute(sa.text(query))]
            columns = {c["name"] for c in sa.inspect(conn).get_columns("outbox")}
        assert [(s, json.loads(p), e) for s, p, e in after] == [
            (s, json.loads(p), e) for s, p, e in before
        ]
        assert not {"meta", "unconfirmed"} & columns
        assert upgrade_schema(engine) == head()
    finally:
        engine.dispose()
