"""Race worker: applies every step of one conversation until it reaches a version.

Prints ``ready``, waits for a line on stdin, then loops: read the version v,
``apply_step(id, v, ...)`` with one outbox message; prints a JSON list of the
versions it applied when the conversation reaches ``--until``.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time

from bot.store import OutboxMessage
from tests.store.workerlib import open_store, parser


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--conversation", required=True)
    p.add_argument("--until", type=int, required=True)
    p.add_argument("--jitter", type=float, default=0.0, help="max pause between steps (s)")
    args = p.parse_args()
    store = open_store(args)
    pid = os.getpid()
    store.get(args.conversation)  # warm up the pool before the start signal
    print("ready", flush=True)
    sys.stdin.readline()
    applied: list[int] = []
    outcomes: dict[str, int] = {}
    while True:
        conv = store.get(args.conversation)
        assert conv is not None
        v = conv.version
        if v >= args.until:
            break
        result = store.apply_step(
            args.conversation,
            v,
            {**conv.record, "by": pid, "v": v + 1},
            [OutboxMessage("post", {"step": v, "by": pid})],
        )
        outcomes[str(result.outcome)] = outcomes.get(str(result.outcome), 0) + 1
        if result.ok:
            assert result.version == v + 1
            applied.append(v + 1)
        if args.jitter:
            # SQLite's busy handler polls, so a writer in a tight loop can keep the lock
            # away from the other process; a short pause lets both really race.
            time.sleep(random.random() * args.jitter)
    store.dispose()
    print(json.dumps({"pid": pid, "applied": applied, "outcomes": outcomes}), flush=True)


if __name__ == "__main__":
    main()
