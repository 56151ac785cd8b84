"""Graph's published limits, as the kit's sliding windows.

Directory writes are limited per app + tenant (reference §4.2: 3,000 writes per 2 min 30 s) and
team creation per app + tenant (§2.5: 10 per second). A refused request gets 429 with
``Retry-After``; the kit's limiter repeats the remaining wait to a client that comes back early
and counts it as an early retry.
"""

from __future__ import annotations

from adapters.kit.sandbox import Limit

from .settings import SandboxSettings

WRITE_SCOPE = "write"
TEAM_SCOPE = "team"


def scope_limit(scope: str, settings: SandboxSettings) -> Limit | None:
    """The limit of ``scope`` now, its window scaled by the time scale; None when unlimited."""
    if scope == WRITE_SCOPE:
        if settings.directory_write_limit <= 0 or settings.directory_write_window_s <= 0:
            return None
        return Limit(
            settings.directory_write_limit, settings.scaled(settings.directory_write_window_s)
        )
    return Limit.per_second(settings.team_create_per_second, settings.time_scale)
