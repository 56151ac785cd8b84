"""The executor's share of pacing: a pause that holds every sender of a target.

Counting writes against a service's published limit is the target's client's work (the kit's
pacer, adapters/kit/pacing.py): only it knows what a request costs ($batch inner writes,
follow-up writes, a separate limit for some kinds). The executor bounds how many batches are in
flight per lane, and when an outcome says the service throttled it (a 429 with Retry-After) it
holds every lane of the target until then, so no batch is started that would only be refused.
"""

from __future__ import annotations

import asyncio
import time


class PauseGate:
    """Nothing passes before the latest deadline set with :meth:`pause`."""

    def __init__(self) -> None:
        self._until = 0.0

    def pause(self, seconds: float) -> None:
        """Hold every sender for ``seconds`` (a Retry-After from the service)."""
        self._until = max(self._until, time.monotonic() + max(0.0, seconds))

    @property
    def held_for(self) -> float:
        return max(0.0, self._until - time.monotonic())

    async def wait(self) -> None:
        """Return once no pause holds (a pause may be pushed further while waiting)."""
        wait = self.held_for
        while wait > 0:
            await asyncio.sleep(wait)
            wait = self.held_for
