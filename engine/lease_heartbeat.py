"""Keeps a run's lease alive while the run lives, whether it writes or not.

Renewed only when it writes, a lease must outlast the longest silence of a run (a slow source
read, a wait for a service's rate limit), so it has to be long, and a run whose process died on
another machine can only be taken over once that long lease expires. The heartbeat renews the
lease every third of its time from a task on the run's own event loop: a process that died, or
whose loop is stuck, stops renewing, and its lease expires within one lease time, like the
queue's own worker heartbeat. The fencing token is still checked on every write: a heartbeat
that finds the lease taken over stops, and the run's next write raises ``LeaseLost``.
"""

from __future__ import annotations

import asyncio
import logging
from types import TracebackType

from engine.journal import Journal, Lease
from engine.journal.protocol import LeaseLost

log = logging.getLogger("ess.lease")


class LeaseHeartbeat:
    """``async with LeaseHeartbeat(journal, lease, ttl):`` renews ``lease`` for ``ttl``
    seconds every ``ttl / 3`` seconds until the block ends."""

    def __init__(self, journal: Journal, lease: Lease, ttl: float) -> None:
        self.journal, self.lease, self.ttl = journal, lease, ttl
        self.lost = False  # the lease was taken over: the run's next write is refused
        self.renewals = 0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LeaseHeartbeat:
        self._task = asyncio.create_task(self._beat(), name=f"lease:{self.lease.tenant}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                # our own cancel of the heartbeat; a cancel of the run itself goes on
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                await self.journal.renew_lease(self.lease, self.ttl)
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
