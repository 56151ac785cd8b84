"""A bearer token kept until shortly before it expires, fetched once however many callers wait.

Both target and source adapters sign in with OAuth2 client credentials; how each fetches a
token differs (a library, a plain form post), but keeping it is the same: the first caller
after expiry fetches, the others wait on the lock and then take the new token.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


def _monotonic() -> float:
    return time.monotonic()


class TokenCache:
    """The current token and when to renew it, by ``clock`` (monotonic seconds)."""

    def __init__(self, clock: Callable[[], float] = _monotonic) -> None:
        self.clock = clock
        self.token: str | None = None
        self.renew_at = 0.0
        self.fetched = 0  # tokens fetched so far
        self._lock = asyncio.Lock()

    def current(self) -> str | None:
        """The token if it is still good, else None."""
        if self.token is not None and self.clock() < self.renew_at:
            return self.token
        return None

    async def get(self, fetch: Callable[[], Awaitable[tuple[str, float]]]) -> str:
        """The current token, or a new one from ``fetch`` (the token and when to renew it)."""
        if (token := self.current()) is not None:
            return token
        async with self._lock:
            if (token := self.current()) is not None:
                return token
            token, renew_at = await fetch()
            self.token, self.renew_at = token, renew_at
            self.fetched += 1
            return token

    def forget(self) -> None:
        """The token was refused: the next :meth:`get` fetches a new one."""
        self.token = None
        self.renew_at = 0.0
