"""Parts of a batch sent again, round by round: the one loop every batching client shares.

A batch (Graph's ``$batch``, Google's multipart batch) answers each part alone, so a throttled
part, or a failed one that is safe to send twice, is sent again on its own, after its own
Retry-After, while the rest are settled. What a part is, how a round is sent and which parts go
again (and how long to wait) are the adapter's; the rounds, their bound and the waiting are
here, once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

P = TypeVar("P")


async def in_rounds(
    parts: Sequence[P],
    send: Callable[[list[P]], Awaitable[None]],
    again: Callable[[list[P], int], Mapping[int, float]],
    *,
    max_rounds: int,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    prepare: Callable[[list[P]], list[P]] | None = None,
) -> int:
    """Send ``parts``, then again those ``again`` names, at most ``max_rounds`` rounds in all.

    ``send`` sends one round and keeps its answers; ``again(sent, round)`` answers, by index
    into ``sent``, the parts to send once more and the seconds to wait first (a Retry-After, a
    backoff; 0 when a shared gate already holds them). ``prepare`` may rewrite the parts before
    a later round. Returns the rounds made."""
    todo = list(parts)
    rounds = 0
    while todo and rounds < max_rounds:
        rounds += 1
        await send(todo)
        if rounds >= max_rounds:
            break
        chosen = again(todo, rounds)
        if not chosen:
            break
        wait = max(chosen.values())
        if wait > 0:
            await sleep(wait)
        todo = [todo[i] for i in sorted(chosen)]
        if prepare is not None:
            todo = prepare(todo)
    return rounds
