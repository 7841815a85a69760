"""Crash worker: commits a conversation with outbox rows, then SIGKILLs itself.

Prints the conversation id first so the test can find it; nothing is sent.
"""

from __future__ import annotations

import os
import signal

from bot.store import OutboxMessage
from tests.store.workerlib import open_store, parser


def main() -> None:
    args = parser(__doc__ or "").parse_args()
    store = open_store(args)
    conv = store.create_conversation(
        team="T1",
        channel="C1",
        user="U1",
        flow_name="llm_cost",
        flow_hash="h",
        record={"state": "start"},
        outbox=[
            OutboxMessage("post", {"text": "first question"}, ref="root", sets_thread=True),
            OutboxMessage("update", {"ts": {"$ref": "root"}}),
        ],
    )
    print(conv.id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # right after the commit, before any send


if __name__ == "__main__":
    main()
