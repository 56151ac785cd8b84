"""Fault injection drawn from a seeded RNG, so that a run with faults can be repeated.

The kinds every sandbox knows: ``5xx`` (refused, nothing applied), ``applied_5xx`` (applied,
then answered 5xx, so a retry must cope with what already happened) and ``timeout`` (no answer
within ``timeout_hang_s``, then 504). A sandbox may add kinds of its own (a broken page, an HTML
error page); the dice only choose among the names they are given.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

REFUSED_5XX = "5xx"
APPLIED_5XX = "applied_5xx"
TIMEOUT = "timeout"
FAULT_KINDS = (REFUSED_5XX, APPLIED_5XX, TIMEOUT)
FAULT_STATUSES = (500, 502, 503, 504)

T = TypeVar("T")


class FaultDice:
    """Draws faults from ``random.Random(seed)``; a new seed starts the sequence again."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self.rng = random.Random(seed)

    def reseed(self, seed: int) -> None:
        """Start over when the seed setting changed (the same seed keeps the sequence)."""
        if seed != self._seed:
            self._seed = seed
            self.rng = random.Random(seed)

    def draw(self, rate: float, kinds: Sequence[str]) -> str | None:
        """A fault kind for this request, or None; ``rate`` is the share of faulty requests."""
        if rate <= 0 or not kinds:
            return None
        if self.rng.random() >= rate:
            return None
        return self.rng.choice(list(kinds))

    def choice(self, options: Sequence[T]) -> T:
        """One of ``options`` from the same sequence (a status, a record to break)."""
        return self.rng.choice(options)
