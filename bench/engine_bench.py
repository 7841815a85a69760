"""Engine step cost: restore-from-JSON + answer + dump, against a bare Machine trigger.

    python -m bench.engine_bench [--steps N]

Prints the median time per step for both and their ratio. Not a test: no assertion.
"""

from __future__ import annotations

import argparse
import statistics
import time

from bot.conversation import Conversation
from bot.flow.compiled import ANSWER
from bot.flow.loader import FlowRegistry, load_flow

# A full path: Training -> 1-10B -> Cost -> Checkpoints (4 answers, 2 auto-advances).
REPLIES = ("Training", "1-10B params", "Cost", "Checkpoints")


class _Model:
    """The smallest possible model for the baseline."""

    __slots__ = ("state",)

    def __init__(self, state: str):
        self.state = state


def engine_step_times(registry: FlowRegistry, rounds: int) -> list[float]:
    flow = registry.current()
    start = Conversation.start(flow).dump()
    times: list[float] = []
    clock = time.perf_counter
    for _ in range(rounds):
        data = start
        for reply in REPLIES:
            t0 = clock()
            conversation = Conversation.restore(registry, data)
            conversation.answer(reply)
            data = conversation.dump()
            times.append(clock() - t0)
    return times


def bare_trigger_times(registry: FlowRegistry, rounds: int) -> list[float]:
    flow = registry.current()
    trigger = flow.machine.events[ANSWER].trigger
    times: list[float] = []
    clock = time.perf_counter
    for _ in range(rounds):
        model = _Model("TrainSize")
        t0 = clock()
        trigger(model, option="10-100B params")
        times.append(clock() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=20_000, help="steps to time (default 20000)")
    args = parser.parse_args()
    registry = FlowRegistry([load_flow()])
    rounds = max(1, args.steps // len(REPLIES))
    engine_step_times(registry, 200)  # warm-up
    bare_trigger_times(registry, 200)
    ours = statistics.median(engine_step_times(registry, rounds)) * 1e6
    bare = statistics.median(bare_trigger_times(registry, rounds * len(REPLIES))) * 1e6
    print(f"{'measure':<44}{'median µs/step':>16}")
    print(f"{'restore JSON + answer + dump (ours)':<44}{ours:>16.1f}")
    print(f"{'bare machine.events[answer].trigger':<44}{bare:>16.1f}")
    print(
        f"ratio ours/bare: {ours / bare:.2f}x   target: median under 50 µs per step "
        f"({'met' if ours < 50 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
