"""Throttling and fault injection.

Directory writes are limited per app + tenant (reference §4.2: 3,000 writes per 2 min 30 s) and
team creation per app + tenant (§2.5: 10 per second). Both are sliding windows; a refused request
gets 429 with ``Retry-After`` in whole seconds. As Dev Proxy's RetryAfterPlugin does, a client
that sends another request of the same scope before its Retry-After has elapsed is throttled
again (and counted as an early retry when it was sent after the 429 reached it); the remaining
wait is repeated, not extended.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass

from .entra import Caller
from .settings import SandboxSettings

WRITE_SCOPE = "write"
TEAM_SCOPE = "team"
FAULT_STATUSES = (500, 502, 503, 504)


@dataclass(frozen=True)
class Throttle:
    """A refusal: how long to wait, whether the request came early, and its scope."""

    retry_after: int
    early: bool
    scope: str


class SlidingWindow:
    """Timestamps of admitted requests within the last ``window`` seconds."""

    def __init__(self) -> None:
        self._events: deque[float] = deque()

    def _trim(self, now: float, window: float) -> None:
        while self._events and self._events[0] <= now - window:
            self._events.popleft()

    def admit(self, now: float, limit: int, window: float) -> float | None:
        """Record the request and return None, or return the seconds until a slot frees."""
        self._trim(now, window)
        if len(self._events) >= limit:
            return self._events[0] + window - now
        self._events.append(now)
        return None

    def usage(self, now: float, limit: int, window: float) -> float:
        self._trim(now, window)
        return len(self._events) / limit if limit > 0 else 0.0


def _scope_limits(scope: str, settings: SandboxSettings) -> tuple[int, float] | None:
    if scope == WRITE_SCOPE:
        if settings.directory_write_limit <= 0 or settings.directory_write_window_s <= 0:
            return None
        return settings.directory_write_limit, settings.directory_write_window_s
    rate = settings.team_create_per_second
    if rate <= 0:
        return None
    limit = max(1, math.floor(rate))
    return limit, limit / rate


class Limiter:
    """Sliding windows and Retry-After deadlines per (app + tenant, scope)."""

    def __init__(self) -> None:
        self._windows: dict[tuple[Caller, str], SlidingWindow] = {}
        # (deadline, when the client could first know of it) per (app + tenant, scope)
        self._deadlines: dict[tuple[Caller, str], tuple[float, float]] = {}

    def check(
        self,
        caller: Caller,
        scope: str,
        now: float,
        settings: SandboxSettings,
        arrived_at: float,
        pending: list[tuple[Caller, str]] | None = None,
    ) -> Throttle | None:
        """Admit the request or refuse it with a Retry-After.

        A request refused while an earlier Retry-After runs is an early retry only if it
        arrived after the client could have seen that 429: requests already in flight, and the
        other requests of the $batch that carried it (``pending``, delivered with the
        envelope), are throttled but not counted as early.
        """
        key = (caller, scope)
        current = self._deadlines.get(key)
        if current is not None and now < current[0]:
            deadline, known_at = current
            return Throttle(max(1, math.ceil(deadline - now)), arrived_at >= known_at, scope)
        limits = _scope_limits(scope, settings)
        if limits is None:
            return None
        wait = self._windows.setdefault(key, SlidingWindow()).admit(now, *limits)
        if wait is None:
            return None
        retry_after = max(1, math.ceil(wait))
        if pending is None:
            self._deadlines[key] = (now + retry_after, now)
        else:
            self._deadlines[key] = (now + retry_after, math.inf)
            pending.append(key)
        return Throttle(retry_after, False, scope)

    def delivered(self, keys: list[tuple[Caller, str]], now: float) -> None:
        """The $batch response carrying these 429s has left: the client knows from now on."""
        for key in keys:
            current = self._deadlines.get(key)
            if current is not None and current[1] == math.inf:
                self._deadlines[key] = (current[0], now)

    def write_usage(self, caller: Caller, now: float, settings: SandboxSettings) -> float:
        limits = _scope_limits(WRITE_SCOPE, settings)
        window = self._windows.get((caller, WRITE_SCOPE))
        if limits is None or window is None:
            return 0.0
        return window.usage(now, *limits)


class FaultInjector:
    """Draws injected faults from a seeded RNG so a run can be repeated."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._rng = random.Random(seed)

    def draw(self, settings: SandboxSettings) -> str | None:
        if settings.seed != self._seed:
            self._seed = settings.seed
            self._rng = random.Random(settings.seed)
        if settings.fault_rate <= 0 or not settings.fault_kinds:
            return None
        if self._rng.random() >= settings.fault_rate:
            return None
        return self._rng.choice(settings.fault_kinds)

    def status(self) -> int:
        return self._rng.choice(FAULT_STATUSES)
