"""The one sliding-window limiter: a client paced at a service's published limit, and the log
of recent requests a sandbox throttles with.

Services count requests in a sliding window (Graph: 3,000 directory writes per 150 s per app
and tenant; 10 team creations a second), so a token bucket with a full burst would overrun
them. :class:`WindowLog` is the window: the sorted times of recent requests. :class:`Pacer`
keeps a client just under it, so a long run is paced instead of throttled:

- a request counts from when it is sent (in flight) and, once answered, is logged at the time
  of its answer, the latest moment the service can have counted it, so the client's window
  never frees a slot before the service's does; a request that got no answer is logged a
  little later still (the service may still be working on it);
- a 429's Retry-After holds every sender of the pacer, so no request arrives before the
  service said it may.

The pacer belongs to the target's client, the one layer that knows what each request really
costs ($batch inner writes, follow-up writes, a separate limit for some kinds); the executor
only bounds how much is in flight (docs/architecture.md, "Who retries what").
"""

from __future__ import annotations

import asyncio
import bisect
import time
from dataclasses import dataclass


class WindowLog:
    """Sorted times of requests within the last ``window_s`` seconds."""

    def __init__(self, window_s: float) -> None:
        self.window = window_s
        self._times: list[float] = []

    def __len__(self) -> int:
        return len(self._times)

    def trim(self, now: float) -> None:
        """Forget what left the window by ``now``."""
        cut = bisect.bisect_right(self._times, now - self.window)
        if cut:
            del self._times[:cut]

    def add(self, at: float, count: int = 1) -> None:
        """Log ``count`` requests at ``at`` (kept sorted: answers arrive out of order)."""
        for _ in range(count):
            bisect.insort(self._times, at)

    def frees_at(self, n: int) -> float:
        """When the ``n``-th oldest logged request (1-based) leaves the window."""
        return self._times[n - 1] + self.window


class Pacer:
    """At most ``limit`` units in any ``window_s`` seconds, less ``headroom``, and every
    sender held on a Retry-After."""

    def __init__(self, limit: int, window_s: float, *, headroom: float = 0.01) -> None:
        self.limit = max(1, int(limit * (1 - headroom)))
        self.window = window_s
        self._log = WindowLog(window_s)
        self._in_flight = 0  # units sent and not answered yet: they always count
        self._gate = 0.0  # monotonic time before which nothing may be sent (Retry-After)
        self._lock = asyncio.Lock()

    def hold(self, seconds: float) -> None:
        """Stop every sender for ``seconds`` (a Retry-After), plus a little for clock skew."""
        self._gate = max(self._gate, time.monotonic() + seconds + 0.05)

    @property
    def held_for(self) -> float:
        return max(0.0, self._gate - time.monotonic())

    @property
    def in_flight(self) -> int:
        """Units sent whose answer has not arrived."""
        return self._in_flight

    def used(self) -> int:
        """Units that count against the window now: logged ones and those in flight."""
        self._log.trim(time.monotonic())
        return len(self._log) + self._in_flight

    async def acquire(self, units: int = 1) -> None:
        """Wait until ``units`` may be sent without passing the window or a Retry-After.

        The units count as in flight until :meth:`settle` logs them at the time their answer
        arrived; call it exactly once for every acquire, whatever happened. ``0`` units (a
        read) only waits out a Retry-After.
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
                self._log.trim(now)
                used = len(self._log) + self._in_flight
                if used + units <= self.limit:
                    self._in_flight += units
                    return
                need = used + units - self.limit  # this many logged units must expire first
                wait = 0.05  # or an answer arrives and moves an in-flight unit into the log
                if need <= len(self._log):
                    wait = min(wait, max(self._log.frees_at(need) - now, 0.001))
                await asyncio.sleep(wait)

    def settle(self, units: int, *, later_s: float = 0.0) -> None:
        """Log ``units`` in-flight units at now, when their answer arrived (or ``later_s``
        after now, when no answer came and the service may still count them)."""
        if units <= 0:
            return
        units = min(units, self.limit)
        self._in_flight = max(0, self._in_flight - units)
        self._log.add(time.monotonic() + later_s, units)

    async def wait_gate(self) -> None:
        """Wait out a Retry-After (the gate may be pushed further while waiting)."""
        wait = self._gate - time.monotonic()
        while wait > 0:
            await asyncio.sleep(wait)
            wait = self._gate - time.monotonic()


@dataclass(frozen=True)
class Pace:
    """What one request costs against which pacers, and which pacer a 429 holds.

    Graph's team creation costs one directory write and one team creation, and a 429 on it
    holds the team creations only; a read costs nothing but a 429 on it holds the writes.
    """

    costs: tuple[tuple[Pacer, int], ...]
    holds: Pacer
    default_hold_s: float = 5.0  # a 429 without a Retry-After

    async def acquire(self) -> None:
        for pacer, units in self.costs:
            await pacer.acquire(units)

    def settle(self, later_s: float = 0.0) -> None:
        for pacer, units in reversed(self.costs):
            pacer.settle(units, later_s=later_s)

    def throttled(self, retry_after_s: float | None) -> None:
        self.holds.hold(self.default_hold_s if retry_after_s is None else retry_after_s)
