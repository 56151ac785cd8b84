"""Throttling with Retry-After: a sliding-window limit per key.

A key is whatever the service throttles by (an app + tenant and a scope, a client id). A refused
request gets a Retry-After in whole published seconds, times the time scale. As Dev Proxy's
RetryAfterPlugin does, a client that sends another request of the same key before its
Retry-After has elapsed is refused again, and counted as an *early retry* when it was sent after
the 429 reached it; the remaining wait is repeated, not extended.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from adapters.kit.pacing import WindowLog

Key = TypeVar("Key", bound=Hashable)


@dataclass(frozen=True)
class Limit:
    """``count`` requests per ``window_s`` seconds (already time-scaled)."""

    count: int
    window_s: float

    @classmethod
    def per_second(cls, rate: float, scale: float = 1.0) -> Limit | None:
        """A rate as a window: at least one request, over ``count / rate`` seconds."""
        if rate <= 0:
            return None
        count = max(1, math.floor(rate))
        return cls(count, count / rate * scale)


@dataclass(frozen=True)
class Throttle:
    """A refusal: how long to wait (seconds, as sent in Retry-After) and whether it came early."""

    retry_after: float
    early: bool

    @property
    def header(self) -> str:
        """The Retry-After value: whole seconds when whole, else milliseconds rounded up."""
        if self.retry_after == int(self.retry_after):
            return str(int(self.retry_after))
        return f"{math.ceil(self.retry_after * 1000) / 1000:g}"


def retry_after_s(wait: float, scale: float = 1.0) -> float:
    """Whole published seconds (at least one) for a wait of ``wait`` scaled seconds."""
    published = wait / scale if scale > 0 else wait
    return max(1, math.ceil(published - 1e-9)) * scale


class SlidingWindow:
    """Admitted requests within the last ``window`` seconds: the kit's one sliding window
    (:class:`adapters.kit.pacing.WindowLog`), which a client paces by and a sandbox refuses
    by. The window follows the limit, which a test may change while the sandbox runs."""

    def __init__(self) -> None:
        self._log = WindowLog(0.0)

    def _trim(self, now: float, window: float) -> None:
        self._log.window = window
        self._log.trim(now)

    def admit(self, now: float, limit: Limit) -> float | None:
        """Record the request and return None, or return the seconds until a slot frees."""
        self._trim(now, limit.window_s)
        if len(self._log) >= limit.count:
            return self._log.frees_at(1) - now
        self._log.add(now)
        return None

    def usage(self, now: float, limit: Limit) -> float:
        """The share of the window in use (0..1)."""
        self._trim(now, limit.window_s)
        return len(self._log) / limit.count if limit.count > 0 else 0.0


class Limiter(Generic[Key]):
    """Sliding windows and Retry-After deadlines per key."""

    def __init__(self) -> None:
        self._windows: dict[Key, SlidingWindow] = {}
        # (deadline, when the client could first know of it) per key
        self._deadlines: dict[Key, tuple[float, float]] = {}

    def check(
        self,
        key: Key,
        limit: Limit | None,
        now: float,
        arrived_at: float,
        *,
        scale: float = 1.0,
        pending: list[Key] | None = None,
    ) -> Throttle | None:
        """Admit the request (None) or refuse it with a Retry-After.

        A request refused while an earlier Retry-After runs is early only if it arrived after
        the client could have seen that 429: requests already in flight, and those answered in
        the same envelope (``pending``: known once :meth:`delivered` is called), are not.
        """
        current = self._deadlines.get(key)
        if current is not None and now < current[0]:
            deadline, known_at = current
            return Throttle(retry_after_s(deadline - now, scale), arrived_at >= known_at)
        if limit is None or limit.count <= 0 or limit.window_s <= 0:
            return None
        wait = self._windows.setdefault(key, SlidingWindow()).admit(now, limit)
        if wait is None:
            return None
        retry_after = retry_after_s(wait, scale)
        if pending is None:
            self._deadlines[key] = (now + retry_after, now)
        else:
            self._deadlines[key] = (now + retry_after, math.inf)
            pending.append(key)
        return Throttle(retry_after, False)

    def delivered(self, keys: list[Key], now: float) -> None:
        """The response carrying these keys' 429s has left: the client knows from now on."""
        for key in keys:
            current = self._deadlines.get(key)
            if current is not None and current[1] == math.inf:
                self._deadlines[key] = (current[0], now)

    def usage(self, key: Key, limit: Limit | None, now: float) -> float:
        window = self._windows.get(key)
        if limit is None or window is None:
            return 0.0
        return window.usage(now, limit)
