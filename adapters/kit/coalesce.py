"""Gathering: the requests concurrent operations make in the same moment, sent together.

Services that take many requests in one call (Graph's JSON ``$batch`` of 20, Google's
multipart batches of 50 or 1,000 parts) cost fewer calls when the requests that are ready at
the same moment travel together. Each operation's logic still reads as plain sequential calls:
it hands its requests to a :class:`Gatherer` and awaits their answers; the gatherer waits until
every operation that is ready has asked, then hands everything asked to the adapter's ``send``,
which packs envelopes in its own format, sends them and answers each request. The envelope
format, its size and what is sent again inside it stay in the adapter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Req = TypeVar("Req")
Resp = TypeVar("Resp")

SendAll = Callable[[list[Req]], Awaitable[Sequence[Resp]]]
"""The adapter's sender: one answer per request, in the order asked."""


class Gatherer(Generic[Req, Resp]):
    """Collects requests asked in the same moment and sends them with one ``send`` call."""

    def __init__(self, send: SendAll[Req, Resp]) -> None:
        self._send = send
        self._pending: list[tuple[list[Req], asyncio.Future[list[Resp]]]] = []
        self._collecting = False  # a flush is scheduled and has not taken the pending list yet
        self._tasks: set[asyncio.Task[None]] = set()

    async def ask(self, requests: Sequence[Req]) -> list[Resp]:
        """The answers to ``requests``, sent together with whatever else is asked now. An
        exception of ``send`` is raised to every caller of that round."""
        fut: asyncio.Future[list[Resp]] = asyncio.get_running_loop().create_future()
        self._pending.append((list(requests), fut))
        if not self._collecting:
            self._collecting = True
            task = asyncio.create_task(self._flush())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await fut

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let every operation that is ready make its request first
        await asyncio.sleep(0)
        pending, self._pending = self._pending, []
        self._collecting = False
        if not pending:
            return
        try:
            answers = list(await self._send([r for reqs, _ in pending for r in reqs]))
        except Exception as exc:  # handed to every waiting operation
            for _, fut in pending:
                if not fut.done():
                    fut.set_exception(exc)
            return
        at = 0
        for reqs, fut in pending:
            if not fut.done():
                fut.set_result(answers[at : at + len(reqs)])
            at += len(reqs)
