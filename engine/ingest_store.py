"""Where the ingest keeps agent uploads, behind one small protocol: the inbox folder (one
machine, the embedded default) or the journal (any number of ingest processes on one hosted
journal, :mod:`engine.journal.agent_uploads`). The ingest writes through it and the tenants'
``agent`` sources and the agent status read through it, so both stores behave alike.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Protocol

from engine.ingest_inbox import Accepted, Inbox, Pending


class Replay(Exception):
    """An upload whose sequence number is not above its agent's last accepted one."""

    def __init__(self, last_seq: int) -> None:
        super().__init__(f"sequence not above the last accepted ({last_seq})")
        self.last_seq = last_seq


class UploadReader(Protocol):
    """What a tenant's ``agent`` source and the agent status need: the latest accepted upload."""

    async def latest(self, tenant: str) -> tuple[Accepted, bytes] | None: ...

    async def latest_meta(self, tenant: str) -> Accepted | None: ...


class UploadStore(UploadReader, Protocol):
    """The ingest's store. ``begin`` and ``accept`` refuse a replay (:class:`Replay`) as one
    step with their write, so two ingest processes cannot both accept one sequence number."""

    root: Path | str  # where the uploads are, for messages

    async def begin(
        self, agent: str, tenant: str, seq: int, size: int, sha256: str, version: str
    ) -> tuple[Pending, int]: ...

    async def pending(self, upload_id: str) -> Pending: ...  # KeyError when none is open

    async def offset(self, upload_id: str) -> int: ...

    async def append(self, upload_id: str, offset: int, chunk: bytes) -> int: ...

    async def body(self, upload_id: str) -> bytes: ...

    async def discard(self, upload_id: str) -> None: ...

    async def accept(self, pending: Pending, counts: dict[str, int]) -> Accepted: ...

    async def prune(self, idle_since: datetime) -> int: ...  # open uploads idle since then

    async def last_of_agent(self, agent: str, tenant: str) -> Accepted | None: ...

    async def aclose(self) -> None: ...


class InboxStore:
    """The inbox folder (:mod:`engine.ingest_inbox`): blocking file work run off the event
    loop, one change at a time (one ingest process owns a folder)."""

    def __init__(self, root: Path) -> None:
        self.folder = Inbox(root)
        self.root: Path | str = root
        self._lock = asyncio.Lock()

    def _last(self, agent: str) -> int | None:
        last = self.folder.last_of_agent(agent)
        return None if last is None else last.seq

    async def begin(
        self, agent: str, tenant: str, seq: int, size: int, sha256: str, version: str
    ) -> tuple[Pending, int]:
        async with self._lock:
            last = await asyncio.to_thread(self._last, agent)
            if last is not None and seq <= last:
                raise Replay(last)
            pending = await asyncio.to_thread(
                self.folder.begin, agent, tenant, seq, size, sha256, version
            )
            return pending, await asyncio.to_thread(self.folder.offset, pending.upload_id)

    async def pending(self, upload_id: str) -> Pending:
        try:
            return await asyncio.to_thread(self.folder.pending, upload_id)
        except OSError:
            raise KeyError(upload_id) from None

    async def offset(self, upload_id: str) -> int:
        return await asyncio.to_thread(self.folder.offset, upload_id)

    async def append(self, upload_id: str, offset: int, chunk: bytes) -> int:
        async with self._lock:
            return await asyncio.to_thread(self.folder.append, upload_id, offset, chunk)

    async def body(self, upload_id: str) -> bytes:
        return await asyncio.to_thread(self.folder.body, upload_id)

    async def discard(self, upload_id: str) -> None:
        async with self._lock:
            await asyncio.to_thread(self.folder.discard, upload_id)

    async def accept(self, pending: Pending, counts: dict[str, int]) -> Accepted:
        async with self._lock:
            last = await asyncio.to_thread(self._last, pending.agent)
            if last is not None and pending.seq <= last:
                await asyncio.to_thread(self.folder.discard, pending.upload_id)
                raise Replay(last)
            body = await asyncio.to_thread(self.folder.body, pending.upload_id)
            return await asyncio.to_thread(self.folder.accept, pending, body, counts)

    async def prune(self, idle_since: datetime) -> int:
        async with self._lock:
            return await asyncio.to_thread(self.folder.prune, idle_since)

    async def last_of_agent(self, agent: str, tenant: str) -> Accepted | None:
        return await asyncio.to_thread(self.folder.last_of_agent, agent)

    async def latest(self, tenant: str) -> tuple[Accepted, bytes] | None:
        return await asyncio.to_thread(self.folder.latest, tenant)

    async def latest_meta(self, tenant: str) -> Accepted | None:
        return await asyncio.to_thread(self.folder.latest_meta, tenant)

    async def aclose(self) -> None:
        return None
