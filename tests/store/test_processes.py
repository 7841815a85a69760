"""Several OS processes against one database: step races and a crash after commit."""

from __future__ import annotations

import json
import signal
import subprocess

import pytest

from bot.delivery import Deliverer
from tests.store.conftest import REPO_ROOT, Database, python_worker, worker_env
from tests.store.helpers import FakeSender, new_conversation

STEPS = 200


@pytest.mark.slow
def test_two_processes_race_for_every_step(db: Database) -> None:
    store = db.make_store()
    cid = new_conversation(store)
    argv = python_worker(
        "tests.store.race_worker",
        *db.worker_args(),
        "--conversation",
        cid,
        "--until",
        str(STEPS + 1),
        "--jitter",
        "0.002",
    )
    procs = [
        subprocess.Popen(
            argv,
            cwd=REPO_ROOT,
            env=worker_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()  # type: ignore[union-attr]
        for proc in procs:
            proc.stdin.write("go\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
        reports = []
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            reports.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()

    conv = store.get(cid)
    assert conv.version == STEPS + 1
    applied = {r["pid"]: r["applied"] for r in reports}
    for versions in applied.values():
        assert versions == sorted(versions) and len(set(versions)) == len(versions)
    all_versions = sorted(v for versions in applied.values() for v in versions)
    assert all_versions == list(range(2, STEPS + 2))  # each step applied exactly once
    assert conv.record["v"] == STEPS + 1

    rows = store.outbox_rows(cid)
    assert [r.seq for r in rows] == list(range(1, STEPS + 1))
    assert [r.payload["step"] for r in rows] == list(range(1, STEPS + 1))
    winner = {v: pid for pid, versions in applied.items() for v in versions}
    assert all(r.payload["by"] == winner[r.payload["step"] + 1] for r in rows)
    # Both really raced (otherwise this test proves little).
    stale = sum(r["outcomes"].get("stale", 0) for r in reports)
    print(f"{db.kind}: applied per process {[len(v) for v in applied.values()]}, stale {stale}")
    assert len(applied) == 2 and all(applied.values()) and stale > 0
    assert all(r["outcomes"].get("expired", 0) == 0 for r in reports)


def test_crash_after_commit_loses_nothing(db: Database) -> None:
    proc = subprocess.run(
        python_worker("tests.store.crash_worker", *db.worker_args()),
        cwd=REPO_ROOT,
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    cid = proc.stdout.strip()
    store = db.make_store()
    assert [r.status for r in store.outbox_rows(cid)] == ["pending", "pending"]

    sender = FakeSender()
    deliverer = Deliverer(store, sender, maintenance_interval=None)
    assert deliverer.deliver_due() == 2
    assert deliverer.deliver_due() == 0
    assert sender.seqs(cid) == [1, 2]
    assert sender.sent[1].payload == {"ts": sender.sent[0].ts}
    assert store.get(cid).thread_ts == sender.sent[0].ts
