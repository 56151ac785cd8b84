"""Keeps a run's lease alive while the run lives, whether it writes or not.

Renewed only when it writes, a lease must outlast the longest silence of a run (a slow source
read, a wait for a service's rate limit), so it has to be long, and a run whose process died on
another machine can only be taken over once that long lease expires. The heartbeat renews the
lease every third of its time, so a process that died, or was stopped, stops renewing and its
lease expires within one lease time. The fencing token is still checked on every write: a
heartbeat that finds the lease taken over stops, and the run's next write raises ``LeaseLost``.

Given ``own_journal`` (a hosted worker's short lease), it beats from a thread of its own, with
its own connection, so that nothing the run does on its event loop (planning a large
municipality holds the loop for many seconds) keeps it from renewing; otherwise it is a task on
the run's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from types import TracebackType

from engine.journal import Journal, Lease
from engine.journal.protocol import LeaseLost

log = logging.getLogger("ess.lease")

JournalOpener = Callable[[], Awaitable[Journal]]


class LeaseHeartbeat:
    """``async with LeaseHeartbeat(journal, lease, ttl):`` renews ``lease`` for ``ttl``
    seconds every ``ttl / 3`` seconds until the block ends."""

    def __init__(
        self,
        journal: Journal,
        lease: Lease,
        ttl: float,
        *,
        own_journal: JournalOpener | None = None,
    ) -> None:
        self.journal, self.lease, self.ttl = journal, lease, ttl
        self.own_journal = own_journal
        self.lost = False  # the lease was taken over: the run's next write is refused
        self.renewals = 0
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._apart: tuple[asyncio.AbstractEventLoop, asyncio.Task[None]] | None = None
        self._ready = threading.Event()

    async def __aenter__(self) -> LeaseHeartbeat:
        if self.own_journal is None:
            self._task = asyncio.create_task(self._beat_with(self.journal), name="lease")
        else:
            self._thread = threading.Thread(
                target=self._thread_main, name=f"lease:{self.lease.tenant}", daemon=True
            )
            self._thread.start()
            await asyncio.to_thread(self._ready.wait)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._thread is not None:
            if self._apart is not None:
                loop, beating = self._apart
                loop.call_soon_threadsafe(beating.cancel)
            await asyncio.to_thread(self._thread.join)
            return
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                # our own cancel of the heartbeat; a cancel of the run itself goes on
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise

    def _thread_main(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            asyncio.run(self._apart_main())
        self._ready.set()  # also when it could not start

    async def _apart_main(self) -> None:
        task = asyncio.current_task()
        assert task is not None and self.own_journal is not None
        self._apart = (asyncio.get_running_loop(), task)
        self._ready.set()
        journal: Journal | None = None
        try:
            while journal is None:
                try:
                    journal = await self.own_journal()
                except Exception as exc:  # the database away: the run's loop would fail too
                    log.warning("%s: the heartbeat cannot connect: %s", self.lease.tenant, exc)
                    await asyncio.sleep(self.ttl / 3)
            await self._beat_with(journal)
        finally:
            if journal is not None:
                await journal.close()

    async def _beat_with(self, journal: Journal) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                await journal.renew_lease(self.lease, self.ttl)
                self.renewals += 1
            except LeaseLost:
                self.lost = True
                log.warning(
                    "%s: the lease was taken over by another run; this run's writes are refused",
                    self.lease.tenant,
                )
                return
            except Exception as exc:  # the database away for a moment: try at the next beat
                log.warning("%s: the lease could not be renewed: %s", self.lease.tenant, exc)
