"""The memory target with faults that replay exactly (``type = "memory-replay"``).

The plain memory target draws its faults from one random stream in the order requests arrive,
so retries, backoff jitter and concurrency change which write meets which fault from one run
to the next. Here the stream is seeded afresh for every attempt from the seed and the attempt
itself (kind, parent, key, action and attempt number), so a failing example of a property test
replays to the same faults. Every fault and how it is answered stay the memory target's own.
"""

from __future__ import annotations

import hashlib
import random

from engine.plan import Operation
from engine.target import Outcome, TargetContext
from engine.testing.memory_target import MemoryTarget


def attempt_seed(seed: int, op: Operation) -> int:
    """A seed fixed by the target's seed and one attempt of one operation."""
    text = f"{seed}|{op.kind}|{op.parent}|{op.key}|{op.action}|{op.attempts}"
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class ReplayMemoryTarget(MemoryTarget):
    """Faults decided per attempt, not per arrival."""

    def _apply_one(self, op: Operation, ctx: TargetContext) -> Outcome:
        self._rng = random.Random(attempt_seed(self.cfg.seed, op))
        return super()._apply_one(op, ctx)
