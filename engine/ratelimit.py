"""A sliding-window limiter per target, sized from the service's published limit.

A token bucket with a full burst would overrun a service that counts requests in a sliding
window (Graph counts writes per 150 s), so this keeps a log of recent sends instead. A 429's
Retry-After pauses every sender of the target, not just the one that was refused.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque


class SlidingWindowLimiter:
    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = max(1, limit)
        self.window = window_s
        self._sent: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        """Hold every sender for ``seconds`` (a Retry-After from the service)."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def acquire(self, cost: int = 1) -> None:
        cost = min(max(1, cost), self.limit)
        async with self._lock:
            while True:
                now = time.monotonic()
                if now < self._paused_until:
                    await asyncio.sleep(self._paused_until - now)
                    continue
                while self._sent and self._sent[0] <= now - self.window:
                    self._sent.popleft()
                if len(self._sent) + cost <= self.limit:
                    self._sent.extend([now] * cost)
                    return
                wait = self._sent[len(self._sent) + cost - self.limit - 1] + self.window - now
                await asyncio.sleep(max(wait, 0.001))
