"""Pacing worker: posts ``--posts`` messages into one channel through the real shared
pacer, on a fake clock of its own, and prints when each went.

Prints ``ready``, waits for a line on stdin (so two workers start together), then
for each message: ask the pacer; while it says wait, move the fake clock on by that
much and ask again (as the outbox does, without the sleeping). ``--pairs``: book each
two messages' turns together first, as a conversation's root and first question.
Prints a JSON list of the (fake) times the messages went.
"""

from __future__ import annotations

import json
import os
import sys

from bot.slack.shared_pacing import SharedChannelPacer
from tests.store.workerlib import open_store, parser


class Seconds:
    """A clock in seconds since the epoch that moves only when told."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--channel", required=True)
    p.add_argument("--posts", type=int, required=True)
    p.add_argument("--start", type=float, required=True)
    p.add_argument("--rate", type=float, default=1.0)
    p.add_argument("--burst", type=int, default=3)
    p.add_argument("--pairs", action="store_true")
    args = p.parse_args()
    store = open_store(args)
    clock = Seconds(args.start)
    pacer = SharedChannelPacer(store, args.rate, args.burst, clock=clock)
    pid = os.getpid()
    store.get("warm-up")  # open the pool before the start signal
    print("ready", flush=True)
    sys.stdin.readline()
    went: list[float] = []
    for i in range(args.posts):
        key = (pid, i)
        if args.pairs and i % 2 == 0:
            pacer.book_together(args.channel, [key, (pid, i + 1)])
        while (wait := pacer.reserve(args.channel, key)) > 0:
            clock.now += wait
        went.append(clock.now)
    store.dispose()
    print(json.dumps(went), flush=True)


if __name__ == "__main__":
    main()
