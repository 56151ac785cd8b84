"""How long to wait before asking a service again: exponential backoff with full jitter, and
the service's Retry-After honoured.

This is the delay rule of the kit's HTTP client (:mod:`adapters.kit.http`), which retries only
what is safe to send twice. Operations that write are retried by the engine's executor, never
here (docs/architecture.md, "Who owns retries and pacing").
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
"""Answers that say "not now": throttled, or the service failed on its side."""


@dataclass
class Backoff:
    """How often and how long to wait; ``sleep`` and ``rng`` are replaceable for tests."""

    attempts: int = 6
    base_s: float = 0.5
    cap_s: float = 30.0
    retry_after_cap_s: float = 300.0
    sleep: Callable[[float], Awaitable[None]] | None = None
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform between 0 and base * 2**attempt, capped."""
        return self.rng.uniform(0, min(self.cap_s, self.base_s * (2**attempt)))

    def delay(self, attempt: int, retry_after: str | None) -> float:
        wait = parse_retry_after(retry_after)
        return self.backoff(attempt) if wait is None else wait


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
