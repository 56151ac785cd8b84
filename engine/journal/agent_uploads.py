"""Agent uploads in the journal (SQLite or PostgreSQL, which share these queries), so that any
number of ``ess ingest`` processes serve one hosted installation without a shared folder.

An open upload is a row of ``agent_uploads`` with the bytes received so far as rows of
``agent_upload_chunks`` (one per chunk the agent sent, far under PostgreSQL's bytea limit);
a chunk lands only where the upload stands (a conditional update of ``received``), so two
processes given the same chunk store it once. Accepting moves the tenant's
``agent_snapshots`` row to the upload (its chunks stay, the previous snapshot's go) and raises
the agent's sequence in ``agent_sequences`` by a conditional update: of two processes
accepting one sequence number, exactly one changes a row, and the other's transaction is
rolled back as a replay.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from engine.ingest_inbox import Accepted, Pending
from engine.ingest_store import Replay
from engine.journal.protocol import Journal, JournalError
from engine.journal.sqlite import SqliteJournal, now_iso

_SNAPSHOT = "agent, tenant, seq, received_at, version, size, counts, upload_id"


def _accepted(row: Any) -> Accepted:
    return Accepted(
        str(row[0]),
        str(row[1]),
        int(row[2]),
        str(row[3]),
        str(row[4]),
        int(row[5]),
        {str(k): int(v) for k, v in json.loads(str(row[6])).items()},
        str(row[7]),
    )


def _pending(row: Any) -> Pending:
    return Pending(
        str(row[0]), str(row[1]), str(row[2]), int(row[3]), int(row[4]), str(row[5]), str(row[6])
    )


_PENDING = "upload_id, agent, tenant, seq, size, sha256, version"


class JournalUploads:
    """The ingest's :class:`engine.ingest_store.UploadStore` (and an ``agent`` source's reader)
    over a journal: given open, or opened on first use and closed by :meth:`aclose`."""

    def __init__(
        self,
        journal: Journal | None = None,
        *,
        opener: Callable[[], Awaitable[Journal]] | None = None,
        root: str = "the journal",
    ) -> None:
        self._journal = journal
        self._opener = opener
        self._opening = asyncio.Lock()
        self.root: Any = root

    async def _j(self) -> SqliteJournal:
        if self._journal is None:
            async with self._opening:
                if self._journal is None:
                    if self._opener is None:
                        raise JournalError("no journal to keep agent uploads in")
                    self._journal = await self._opener()
        journal = self._journal
        if not isinstance(journal, SqliteJournal):  # PostgresJournal is one too
            raise JournalError(f"{type(journal).__name__} cannot keep agent uploads")
        return journal

    async def begin(
        self, agent: str, tenant: str, seq: int, size: int, sha256: str, version: str
    ) -> tuple[Pending, int]:
        """The upload this agent already began with this sequence number and content (it lost
        the answer and asks again), or a new one; the agent's older open uploads for the
        tenant are dropped (it gave up on them)."""
        j = await self._j()
        async with j.transaction() as tx:
            last = await tx.one(
                "SELECT seq FROM agent_sequences WHERE tenant=? AND agent=?", (tenant, agent)
            )
            if last is not None and seq <= int(last[0]):
                raise Replay(int(last[0]))
            same = await tx.one(
                f"SELECT {_PENDING}, received FROM agent_uploads WHERE tenant=? AND agent=? "
                "AND seq=? AND size=? AND sha256=?",
                (tenant, agent, seq, size, sha256),
            )
            if same is not None:
                return _pending(same), int(same[7])
            older = "SELECT upload_id FROM agent_uploads WHERE tenant=? AND agent=? AND seq<?"
            await tx.execute(
                f"DELETE FROM agent_upload_chunks WHERE upload_id IN ({older})",
                (tenant, agent, seq),
            )
            await tx.execute(
                "DELETE FROM agent_uploads WHERE tenant=? AND agent=? AND seq<?",
                (tenant, agent, seq),
            )
            pending = Pending(secrets.token_hex(16), agent, tenant, seq, size, sha256, version)
            await tx.execute(
                f"INSERT INTO agent_uploads({_PENDING}, received, began_at, active_at) "
                "VALUES (?,?,?,?,?,?,?,0,?,?)",
                (*_row(pending), now_iso(), now_iso()),
            )
        return pending, 0

    async def pending(self, upload_id: str) -> Pending:
        j = await self._j()
        row = await j._one(f"SELECT {_PENDING} FROM agent_uploads WHERE upload_id=?", (upload_id,))
        if row is None:
            raise KeyError(upload_id)
        return _pending(row)

    async def offset(self, upload_id: str) -> int:
        j = await self._j()
        row = await j._one("SELECT received FROM agent_uploads WHERE upload_id=?", (upload_id,))
        if row is None:
            raise KeyError(upload_id)
        return int(row[0])

    async def append(self, upload_id: str, offset: int, chunk: bytes) -> int:
        """Stores ``chunk`` at ``offset`` if that is where the upload stands; the new offset."""
        j = await self._j()
        async with j.transaction() as tx:
            row = await tx.one(
                "SELECT tenant, received FROM agent_uploads WHERE upload_id=?", (upload_id,)
            )
            if row is None:
                raise KeyError(upload_id)
            moved = await tx.execute(
                "UPDATE agent_uploads SET received=received+?, active_at=? "
                "WHERE upload_id=? AND received=?",
                (len(chunk), now_iso(), upload_id, offset),
            )
            if moved.rowcount != 1:
                return int(row[1])
            await tx.execute(
                "INSERT INTO agent_upload_chunks(upload_id, tenant, start, body) VALUES (?,?,?,?)",
                (upload_id, str(row[0]), offset, chunk),
            )
        return offset + len(chunk)

    async def _chunks(self, j: SqliteJournal, upload_id: str) -> bytes:
        rows = await j._all(
            "SELECT body FROM agent_upload_chunks WHERE upload_id=? ORDER BY start", (upload_id,)
        )
        return b"".join(bytes(r[0]) for r in rows)

    async def body(self, upload_id: str) -> bytes:
        return await self._chunks(await self._j(), upload_id)

    async def discard(self, upload_id: str) -> None:
        j = await self._j()
        async with j.transaction() as tx:
            # never the chunks of an accepted snapshot (another process accepted this upload)
            await tx.execute(
                "DELETE FROM agent_upload_chunks WHERE upload_id=? AND NOT EXISTS "
                "(SELECT 1 FROM agent_snapshots WHERE upload_id=?)",
                (upload_id, upload_id),
            )
            await tx.execute("DELETE FROM agent_uploads WHERE upload_id=?", (upload_id,))

    async def prune(self, idle_since: datetime) -> int:
        """Removes the open uploads that took no chunk since ``idle_since`` (their agents gave
        up or never came back), with their chunks; how many. An upload that takes a chunk
        meanwhile is kept (the removal is conditional on its time), and an accepted
        snapshot's chunks are never touched."""
        j = await self._j()
        cutoff = idle_since.astimezone(UTC).isoformat(timespec="milliseconds")
        rows = await j._all("SELECT upload_id FROM agent_uploads WHERE active_at<?", (cutoff,))
        pruned = 0
        for row in rows:
            upload_id = str(row[0])
            async with j.transaction() as tx:
                gone = await tx.execute(
                    "DELETE FROM agent_uploads WHERE upload_id=? AND active_at<?",
                    (upload_id, cutoff),
                )
                if gone.rowcount != 1:
                    continue
                await tx.execute(
                    "DELETE FROM agent_upload_chunks WHERE upload_id=? AND NOT EXISTS "
                    "(SELECT 1 FROM agent_snapshots WHERE upload_id=?)",
                    (upload_id, upload_id),
                )
                pruned += 1
        return pruned

    async def accept(self, pending: Pending, counts: dict[str, int]) -> Accepted:
        """Makes the upload its tenant's latest; :class:`Replay` (and nothing changed) when
        its sequence number is not above the agent's last accepted one."""
        j = await self._j()
        accepted = Accepted(
            pending.agent,
            pending.tenant,
            pending.seq,
            now_iso()[:19] + "+00:00",
            pending.version,
            pending.size,
            dict(counts),
            pending.upload_id,
        )
        key = (pending.tenant, pending.agent)
        async with j.transaction() as tx:
            raised = await tx.execute(
                "UPDATE agent_sequences SET seq=?, upload_id=?, received_at=? "
                "WHERE tenant=? AND agent=? AND seq<?",
                (pending.seq, pending.upload_id, accepted.received_at, *key, pending.seq),
            )
            if raised.rowcount != 1:
                first = await tx.execute(
                    "INSERT INTO agent_sequences(tenant, agent, seq, upload_id, received_at) "
                    "VALUES (?,?,?,?,?) ON CONFLICT(tenant, agent) DO NOTHING",
                    (*key, pending.seq, pending.upload_id, accepted.received_at),
                )
                if first.rowcount != 1:
                    last = await tx.one(
                        "SELECT seq FROM agent_sequences WHERE tenant=? AND agent=?", key
                    )
                    raise Replay(int(last[0]) if last is not None else pending.seq)
            closed = await tx.execute(
                "DELETE FROM agent_uploads WHERE upload_id=?", (pending.upload_id,)
            )
            if closed.rowcount != 1:
                raise KeyError(pending.upload_id)  # discarded meanwhile: nothing is changed
            old = await tx.one(
                "SELECT upload_id FROM agent_snapshots WHERE tenant=?", (pending.tenant,)
            )
            if old is not None:
                await tx.execute(
                    "DELETE FROM agent_upload_chunks WHERE upload_id=?", (str(old[0]),)
                )
            await tx.execute(
                "INSERT INTO agent_snapshots(tenant, upload_id, agent, seq, version, "
                "received_at, size, sha256, counts) VALUES (?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT(tenant) DO UPDATE SET upload_id=excluded.upload_id, "
                "agent=excluded.agent, seq=excluded.seq, version=excluded.version, "
                "received_at=excluded.received_at, size=excluded.size, "
                "sha256=excluded.sha256, counts=excluded.counts",
                (
                    pending.tenant,
                    pending.upload_id,
                    pending.agent,
                    pending.seq,
                    pending.version,
                    accepted.received_at,
                    pending.size,
                    pending.sha256,
                    json.dumps(counts, sort_keys=True),
                ),
            )
        return accepted

    async def last_of_agent(self, agent: str, tenant: str) -> Accepted | None:
        """The agent's last accepted upload for the tenant, while it is the tenant's latest."""
        j = await self._j()
        row = await j._one(
            f"SELECT {_SNAPSHOT} FROM agent_snapshots s WHERE tenant=? AND agent=? AND "
            "upload_id=(SELECT upload_id FROM agent_sequences q WHERE q.tenant=s.tenant "
            "AND q.agent=s.agent)",
            (tenant, agent),
        )
        return None if row is None else _accepted(row)

    async def latest_meta(self, tenant: str) -> Accepted | None:
        j = await self._j()
        row = await j._one(f"SELECT {_SNAPSHOT} FROM agent_snapshots WHERE tenant=?", (tenant,))
        return None if row is None else _accepted(row)

    async def latest(self, tenant: str) -> tuple[Accepted, bytes] | None:
        """The tenant's latest upload and its body, read as one: a newer upload accepted
        meanwhile removes the chunks read, so the read is tried again."""
        j = await self._j()
        for _ in range(5):
            meta = await self.latest_meta(tenant)
            if meta is None:
                return None
            body = await self._chunks(j, meta.upload_id)
            if len(body) == meta.size:
                return meta, body
        raise JournalError(f"the latest upload of tenant {tenant!r} kept changing while read")

    async def aclose(self) -> None:
        if self._opener is not None and self._journal is not None:
            journal, self._journal = self._journal, None
            await journal.close()


def _row(p: Pending) -> tuple[str, str, str, int, int, str, str]:
    return (p.upload_id, p.agent, p.tenant, p.seq, p.size, p.sha256, p.version)
