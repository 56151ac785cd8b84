"""Client-side pacing at Graph's published limits, and a shared Retry-After gate.

Graph counts directory writes in a sliding window (3,000 per 150 s per app and tenant) and team
creations per second. A sorted log of recent writes keeps the client just under the window, so
a long run is paced instead of throttled. A write counts from when it is sent; once answered it
is logged at the time of its answer, the latest moment Graph can have counted it, so the
client's window never frees a slot before Graph's does. When Graph does answer 429, its
Retry-After holds every sender of that scope, so no request arrives before the service said it
may.
"""

from __future__ import annotations

import asyncio
import bisect
import time


class WriteWindow:
    """At most ``limit`` units in any ``window_s`` seconds."""

    def __init__(self, limit: int, window_s: float, *, headroom: float = 0.01) -> None:
        self.limit = max(1, int(limit * (1 - headroom)))
        self.window = window_s
        self._log: list[float] = []  # sorted monotonic times of recent answered writes
        self._in_flight = 0  # writes sent and not answered yet: they always count
        self._gate = 0.0  # monotonic time before which nothing may be sent (Retry-After)
        self._lock = asyncio.Lock()

    def hold(self, seconds: float) -> None:
        """Stop every sender for ``seconds`` (a Retry-After), plus a little for clock skew."""
        self._gate = max(self._gate, time.monotonic() + seconds + 0.05)

    @property
    def held_for(self) -> float:
        return max(0.0, self._gate - time.monotonic())

    def _trim(self, now: float) -> None:
        cut = bisect.bisect_right(self._log, now - self.window)
        if cut:
            del self._log[:cut]

    async def acquire(self, units: int = 1) -> None:
        """Wait until ``units`` may be sent without passing the window or a Retry-After.

        The units count as in flight until :meth:`settle` logs them at the time their answer
        arrived; call it exactly once for every acquire, whatever happened.
        """
        if units <= 0:
            await self.wait_gate()
            return
        units = min(units, self.limit)
        async with self._lock:
            while True:
                now = time.monotonic()
                if now < self._gate:
                    await asyncio.sleep(self._gate - now)
                    continue
                self._trim(now)
                used = len(self._log) + self._in_flight
                if used + units <= self.limit:
                    self._in_flight += units
                    return
                need = used + units - self.limit  # this many logged writes must expire first
                wait = 0.05  # or an answer arrives and moves an in-flight write into the log
                if need <= len(self._log):
                    wait = min(wait, max(self._log[need - 1] + self.window - now, 0.001))
                await asyncio.sleep(wait)

    def settle(self, units: int, *, later_s: float = 0.0) -> None:
        """Log ``units`` in-flight writes at now, when their answer arrived (or ``later_s``
        after now, when no answer came and the service may still count them)."""
        if units <= 0:
            return
        units = min(units, self.limit)
        self._in_flight = max(0, self._in_flight - units)
        at = time.monotonic() + later_s
        for _ in range(units):
            bisect.insort(self._log, at)

    async def wait_gate(self) -> None:
        """Wait out a Retry-After (the gate may be pushed further while waiting)."""
        wait = self._gate - time.monotonic()
        while wait > 0:
            await asyncio.sleep(wait)
            wait = self._gate - time.monotonic()
