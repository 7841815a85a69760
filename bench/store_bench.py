"""Store benchmark: committed ``apply_step`` per second on SQLite and PostgreSQL.

Runs 1 and 8 writer threads (each on its own conversation; one outbox message per
step) and, as a baseline in the same run, a bare single-row
``UPDATE t SET v = v + 1 WHERE id = :id`` loop, one transaction each, on the same
database with the same thread count and the same write-transaction discipline
(BEGIN IMMEDIATE plus the in-process writer lock on SQLite).

    python -m bench.store_bench [--quick] [--pg-url URL] [--seconds S]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from bot.store import OutboxMessage, Store, write_transaction
from bot.store.engine import normalise_url

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
THREADS = (1, 8)
RECORD = {
    "state": "inference_caching",
    "answers": {f"q{i}": f"answer number {i}" for i in range(10)},
    "history": ["start", "workload", "gpu", "batch"],
}


def run_threads(
    threads: int, seconds: float, make_op: Callable[[int], Callable[[], None]]
) -> float:
    """Run ``threads`` loops of ``make_op(i)()`` for ``seconds``; return ops per second."""
    ops = [make_op(i) for i in range(threads)]
    counts = [0] * threads
    stop = threading.Event()
    start_barrier = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def loop(i: int) -> None:
        op = ops[i]
        op()  # warm-up, not counted
        start_barrier.wait()
        n = 0
        try:
            while not stop.is_set():
                op()
                n += 1
        except BaseException as exc:
            errors.append(exc)
        counts[i] = n

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    start_barrier.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return sum(counts) / elapsed


def bench_database(name: str, store: Store, seconds: float) -> list[tuple[str, int, float, float]]:
    engine = store.engine
    with write_transaction(engine) as conn:
        conn.execute(sa.text("CREATE TABLE bench_counter (id INTEGER PRIMARY KEY, v INTEGER)"))
        conn.execute(
            sa.text("INSERT INTO bench_counter (id, v) VALUES (:id, 0)"),
            [{"id": i} for i in range(max(THREADS))],
        )
    update = sa.text("UPDATE bench_counter SET v = v + 1 WHERE id = :id")

    def baseline_op(i: int) -> Callable[[], None]:
        def op() -> None:
            with write_transaction(engine) as conn:
                conn.execute(update, {"id": i})

        return op

    def store_op(i: int) -> Callable[[], None]:
        conv = store.create_conversation(
            team="T1",
            channel=f"C{i}",
            user=f"U{i}",
            flow_name="llm_cost",
            flow_hash="h",
            record=RECORD,
        )
        version = conv.version

        def op() -> None:
            nonlocal version
            result = store.apply_step(
                conv.id,
                version,
                RECORD,
                [OutboxMessage("post", {"text": "next question", "step": version})],
            )
            if not result.ok:
                raise RuntimeError(f"step refused: {result}")
            version = result.version

        return op

    rows = []
    for threads in THREADS:
        base = run_threads(threads, seconds, baseline_op)
        steps = run_threads(threads, seconds, store_op)
        rows.append((name, threads, steps, base))
        print(f"  {name:<10} {threads} threads: {steps:8.0f} steps/s, baseline {base:8.0f}/s")
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="short runs (about 20 s in all)")
    p.add_argument("--seconds", type=float, default=None, help="seconds per measurement")
    p.add_argument(
        "--pg-url",
        default=os.environ.get("TEST_DATABASE_URL", DEFAULT_PG_URL),
        help="PostgreSQL URL (default: TEST_DATABASE_URL or the local test database)",
    )
    args = p.parse_args()
    seconds = args.seconds or (1.5 if args.quick else 5.0)
    idle = timedelta(days=365)
    results: list[tuple[str, int, float, float]] = []

    with tempfile.TemporaryDirectory(prefix="store-bench-") as tmp:
        store = Store.from_url(None, Path(tmp), idle_timeout=idle)
        try:
            results += bench_database("sqlite", store, seconds)
        finally:
            store.dispose()

    pg_url = normalise_url(args.pg_url)
    admin = sa.create_engine(pg_url, connect_args={"connect_timeout": 2}, poolclass=sa.NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        print(f"  postgresql skipped: not reachable at {pg_url} ({type(exc).__name__})")
        admin = None
    if admin is not None:
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            store = Store.from_url(
                pg_url,
                Path("."),
                idle_timeout=idle,
                engine_kw={
                    "connect_args": {"options": f"-csearch_path={schema}"},
                    "pool_size": max(THREADS),
                },
            )
            try:
                results += bench_database("postgresql", store, seconds)
            finally:
                store.dispose()
        finally:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

    print()
    print(f"{'database':<11}{'threads':>8}{'apply_step/s':>14}{'bare UPDATE/s':>15}{'ratio':>8}")
    for name, threads, steps, base in results:
        print(f"{name:<11}{threads:>8}{steps:>14.0f}{base:>15.0f}{steps / base:>8.2f}")
    print(
        "\napply_step = one transaction: CAS UPDATE ... RETURNING (also reserves the outbox"
        "\nseq) + INSERT of one outbox row."
        "\nratio = apply_step/s divided by bare single-row UPDATE transactions/s."
    )


if __name__ == "__main__":
    main()
