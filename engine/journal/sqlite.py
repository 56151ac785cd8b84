"""The journal on SQLite through aiosqlite.

WAL, ``synchronous=FULL``, ``BEGIN IMMEDIATE`` for every write transaction, numbered migrations
and one writer connection per process (an asyncio lock serialises its transactions). Every
method speaks the engine's terms, never SQL, and answers with the records of
:mod:`engine.journal.protocol`: rows stay in this module, so a PostgreSQL journal can follow
behind the same surface (:class:`engine.journal.Journal`).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import orjson

from engine.audit_chain import GENESIS, AuditHead, AuditLink, row_hash
from engine.civic_hash import CivicHash
from engine.findings import Finding
from engine.journal.lease_owner import LeaseOwner
from engine.journal.postgres_schema import OWN_ROWS, tenant_keys
from engine.journal.protocol import (
    ApproverKeyRecord,
    AttemptRecord,
    AuditRecord,
    DeliveryRecord,
    ElevationRecord,
    EventRecord,
    FindingRecord,
    Forgotten,
    IndexEntry,
    IndexHit,
    IndexRecord,
    Journal,
    JournalError,
    JournalWriteError,
    KeyMoves,
    Lease,
    LeaseHeld,
    LeaseHolder,
    LeaseLost,
    MirrorRow,
    NoticeRecord,
    OperationCount,
    OperationRecord,
    OperationState,
    OutcomeRow,
    Pruned,
    RunRecord,
    SkipKey,
    SourceHold,
)
from engine.journal.schema import MIGRATIONS
from engine.links import LinkSet
from engine.plan import OPEN_STATUSES, Action, Operation, OpStatus, Plan
from engine.source import CachedSource
from engine.target import MirrorObject, ObservedState, attrs_from_json, upgraded_fingerprint

NOTICE_KINDS = {"held": "plan_held", "failed": "run_failed", "partial": "run_partial"}
"""A run that ends in one of these statuses writes a notice of this kind to the outbox."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def parse_ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


class SqliteJournal(Journal):
    """One journal file. Open with :meth:`open`; close when done."""

    INTEGRITY_ERRORS: tuple[type[Exception], ...] = (sqlite3.IntegrityError,)
    """What the database raises when a write breaks a key; a journal on another database names
    its own, so that the queries below catch it alike."""

    _BODY_HOLDS = "instr(CAST(body AS TEXT), ?) > 0"
    """A source record's raw body holds the text given: SQLite's form of it."""

    def __init__(
        self, path: Path, conn: aiosqlite.Connection, civic_hash: CivicHash | None = None
    ) -> None:
        self.path = path
        self._db = conn
        self._write = asyncio.Lock()
        self._civic_hash = civic_hash
        self._commits = 0  # this connection's own commits: data_version does not count them

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    async def open(cls, path: Path, *, civic_hash: CivicHash | None = None) -> SqliteJournal:
        """Open (and migrate) the journal at ``path``. ``civic_hash`` is the installation's
        keyed personnummer hash, which a migration may need; it is never stored."""
        if path.is_dir():
            raise JournalError(
                f"the journal {path} is a folder; journal.path must name a file (e.g. ess.db)"
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JournalError(f"cannot make the folder of the journal {path}: {exc}") from None
        pending = aiosqlite.connect(str(path), isolation_level=None, timeout=30.0)
        try:
            conn = await pending
        except Exception as exc:  # sqlite3.Error, OSError
            await _stopped(pending)
            raise JournalError(f"cannot open the journal {path}: {exc}") from None
        conn.row_factory = aiosqlite.Row
        j = cls(path, conn, civic_hash)
        try:
            await j._setup()
        except Exception as exc:
            await conn.close()
            if isinstance(exc, JournalError):
                raise
            raise JournalError(f"cannot use the journal {path}: {exc}") from None
        return j

    async def _setup(self) -> None:
        db = self._db
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=FULL")
        await db.execute("PRAGMA foreign_keys=ON")
        await db.execute("PRAGMA busy_timeout=30000")
        version = (await (await db.execute("PRAGMA user_version")).fetchone())[0]  # type: ignore[index]
        if version > len(MIGRATIONS):
            raise JournalError(
                f"the journal {self.path} is from a newer ESS (schema {version}; this ESS knows up "
                f"to {len(MIGRATIONS)}); upgrade ESS"
            )
        for number in range(version + 1, len(MIGRATIONS) + 1):
            async with self.transaction() as tx:
                # another process opening the same new journal may have taken this step while
                # this one waited for the write lock: the version read under the lock decides
                now = await tx.one("PRAGMA user_version")
                if now is not None and now[0] >= number:
                    continue
                step = MIGRATIONS[number - 1]
                if isinstance(step, str):
                    await tx.executescript_in_tx(step)
                else:
                    await step(tx)
                await tx.execute(f"PRAGMA user_version={number}")

    async def close(self) -> None:
        await self._db.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_Tx]:
        """A write transaction: BEGIN IMMEDIATE, commit on success, roll back on error."""
        async with self._write:
            try:
                await self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _write_error(self.path, exc) from None
            try:
                yield _Tx(self._db, self._civic_hash)
                await self._db.execute("COMMIT")
                self._commits += 1
            except BaseException as exc:
                await self._roll_back()
                if isinstance(exc, sqlite3.Error):
                    raise _write_error(self.path, exc) from None
                raise

    async def _roll_back(self) -> None:
        """Roll back what is open. SQLite may have rolled back already (a full disk does), and
        a failed rollback must not hide the error that caused it."""
        try:
            if self._db.in_transaction:
                await self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        async with self._db.execute(sql, params) as cur:
            return list(await cur.fetchall())

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        async with self._db.execute(sql, params) as cur:
            return await cur.fetchone()

    async def integrity_check(self) -> str:
        row = await self._one("PRAGMA integrity_check")
        return str(row[0]) if row else "no answer"

    # ------------------------------------------------------------------ tenants
    async def upsert_tenant(self, tenant: str, name: str, tier: str) -> None:
        async with self.transaction() as tx:
            await tx.execute(
                "INSERT INTO tenants(id, name, tier, updated_at) VALUES (?,?,?,?) "
                "ON CONFLICT(id) DO UPDATE SET name=excluded.name, tier=excluded.tier, "
                "updated_at=excluded.updated_at",
                (tenant, name, tier, now_iso()),
            )

    # ------------------------------------------------------------------ leases
    async def acquire_lease(
        self, tenant: str, holder: str, ttl: float, *, owner: LeaseOwner | None = None
    ) -> Lease:
        """Take the tenant's lease, or raise :class:`LeaseHeld`. An expired one, or one whose
        holder died on this host, is taken over with a new fencing token, so the old holder's
        writes are refused. ``owner`` is the holding process (default: this one)."""
        owner = owner or LeaseOwner.this_process()
        now = time.time()
        async with self.transaction() as tx:
            row = await tx.one(
                "SELECT holder, expires_at, token, owner_host, owner_pid, owner_started, "
                "owner_token FROM leases WHERE tenant=?",
                (tenant,),
            )
            if row is not None and row["expires_at"] > now and not _holder_gone(row):
                raise LeaseHeld(tenant, row["holder"], row["expires_at"] - now)
            last = await tx.one("SELECT last FROM lease_tokens WHERE tenant=?", (tenant,))
            token = (last["last"] if last else 0) + 1
            await tx.execute(
                "INSERT INTO lease_tokens(tenant, last) VALUES (?, ?) "
                "ON CONFLICT(tenant) DO UPDATE SET last=excluded.last",
                (tenant, token),
            )
            await tx.execute(
                "INSERT INTO leases(tenant, holder, token, expires_at, owner_host, owner_pid, "
                "owner_started, owner_token) VALUES (?,?,?,?,?,?,?,?) "
                "ON CONFLICT(tenant) DO UPDATE SET holder=excluded.holder, token=excluded.token, "
                "expires_at=excluded.expires_at, owner_host=excluded.owner_host, "
                "owner_pid=excluded.owner_pid, owner_started=excluded.owner_started, "
                "owner_token=excluded.owner_token",
                (tenant, holder, token, now + ttl, owner.host, owner.pid, owner.started, token),
            )
        return Lease(tenant, holder, token)

    async def renew_lease(self, lease: Lease, ttl: float) -> None:
        async with self.transaction() as tx:
            await _check_lease(tx, lease)
            await tx.execute(
                "UPDATE leases SET expires_at=? WHERE tenant=? AND token=?",
                (time.time() + ttl, lease.tenant, lease.token),
            )

    async def release_lease(self, lease: Lease) -> None:
        async with self.transaction() as tx:
            await tx.execute(
                "DELETE FROM leases WHERE tenant=? AND token=?", (lease.tenant, lease.token)
            )

    async def lease_holder(self, tenant: str) -> LeaseHolder | None:
        """The live holder of the tenant's lease and when it expires, if any."""
        row = await self._one(
            "SELECT holder, expires_at, token, owner_host, owner_pid, owner_started, owner_token "
            "FROM leases WHERE tenant=?",
            (tenant,),
        )
        if row is None or row["expires_at"] <= time.time() or _holder_gone(row):
            return None
        return LeaseHolder(str(row["holder"]), float(row["expires_at"]))

    # ------------------------------------------------------------------ runs
    async def create_run(
        self,
        tenant: str,
        *,
        trigger: str,
        actor: str,
        dry_run: bool,
        targets: Sequence[str],
        status: str = "running",
    ) -> int:
        async with self.transaction() as tx:
            cur = await tx.execute(
                "INSERT INTO runs(tenant, status, trigger, actor, dry_run, targets, started_at) "
                "VALUES (?,?,?,?,?,?,?)",
                (tenant, status, trigger, actor, int(dry_run), _dumps(list(targets)), now_iso()),
            )
            return int(cur.lastrowid or 0)

    async def update_run(
        self,
        run_id: int,
        *,
        status: str | None = None,
        counts: Mapping[str, int] | None = None,
        guard: Mapping[str, Any] | None = None,
        error: str | None = None,
        finished: bool = False,
        source_mode: str | None = None,
    ) -> None:
        sets: list[str] = []
        params: list[Any] = []
        for col, val in (
            ("status", status),
            ("counts", _dumps(dict(counts)) if counts is not None else None),
            ("guard", _dumps(dict(guard)) if guard is not None else None),
            ("error", error),
            ("source_mode", source_mode),
        ):
            if val is not None:
                sets.append(f"{col}=?")
                params.append(val)
        if finished:
            sets.append("finished_at=?")
            params.append(now_iso())
        elif status == "running":  # an approved or resumed run is unfinished again
            sets.append("finished_at=NULL")
        if not sets:
            return
        notice = NOTICE_KINDS.get(status or "") if finished else None
        async with self.transaction() as tx:
            await tx.execute(f"UPDATE runs SET {', '.join(sets)} WHERE id=?", (*params, run_id))
            if notice:  # the outbox row commits with the status it reports, or neither does
                await tx.execute(
                    "INSERT INTO notices(tenant, kind, run_id, created_at) "
                    "SELECT tenant, ?, id, ? FROM runs WHERE id=? AND dry_run=0",
                    (notice, now_iso(), run_id),
                )

    async def get_run(self, run_id: int) -> RunRecord | None:
        row = await self._one("SELECT * FROM runs WHERE id=?", (run_id,))
        return _run(row) if row is not None else None

    async def list_runs(
        self,
        tenant: str | None,
        *,
        limit: int = 50,
        before: int | None = None,
        statuses: Iterable[str] | None = None,
    ) -> list[RunRecord]:
        where: list[str] = ["1=1"]
        params: list[Any] = []
        if tenant is not None:
            where.append("tenant=?")
            params.append(tenant)
        if before is not None:
            where.append("id<?")
            params.append(before)
        if statuses is not None:
            st = list(statuses)
            where.append(f"status IN ({','.join('?' * len(st))})")
            params.extend(st)
        rows = await self._all(
            f"SELECT * FROM runs WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
            (*params, limit),
        )
        return [_run(r) for r in rows]

    async def last_runs(self) -> dict[str, RunRecord]:
        rows = await self._all(
            "SELECT r.* FROM runs r JOIN (SELECT tenant, MAX(id) AS id FROM runs "
            "WHERE dry_run=0 GROUP BY tenant) m ON r.id = m.id"
        )
        return {r["tenant"]: _run(r) for r in rows}

    async def supersede_held(self, tenant: str, by_run: int) -> int:
        """A new plan replaces any plan still held for approval."""
        async with self.transaction() as tx:
            held = await tx.all("SELECT id FROM runs WHERE tenant=? AND status='held'", (tenant,))
            for row in held:
                await tx.execute(
                    "UPDATE operations SET status=?, superseded=1 WHERE run_id=? AND status=?",
                    (OpStatus.CANCELLED.value, row["id"], OpStatus.PENDING.value),
                )
                await tx.execute(
                    "UPDATE runs SET status='cancelled', finished_at=?, "
                    "error='superseded by run ' || ? WHERE id=?",
                    (now_iso(), by_run, row["id"]),
                )
            return len(held)

    # ------------------------------------------------------------------ findings
    async def add_findings(
        self, run_id: int, tenant: str, findings: Sequence[Finding], labels: Mapping[str, str]
    ) -> None:
        if not findings:
            return
        async with self.transaction() as tx:
            await tx.executemany(
                "INSERT INTO findings(run_id, tenant, code, severity, record_type, record_id, "
                "label, message, fix, origin) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        run_id,
                        tenant,
                        f.code,
                        f.severity.value,
                        f.record_type,
                        f.record_id,
                        labels.get(f.record_id, ""),
                        f.message,
                        f.fix,
                        f.origin,
                    )
                    for f in findings
                ],
            )

    async def list_findings(
        self,
        run_id: int,
        *,
        severity: str | None = None,
        record_id: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[FindingRecord]:
        where: list[str] = ["run_id=?"]
        params: list[Any] = [run_id]
        if severity:
            where.append("severity=?")
            params.append(severity)
        if record_id:
            where.append("record_id=?")
            params.append(record_id)
        rows = await self._all(
            f"SELECT * FROM findings WHERE {' AND '.join(where)} "
            "ORDER BY severity, code, id LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [
            FindingRecord(
                r["id"],
                r["run_id"],
                r["tenant"],
                r["code"],
                r["severity"],
                r["record_type"],
                r["record_id"],
                r["label"],
                r["message"],
                r["fix"],
                r["origin"],
            )
            for r in rows
        ]

    async def finding_counts(self, run_id: int) -> dict[str, int]:
        rows = await self._all(
            "SELECT severity, COUNT(*) AS n FROM findings WHERE run_id=? GROUP BY severity",
            (run_id,),
        )
        return {r["severity"]: r["n"] for r in rows}

    async def last_read_run(self, tenant: str) -> int | None:
        row = await self._one(
            "SELECT id FROM runs WHERE tenant=? AND source_mode IS NOT NULL "
            "ORDER BY id DESC LIMIT 1",
            (tenant,),
        )
        return int(row["id"]) if row else None

    # ------------------------------------------------------------------ plans and operations
    async def store_operations(
        self, run_id: int, tenant: str, ops: Sequence[Operation], *, supersede: bool = True
    ) -> list[Operation]:
        """Write operations in one transaction before anything is applied; returns them with
        their row ids. A new plan supersedes earlier open trouble of the same targets."""
        if not ops:
            return []
        async with self.transaction() as tx:
            if supersede:
                await _supersede_trouble(tx, tenant, run_id, {op.target for op in ops})
            first = await _next_operation_id(tx)
            stored = [op._replace(id=first + i) for i, op in enumerate(ops)]
            await _insert_operations(tx, run_id, tenant, stored)
        return stored

    async def store_plans(self, run_id: int, tenant: str, plans: Sequence[Plan]) -> list[Operation]:
        """Write a run's plans in one transaction before anything is applied, superseding
        earlier open trouble of their targets; returns the operations with their row ids.

        A plan's link operations are written out here, once, already carrying their ids."""
        targets = {p.target for p in plans if len(p)}
        if not targets:
            return []
        async with self.transaction() as tx:
            await _supersede_trouble(tx, tenant, run_id, targets)
            base = await _next_operation_id(tx) - 1
            stored: list[Operation] = []
            for p in plans:
                stored.extend(p.iter_operations(id_base=base))
                base += len(p)
            await _insert_operations(tx, run_id, tenant, stored)
        return stored

    async def load_operations(
        self, run_id: int, statuses: Iterable[str] | None = None
    ) -> list[OperationState]:
        """A run's operations with their status and not-before time, in plan order."""
        where: list[str] = ["run_id=?"]
        params: list[Any] = [run_id]
        if statuses is not None:
            st = list(statuses)
            where.append(f"status IN ({','.join('?' * len(st))})")
            params.extend(st)
        rows = await self._all(
            f"SELECT * FROM operations WHERE {' AND '.join(where)} ORDER BY target, seq", params
        )
        return [OperationState(_op(r), OpStatus(r["status"]), float(r["not_before"])) for r in rows]

    async def mark_in_flight(self, lease: Lease, ops: Sequence[Operation]) -> None:
        """The intent mark: written before the request leaves, so a crash is detectable."""
        stamp = now_iso()
        async with self.transaction() as tx:
            await _check_lease(tx, lease)
            await tx.executemany(
                "UPDATE operations SET status=?, attempts=attempts+1, updated_at=? WHERE id=?",
                [(OpStatus.IN_FLIGHT.value, stamp, op.id) for op in ops],
            )

    async def record_outcomes(
        self,
        lease: Lease | None,
        tenant: str,
        rows: Sequence[OutcomeRow],
        link_specs: Mapping[str, tuple[str, str]],
    ) -> None:
        """Write outcomes, attempts and the mirror's changes in one transaction."""
        if not rows:
            return
        stamp = now_iso()
        async with self.transaction() as tx:
            if lease is not None:
                await _check_lease(tx, lease)
            await tx.executemany(
                "UPDATE operations SET status=?, reason=?, last_error=?, "
                "target_id=COALESCE(?, target_id), not_before=?, updated_at=?, "
                "request_id=CASE WHEN ? THEN ? ELSE request_id END WHERE id=?",
                [
                    (
                        r.status.value,
                        r.reason,
                        r.message,
                        r.target_id,
                        r.not_before,
                        stamp,
                        # an attempt's answer replaces the id; a blocked row made none
                        bool(r.outcome) and r.outcome != "blocked",
                        r.request_id,
                        r.op.id,
                    )
                    for r in rows
                ],
            )
            attempts = [
                (
                    r.op.id,
                    r.op.attempts,
                    stamp,
                    r.outcome or r.status.value,
                    r.reason,
                    r.message,
                    r.request_id,
                )
                for r in rows
                if r.outcome and r.outcome != "blocked"
            ]
            if attempts:
                await tx.executemany(
                    "INSERT INTO attempts(op_id, number, at, outcome, reason, message, request_id) "
                    "VALUES (?,?,?,?,?,?,?) ON CONFLICT (op_id, number) DO UPDATE SET "
                    "at=excluded.at, outcome=excluded.outcome, reason=excluded.reason, "
                    "message=excluded.message, request_id=excluded.request_id",
                    attempts,
                )
            done = [r for r in rows if r.status is OpStatus.DONE]
            if done:
                await _apply_mirror(tx, tenant, done, link_specs, stamp)

    async def attempts_of(self, op_id: int) -> list[AttemptRecord]:
        rows = await self._all("SELECT * FROM attempts WHERE op_id=? ORDER BY number", (op_id,))
        return [
            AttemptRecord(
                r["op_id"],
                r["number"],
                datetime.fromisoformat(r["at"]),
                r["outcome"],
                r["reason"],
                r["message"],
                r["request_id"],
            )
            for r in rows
        ]

    async def get_operation(self, op_id: int) -> OperationRecord | None:
        row = await self._one("SELECT * FROM operations WHERE id=?", (op_id,))
        return _operation(row) if row is not None else None

    async def get_operations(self, op_ids: Sequence[int]) -> list[OperationRecord]:
        if not op_ids:
            return []
        marks = ",".join("?" * len(op_ids))
        rows = await self._all(f"SELECT * FROM operations WHERE id IN ({marks})", list(op_ids))
        return [_operation(r) for r in rows]

    async def list_operations(
        self,
        run_id: int,
        *,
        status: str | None = None,
        kind: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[OperationRecord]:
        where: list[str] = ["run_id=?"]
        params: list[Any] = [run_id]
        if status:
            where.append("status=?")
            params.append(status)
        if kind:
            where.append("kind=?")
            params.append(kind)
        rows = await self._all(
            f"SELECT * FROM operations WHERE {' AND '.join(where)} ORDER BY id LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [_operation(r) for r in rows]

    async def operation_counts(self, run_id: int) -> list[OperationCount]:
        rows = await self._all(
            "SELECT status, action, kind, COUNT(*) AS n FROM operations WHERE run_id=? "
            "GROUP BY status, action, kind ORDER BY status, action, kind",
            (run_id,),
        )
        return [OperationCount(r[0], r[1], r[2], int(r[3])) for r in rows]

    async def status_counts(self, run_id: int) -> dict[str, int]:
        rows = await self._all(
            "SELECT status, COUNT(*) AS n FROM operations WHERE run_id=? GROUP BY status",
            (run_id,),
        )
        return {r["status"]: r["n"] for r in rows}

    async def open_trouble(
        self, tenant: str | None, *, limit: int = 200, offset: int = 0
    ) -> list[OperationRecord]:
        where, params = ["superseded=0", "status IN ('failed','dead','blocked')"], []
        if tenant is not None:
            where.append("tenant=?")
            params.append(tenant)
        rows = await self._all(
            f"SELECT * FROM operations WHERE {' AND '.join(where)} "
            "ORDER BY tenant, CASE status WHEN 'dead' THEN 0 WHEN 'failed' THEN 1 ELSE 2 END, id "
            "LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [_operation(r) for r in rows]

    async def trouble_counts(self) -> dict[str, int]:
        rows = await self._all(
            "SELECT tenant, COUNT(*) AS n FROM operations WHERE superseded=0 AND "
            "status IN ('failed','dead','blocked') GROUP BY tenant"
        )
        return {r["tenant"]: r["n"] for r in rows}

    async def supersede(self, op_ids: Sequence[int]) -> None:
        async with self.transaction() as tx:
            await tx.executemany(
                "UPDATE operations SET superseded=1 WHERE id=?", [(i,) for i in op_ids]
            )

    async def set_status(self, op_ids: Sequence[int], status: OpStatus, note: str = "") -> None:
        async with self.transaction() as tx:
            await tx.executemany(
                "UPDATE operations SET status=?, last_error=CASE WHEN ?<>'' THEN ? ELSE "
                "last_error END, superseded=CASE WHEN ? IN ('skipped','cancelled') THEN 1 ELSE "
                "superseded END, updated_at=? WHERE id=?",
                [(status.value, note, note, status.value, now_iso(), i) for i in op_ids],
            )

    async def removal_history(self, tenant: str, runs: int) -> list[dict[str, int]]:
        """Removals applied per type in the tenant's last completed runs, newest first; a run
        whose plan an operator approved counts as a run that removed nothing."""
        rows = await self._all(
            "SELECT id, EXISTS (SELECT 1 FROM approvals a WHERE a.run_id=runs.id AND "
            "a.decision='approved') AS approved FROM runs WHERE tenant=? AND dry_run=0 AND "
            "status IN ('succeeded','partial') ORDER BY id DESC LIMIT ?",
            (tenant, runs),
        )
        out: list[dict[str, int]] = []
        for r in rows:
            if r["approved"]:
                out.append({})
                continue
            counts = await self._all(
                "SELECT kind, COUNT(*) AS n FROM operations WHERE run_id=? AND status='done' "
                "AND action IN ('delete','suspend','archive','unlink') GROUP BY kind",
                (r["id"],),
            )
            out.append({c["kind"]: c["n"] for c in counts})
        return out

    async def operations_for_record(
        self, tenant: str, key: str, limit: int = 50
    ) -> list[OperationRecord]:
        rows = await self._all(
            "SELECT * FROM operations WHERE tenant=? AND (key=? OR parent=?) "
            "ORDER BY id DESC LIMIT ?",
            (tenant, key, key, limit),
        )
        return [_operation(r) for r in rows]

    # ------------------------------------------------------------------ skips
    async def add_skips(
        self, tenant: str, ops: Sequence[Operation], actor: str, reason: str
    ) -> None:
        stamp = now_iso()
        async with self.transaction() as tx:
            await tx.executemany(
                "INSERT INTO skips(tenant, target, action, kind, key, parent, "
                "fingerprint, actor, reason, at) VALUES (?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT(tenant, target, action, kind, key, parent) DO UPDATE SET "
                "fingerprint=excluded.fingerprint, actor=excluded.actor, "
                "reason=excluded.reason, at=excluded.at",
                [
                    (
                        tenant,
                        op.target,
                        op.action.value,
                        op.kind,
                        op.key,
                        op.parent or "",
                        op.fingerprint,
                        actor,
                        reason,
                        stamp,
                    )
                    for op in ops
                ],
            )

    async def skips(self, tenant: str, target: str) -> dict[SkipKey, str]:
        rows = await self._all(
            "SELECT action, kind, key, parent, fingerprint FROM skips WHERE tenant=? AND target=?",
            (tenant, target),
        )
        return {(r["action"], r["kind"], r["key"], r["parent"]): r["fingerprint"] for r in rows}

    # ------------------------------------------------------------------ mirror
    async def load_mirror(self, tenant: str, target: str) -> ObservedState:
        objects: dict[str, dict[str, MirrorObject]] = {}
        async with self._db.execute(
            "SELECT kind, key, target_id, fingerprint, attrs, label, suspended_at, archived "
            "FROM mirror WHERE tenant=? AND target=?",
            (tenant, target),
        ) as cur:
            async for r in cur:
                objects.setdefault(r[0], {})[r[1]] = MirrorObject(
                    r[0], r[1], r[2], r[3], attrs_from_json(r[4]), parse_ts(r[6]), bool(r[7]), r[5]
                )
        links: dict[str, set[tuple[str, str]]] = {}
        async with self._db.execute(
            "SELECT kind, parent, child FROM mirror_links WHERE tenant=? AND target=?",
            (tenant, target),
        ) as cur:
            async for r in cur:
                links.setdefault(r[0], set()).add((r[1], r[2]))
        return ObservedState(objects, {k: LinkSet(v) for k, v in links.items()})

    async def replace_mirror(self, tenant: str, target: str, observed: ObservedState) -> None:
        """Store a refreshed view of the target (drift read back) as the mirror."""
        stamp = now_iso()
        async with self.transaction() as tx:
            await tx.execute("DELETE FROM mirror WHERE tenant=? AND target=?", (tenant, target))
            await tx.execute(
                "DELETE FROM mirror_links WHERE tenant=? AND target=?", (tenant, target)
            )
            await tx.executemany(
                "INSERT INTO mirror(tenant, target, kind, key, target_id, fingerprint, attrs, "
                "label, suspended_at, archived, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        tenant,
                        target,
                        o.kind,
                        o.key,
                        o.target_id,
                        o.fingerprint,
                        _dumps(o.attrs) if o.attrs else None,
                        o.label,
                        o.suspended_at.isoformat() if o.suspended_at else None,
                        int(o.archived),
                        stamp,
                    )
                    for table in observed.objects.values()
                    for o in table.values()
                ],
            )
            await tx.executemany(
                "INSERT INTO mirror_links(tenant, target, kind, parent, child) VALUES (?,?,?,?,?)",
                [
                    (tenant, target, kind, p, c)
                    for kind, pairs in observed.links.items()
                    for p, c in pairs
                ],
            )

    async def mirror_for_key(self, tenant: str, key: str) -> list[MirrorRow]:
        rows = await self._all("SELECT * FROM mirror WHERE tenant=? AND key=?", (tenant, key))
        return [
            MirrorRow(
                r["tenant"],
                r["target"],
                r["kind"],
                r["key"],
                r["target_id"],
                r["fingerprint"],
                attrs_from_json(r["attrs"]),
                r["label"],
                parse_ts(r["suspended_at"]),
                bool(r["archived"]),
                datetime.fromisoformat(r["updated_at"]),
            )
            for r in rows
        ]

    # ------------------------------------------------------------------ events
    async def add_events(
        self, tenant: str, run_id: int | None, events: Sequence[tuple[str, str, str]]
    ) -> None:
        """(at, level, message) rows for the run log."""
        if not events:
            return
        async with self.transaction() as tx:
            await tx.executemany(
                "INSERT INTO events(tenant, run_id, at, level, message) VALUES (?,?,?,?,?)",
                [(tenant, run_id, at, level, msg) for at, level, msg in events],
            )

    async def list_events(
        self,
        run_id: int,
        *,
        after_id: int = 0,
        level: str | None = None,
        contains: str | None = None,
        limit: int = 500,
    ) -> list[EventRecord]:
        where: list[str] = ["run_id=?", "id>?"]
        params: list[Any] = [run_id, after_id]
        if level:
            where.append("level=?")
            params.append(level)
        if contains:
            where.append("message LIKE ? ESCAPE '\\'")
            params.append("%" + contains.replace("%", "\\%").replace("_", "\\_") + "%")
        rows = await self._all(
            f"SELECT * FROM events WHERE {' AND '.join(where)} ORDER BY id LIMIT ?",
            (*params, limit),
        )
        return [
            EventRecord(
                r["id"],
                r["tenant"],
                r["run_id"],
                datetime.fromisoformat(r["at"]),
                r["level"],
                r["message"],
            )
            for r in rows
        ]

    # ------------------------------------------------------- approvals, elevations, audit
    async def add_approval(self, run_id: int, decision: str, actor: str, reason: str) -> None:
        async with self.transaction() as tx:
            await tx.execute(
                "INSERT INTO approvals(run_id, decision, actor, reason, at) VALUES (?,?,?,?,?)",
                (run_id, decision, actor, reason, now_iso()),
            )

    async def add_elevation(
        self, tenant: str, actor: str, reason: str, expires_at: datetime, needs_approval: bool
    ) -> int:
        async with self.transaction() as tx:
            cur = await tx.execute(
                "INSERT INTO elevations(tenant, actor, reason, created_at, expires_at, "
                "needs_approval) VALUES (?,?,?,?,?,?)",
                (tenant, actor, reason, now_iso(), expires_at.isoformat(), int(needs_approval)),
            )
            elevation_id = int(cur.lastrowid or 0)
            await tx.execute(
                "INSERT INTO notices(tenant, kind, elevation_id, created_at) VALUES (?,?,?,?)",
                (tenant, "elevation_requested", elevation_id, now_iso()),
            )
            return elevation_id

    async def approve_elevation(
        self, elevation_id: int, approver: str, signature: str | None = None
    ) -> None:
        async with self.transaction() as tx:
            await tx.execute(
                "UPDATE elevations SET approved_by=?, approved_at=?, approval_signature=? "
                "WHERE id=?",
                (approver, now_iso(), signature, elevation_id),
            )
            await tx.execute(
                "INSERT INTO notices(tenant, kind, elevation_id, created_at) "
                "SELECT tenant, 'elevation_approved', id, ? FROM elevations WHERE id=?",
                (now_iso(), elevation_id),
            )

    async def add_approver_key(self, tenant: str, name: str, public_key: str, actor: str) -> None:
        async with self.transaction() as tx:
            await tx.execute(
                "INSERT INTO approver_keys(tenant, name, public_key, enrolled_at, "
                "enrolled_by) VALUES (?,?,?,?,?) ON CONFLICT(tenant, name) DO UPDATE SET "
                "public_key=excluded.public_key, enrolled_at=excluded.enrolled_at, "
                "enrolled_by=excluded.enrolled_by",
                (tenant, name, public_key, now_iso(), actor),
            )

    async def remove_approver_key(self, tenant: str, name: str) -> bool:
        async with self.transaction() as tx:
            cur = await tx.execute(
                "DELETE FROM approver_keys WHERE tenant=? AND name=?", (tenant, name)
            )
            return bool(cur.rowcount)

    async def approver_keys(self, tenant: str | None) -> list[ApproverKeyRecord]:
        sql = "SELECT * FROM approver_keys" + (" WHERE tenant=?" if tenant else "")
        rows = await self._all(sql + " ORDER BY tenant, name", (tenant,) if tenant else ())
        return [
            ApproverKeyRecord(
                r["tenant"],
                r["name"],
                r["public_key"],
                datetime.fromisoformat(r["enrolled_at"]),
                r["enrolled_by"],
            )
            for r in rows
        ]

    async def list_elevations(self, tenant: str | None = None) -> list[ElevationRecord]:
        if tenant is None:
            rows = await self._all("SELECT * FROM elevations ORDER BY id DESC LIMIT 500")
        else:
            rows = await self._all(
                "SELECT * FROM elevations WHERE tenant=? ORDER BY id DESC LIMIT 500", (tenant,)
            )
        return [_elevation(r) for r in rows]

    async def get_elevation(self, elevation_id: int) -> ElevationRecord | None:
        row = await self._one("SELECT * FROM elevations WHERE id=?", (elevation_id,))
        return _elevation(row) if row is not None else None

    async def add_audit(
        self, actor: str, action: str, tenant: str | None, allowed: bool, detail: str
    ) -> None:
        async with self.transaction() as tx:
            # under the write lock, so the row after the newest is this one
            last = await tx.one("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1")
            rid, prev = (int(last[0]) + 1, str(last[1])) if last is not None else (1, GENESIS)
            at = now_iso()
            digest = row_hash(prev, rid, at, actor, action, tenant, allowed, detail)
            await tx.execute(
                "INSERT INTO audit(id, at, actor, action, tenant, allowed, detail, prev, hash) "
                "VALUES (?,?,?,?,?,?,?,?,?)",
                (rid, at, actor, action, tenant, int(allowed), detail, prev, digest),
            )

    async def audit_chain(self, after_id: int, limit: int) -> list[AuditLink]:
        rows = await self._all(
            "SELECT * FROM audit WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
        )
        return [
            AuditLink(
                r["id"],
                r["at"],
                r["actor"],
                r["action"],
                r["tenant"],
                bool(r["allowed"]),
                r["detail"],
                r["prev"],
                r["hash"],
                bool(r["tombstone"]),
            )
            for r in rows
        ]

    async def person_names(self, tenant: str, keys: Sequence[str]) -> dict[str, list[str]]:
        out: dict[str, set[str]] = {k: set() for k in keys}
        for i in range(0, len(keys), 500):
            chunk = list(keys[i : i + 500])
            marks = ",".join("?" * len(chunk))
            rows = await self._all(
                "SELECT DISTINCT key, label, attrs FROM operations WHERE tenant=? AND "
                f"parent IS NULL AND key IN ({marks}) "
                "UNION SELECT DISTINCT key, label, NULL FROM mirror WHERE tenant=? AND "
                f"key IN ({marks})",
                (tenant, *chunk, tenant, *chunk),
            )
            for key, label, attrs in rows:
                names = out[str(key)]
                if label:
                    names.add(str(label))
                names.update(_addresses(attrs))
        return {k: sorted(v) for k, v in out.items()}

    async def forget_person(self, tenant: str, key: str, names: Sequence[str]) -> Forgotten:
        async with self.transaction() as tx:
            held = await self._still_needed(tx, tenant, key)
            if held:
                return Forgotten(held=held)
            ops_of = "SELECT id FROM operations WHERE tenant=? AND (key=? OR parent=?)"
            cur = await tx.execute(
                f"DELETE FROM attempts WHERE op_id IN ({ops_of})", (tenant, key, key)
            )
            attempts = cur.rowcount
            cur = await tx.execute(
                "DELETE FROM operations WHERE tenant=? AND (key=? OR parent=?)", (tenant, key, key)
            )
            operations = cur.rowcount
            # a finding on one of their memberships names them in its id and its message
            cur = await tx.execute(
                "DELETE FROM findings WHERE tenant=? AND (record_id=? "
                "OR record_id LIKE ? ESCAPE '\\' OR message LIKE ? ESCAPE '\\')",
                (tenant, key, _contains(key), _contains(key)),
            )
            findings = cur.rowcount
            cur = await tx.execute(
                "DELETE FROM skips WHERE tenant=? AND (key=? OR parent=?)", (tenant, key, key)
            )
            skips = cur.rowcount
            cur = await tx.execute(
                "DELETE FROM snapshot_index WHERE tenant=? AND record_type='person' AND key=?",
                (tenant, key),
            )
            index_rows = cur.rowcount
            events = 0
            for text in {key, *(n for n in names if len(n.strip()) >= 3)}:
                cur = await tx.execute(
                    "DELETE FROM events WHERE tenant=? AND message LIKE ? ESCAPE '\\'",
                    (tenant, _contains(text)),
                )
                events += cur.rowcount
            cur = await tx.execute(
                "UPDATE audit SET actor='', action='tombstone', tenant=NULL, allowed=0, "
                "detail='', tombstone=1 WHERE tombstone=0 AND tenant=? "
                "AND detail LIKE ? ESCAPE '\\'",
                (tenant, _contains(key)),
            )
            return Forgotten(
                "", operations, attempts, findings, skips, events, index_rows, cur.rowcount
            )

    @staticmethod
    async def _still_needed(tx: _Tx, tenant: str, key: str) -> str:
        """What ESS still needs a person's data for ("" when nothing). Every source of the
        tenant counts: its own cache, that of each of several sources (``TENANT/KEY``, under
        the person's id in that source too), and the last merge's record of who each listed."""
        ids_in_sources = (
            "SELECT source_id FROM source_aliases WHERE tenant=? AND record_type='person' "
            "AND merged_id=?"
        )
        row = await tx.one(
            f"SELECT tenant FROM source_records WHERE {OWN_ROWS} "
            f"AND entity IN ({','.join('?' * len(PERSON_ENTITIES))}) "
            f"AND (id=? OR id IN ({ids_in_sources})) ORDER BY tenant LIMIT 1",
            (*tenant_keys(tenant), *PERSON_ENTITIES, key, tenant, key),
        )
        if row is not None:
            scope = str(row[0]).partition("/")[2]
            return (
                f"the source {scope} still lists them" if scope else "the source still lists them"
            )
        row = await tx.one(
            "SELECT source FROM source_aliases WHERE tenant=? AND record_type='person' "
            "AND merged_id=? ORDER BY source LIMIT 1",
            (tenant, key),
        )
        if row is not None:
            return f"the source {row[0]} listed them at its last read"
        if await tx.one(
            "SELECT 1 FROM source_holds WHERE tenant=? AND record_type='person' AND key=?",
            (tenant, key),
        ):
            return "a rekey holds their record until it is released (ess source release)"
        row = await tx.one(
            "SELECT target, kind FROM mirror WHERE tenant=? AND key=? LIMIT 1", (tenant, key)
        )
        if row is None:
            row = await tx.one(
                "SELECT target, kind FROM mirror_links WHERE tenant=? AND (child=? OR parent=?) "
                "LIMIT 1",
                (tenant, key, key),
            )
        if row is not None:
            return f"the target {row[0]} still holds their {row[1]}"
        open_ = tuple(s.value for s in OPEN_STATUSES)
        marks = ",".join("?" * len(open_))
        if await tx.one(
            "SELECT 1 FROM operations WHERE tenant=? AND (key=? OR parent=?) "
            f"AND status IN ({marks}) LIMIT 1",
            (tenant, key, key, *open_),
        ):
            return "an item for them is still to be done"
        return ""

    async def prune(self, history_before: datetime, audit_before: datetime) -> Pruned:
        async with self.transaction() as tx:
            # runs, operations and audit rows get their ids in time order: each age is an id
            old_run = await tx.one(
                "SELECT max(id) FROM runs WHERE started_at < ?",
                (history_before.isoformat(timespec="milliseconds"),),
            )
            last_run = int(old_run[0]) if old_run is not None and old_run[0] is not None else 0
            events = attempts = 0
            if last_run:
                cur = await tx.execute("DELETE FROM events WHERE run_id <= ?", (last_run,))
                events = cur.rowcount
                old_op = await tx.one(
                    "SELECT max(id) FROM operations WHERE run_id <= ?", (last_run,)
                )
                if old_op is not None and old_op[0] is not None:
                    cur = await tx.execute("DELETE FROM attempts WHERE op_id <= ?", (old_op[0],))
                    attempts = cur.rowcount
            cur = await tx.execute(
                "UPDATE audit SET actor='', action='tombstone', tenant=NULL, allowed=0, "
                "detail='', tombstone=1 WHERE tombstone=0 AND at < ?",
                (audit_before.isoformat(timespec="milliseconds"),),
            )
            return Pruned(events, attempts, cur.rowcount)

    async def audit_head(self) -> AuditHead | None:
        row = await self._one("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1")
        return AuditHead(int(row["id"]), str(row["hash"])) if row is not None else None

    async def list_audit(self, tenant: str | None, limit: int) -> list[AuditRecord]:
        if tenant is None:
            rows = await self._all("SELECT * FROM audit ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = await self._all(
                "SELECT * FROM audit WHERE tenant=? ORDER BY id DESC LIMIT ?", (tenant, limit)
            )
        return [
            AuditRecord(
                r["id"],
                datetime.fromisoformat(r["at"]),
                r["actor"],
                r["action"],
                r["tenant"],
                bool(r["allowed"]),
                r["detail"],
            )
            for r in rows
        ]

    # ------------------------------------------------------------------ source cache
    async def drop_source_caches(self, tenant: str, keep: Sequence[str]) -> int:
        kept = f" AND tenant NOT IN ({','.join('?' * len(keep))})" if keep else ""
        params = (*tenant_keys(tenant), *keep)
        async with self.transaction() as tx:
            cur = await tx.execute(f"DELETE FROM source_records WHERE {OWN_ROWS}{kept}", params)
            await tx.execute(f"DELETE FROM source_state WHERE {OWN_ROWS}{kept}", params)
            return int(cur.rowcount)

    async def load_source(self, tenant: str) -> CachedSource:
        records: dict[str, dict[str, bytes]] = {}
        async with self._db.execute(
            "SELECT entity, id, body FROM source_records WHERE tenant=?", (tenant,)
        ) as cur:
            async for r in cur:
                records.setdefault(r[0], {})[r[1]] = bytes(r[2])
        state = await self._one(
            "SELECT checkpoint, full_read_at FROM source_state WHERE tenant=?", (tenant,)
        )
        return CachedSource(
            records,
            state["checkpoint"] if state else None,
            state["full_read_at"] if state else None,
        )

    async def save_source(
        self,
        tenant: str,
        *,
        upserts: Mapping[str, Mapping[str, bytes]],
        deletes: Mapping[str, Iterable[str]],
        checkpoint: str,
        full: bool,
    ) -> None:
        async with self.transaction() as tx:
            if full:
                await tx.execute("DELETE FROM source_records WHERE tenant=?", (tenant,))
            # after a full read's DELETE nothing can conflict: a plain INSERT (on PostgreSQL
            # sent as one COPY)
            insert = "INSERT INTO source_records(tenant, entity, id, body) VALUES (?,?,?,?)"
            if not full:
                insert += " ON CONFLICT(tenant, entity, id) DO UPDATE SET body=excluded.body"
            for entity, recs in upserts.items():
                await tx.executemany(
                    insert, [(tenant, entity, i, body) for i, body in recs.items()]
                )
            for entity, ids in deletes.items():
                await tx.executemany(
                    "DELETE FROM source_records WHERE tenant=? AND entity=? AND id=?",
                    [(tenant, entity, i) for i in ids],
                )
            await tx.execute(
                "INSERT INTO source_state(tenant, checkpoint, full_read_at) VALUES (?,?,?) "
                "ON CONFLICT(tenant) DO UPDATE SET checkpoint=excluded.checkpoint, "
                "full_read_at=COALESCE(excluded.full_read_at, source_state.full_read_at)",
                (tenant, checkpoint, now_iso() if full else None),
            )

    # ------------------------------------------------------------------ rekey and holds
    async def move_source_ids(self, tenant: str, moves: KeyMoves, actor: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        stamp = now_iso()

        def new_id(rtype: str | None, key: str | None) -> str | None:
            if rtype is None or key is None:
                return None
            moved = moves.ids.get(rtype, {}).get(key)
            return moved if moved != key else None

        try:
            async with self.transaction() as tx:
                # mirror, skips and index rows in two steps through a parked key, so that ids
                # that trade places never meet; a new id that is already taken fails the insert
                rows = await tx.all(
                    "SELECT target, kind, key FROM mirror WHERE tenant=?", (tenant,)
                )
                mirror = [
                    ((r[0], r[1]), r[2], n)
                    for r in rows
                    if (n := new_id(moves.kinds.get(r[0], {}).get(r[1]), r[2])) is not None
                ]
                await _move_in_two_steps(tx, "mirror", ("target", "kind"), tenant, mirror)
                counts["mirror"] = len(mirror)
                counts["links"] = await _move_links(tx, tenant, moves)
                ops = await tx.all(
                    "SELECT id, target, kind, key, parent FROM operations WHERE tenant=? "
                    "AND superseded=0 AND status <> 'done'",
                    (tenant,),
                )
                moved_ops = []
                for op_id, target, kind, key, parent in ops:
                    nk = new_id(moves.kinds.get(target, {}).get(kind), key)
                    np = new_id(moves.parents.get(target, {}).get(kind), parent)
                    if nk is not None or np is not None:
                        moved_ops.append((nk or key, np or parent, op_id))
                await tx.executemany("UPDATE operations SET key=?, parent=? WHERE id=?", moved_ops)
                counts["operations"] = len(moved_ops)
                skips = await tx.all(
                    "SELECT target, action, kind, key, parent FROM skips WHERE tenant=?",
                    (tenant,),
                )
                moved_skips = []
                for target, action, kind, key, parent in skips:
                    nk = new_id(moves.kinds.get(target, {}).get(kind), key)
                    np = new_id(moves.parents.get(target, {}).get(kind), parent or None)
                    if nk is not None or np is not None:
                        moved_skips.append(
                            (target, action, kind, key, parent, nk or key, np or parent)
                        )
                await tx.executemany(
                    "UPDATE skips SET key=?, parent=? WHERE tenant=? AND target=? AND action=? "
                    "AND kind=? AND key=? AND parent=?",
                    [
                        (f"{_PARKED}{nk}", np, tenant, t, a, k, key, parent)
                        for t, a, k, key, parent, nk, np in moved_skips
                    ],
                )
                await tx.executemany(
                    "UPDATE skips SET key=? WHERE tenant=? AND target=? AND action=? AND kind=? "
                    "AND key=? AND parent=?",
                    [
                        (nk, tenant, t, a, k, f"{_PARKED}{nk}", np)
                        for t, a, k, _, _, nk, np in moved_skips
                    ],
                )
                counts["skips"] = len(moved_skips)
                index = await tx.all(
                    "SELECT record_type, key FROM snapshot_index WHERE tenant=?", (tenant,)
                )
                moved_index = [
                    ((r[0],), r[1], n) for r in index if (n := new_id(r[0], r[1])) is not None
                ]
                await _move_in_two_steps(
                    tx, "snapshot_index", ("record_type",), tenant, moved_index
                )
                counts["index"] = len(moved_index)
                held = await tx.all(
                    "SELECT record_type, key FROM source_holds WHERE tenant=?", (tenant,)
                )
                moved_holds = [
                    ((r[0],), r[1], n) for r in held if (n := new_id(r[0], r[1])) is not None
                ]
                await _move_in_two_steps(tx, "source_holds", ("record_type",), tenant, moved_holds)
                await tx.executemany(
                    "INSERT INTO source_holds(tenant, record_type, key, reason, held_at, actor) "
                    "VALUES (?,?,?,?,?,?) ON CONFLICT (tenant, record_type, key) DO UPDATE SET "
                    "reason=excluded.reason, held_at=excluded.held_at, actor=excluded.actor",
                    [(tenant, rt, key, reason, stamp, actor) for rt, key, reason in moves.holds],
                )
                counts["holds"] = len(moves.holds)
                for scope in moves.caches:
                    await tx.execute("DELETE FROM source_records WHERE tenant=?", (scope,))
                    await tx.execute("DELETE FROM source_state WHERE tenant=?", (scope,))
                await tx.execute("DELETE FROM source_aliases WHERE tenant=?", (tenant,))
        except self.INTEGRITY_ERRORS as exc:
            raise JournalError(
                f"the new ids clash with ids the journal already holds for {tenant} ({exc}); "
                "nothing was moved"
            ) from None
        return counts

    async def source_holds(self, tenant: str) -> list[SourceHold]:
        rows = await self._all(
            "SELECT tenant, record_type, key, reason, held_at, actor FROM source_holds "
            "WHERE tenant=? ORDER BY held_at, record_type, key",
            (tenant,),
        )
        return [
            SourceHold(r[0], r[1], r[2], r[3], datetime.fromisoformat(r[4]), r[5]) for r in rows
        ]

    async def release_holds(self, tenant: str, keys: Sequence[tuple[str, str]] | None) -> int:
        async with self.transaction() as tx:
            if keys is None:
                cur = await tx.execute("DELETE FROM source_holds WHERE tenant=?", (tenant,))
                return int(cur.rowcount)
            released = 0
            for rtype, key in keys:
                cur = await tx.execute(
                    "DELETE FROM source_holds WHERE tenant=? AND record_type=? AND key=?",
                    (tenant, rtype, key),
                )
                released += int(cur.rowcount)
            return released

    async def source_aliases(self, tenant: str) -> dict[tuple[str, str], str]:
        rows = await self._all(
            "SELECT source, source_id, merged_id FROM source_aliases "
            "WHERE tenant=? AND record_type='person' AND source_id <> merged_id",
            (tenant,),
        )
        return {(r[0], r[1]): r[2] for r in rows}

    async def replace_source_aliases(
        self,
        tenant: str,
        aliases: Mapping[tuple[str, str], str],
        owners: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
    ) -> None:
        rows = {(src, "person", sid): mid for (src, sid), mid in aliases.items()}
        aliased = {(src, mid) for (src, _), mid in aliases.items()}
        for src, by_type in (owners or {}).items():
            for rtype, ids in by_type.items():
                for rid in sorted(ids):  # a record under its own id; an aliased one has its row
                    if rtype != "person" or (src, rid) not in aliased:
                        rows.setdefault((src, rtype, rid), rid)
        async with self.transaction() as tx:
            await tx.execute("DELETE FROM source_aliases WHERE tenant=?", (tenant,))
            # a plain INSERT after the DELETE (on PostgreSQL sent as one COPY)
            await tx.executemany(
                "INSERT INTO source_aliases(tenant, source, record_type, source_id, merged_id) "
                "VALUES (?,?,?,?,?)",
                [(tenant, *key, mid) for key, mid in rows.items()],
            )

    async def source_owners(self, tenant: str) -> dict[str, dict[str, frozenset[str]]]:
        rows = await self._all(
            "SELECT source, record_type, merged_id FROM source_aliases WHERE tenant=?", (tenant,)
        )
        found: dict[str, dict[str, set[str]]] = {}
        for src, rtype, mid in rows:
            found.setdefault(src, {}).setdefault(rtype, set()).add(mid)
        return {s: {t: frozenset(ids) for t, ids in m.items()} for s, m in found.items()}

    # ------------------------------------------------------------------ snapshot index
    async def replace_index(self, tenant: str, entries: Sequence[IndexEntry]) -> None:
        """(record_type, key, label, detail, search text, redacted JSON body) per record."""
        async with self.transaction() as tx:
            await tx.execute("DELETE FROM snapshot_index WHERE tenant=?", (tenant,))
            await tx.executemany(
                "INSERT INTO snapshot_index(tenant, record_type, key, label, detail, search, body)"
                " VALUES (?,?,?,?,?,?,?)",
                [(tenant, *e) for e in entries],
            )

    async def search_index(self, query: str, tenant: str | None, limit: int) -> list[IndexHit]:
        text = query.lower().replace("%", "\\%").replace("_", "\\_")
        where, params = ["(search LIKE ? ESCAPE '\\' OR key = ?)"], ["%" + text + "%", query]
        if tenant is not None:
            where.append("tenant=?")
            params.append(tenant)
        # exact first: the id; the whole name (the search text starts with the name, then the
        # id); a whole word (a user name, an email); the start of the name; then the rest
        rank = (
            "CASE WHEN key = ? THEN 0 "
            "WHEN search LIKE ? || ' ' || lower(key) || '%' ESCAPE '\\' THEN 1 "
            "WHEN ' ' || search || ' ' LIKE ? ESCAPE '\\' THEN 2 "
            "WHEN search LIKE ? ESCAPE '\\' THEN 3 ELSE 4 END"
        )
        ranks = [query, text, "% " + text + " %", text + "%"]
        rows = await self._all(
            f"SELECT tenant, record_type, key, label, detail FROM snapshot_index "
            f"WHERE {' AND '.join(where)} ORDER BY {rank}, record_type, label LIMIT ?",
            (*params, *ranks, limit),
        )
        return [IndexHit(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    async def index_record(self, tenant: str, record_type: str, key: str) -> IndexRecord | None:
        r = await self._one(
            "SELECT tenant, record_type, key, label, detail, body FROM snapshot_index "
            "WHERE tenant=? AND record_type=? AND key=?",
            (tenant, record_type, key),
        )
        if r is None:
            return None
        return IndexRecord(r[0], r[1], r[2], r[3], r[4], orjson.loads(r[5]) if r[5] else None)

    async def search_mirror(self, query: str, tenant: str | None, limit: int) -> list[IndexHit]:
        where, params = ["m.target_id = ?"], [query.strip()]
        if "@" in query:
            text = query.strip().lower().replace("%", "\\%").replace("_", "\\_")
            where.append("lower(m.attrs) LIKE ? ESCAPE '\\'")
            params.append('%"' + text + '"%')  # the whole value of an attribute
        scope = ""
        if tenant is not None:
            scope = " AND m.tenant = ?"
            params.append(tenant)
        rows = await self._all(
            "SELECT DISTINCT i.tenant, i.record_type, i.key, i.label, i.detail "
            "FROM mirror m JOIN snapshot_index i ON i.tenant = m.tenant AND i.key = m.key "
            f"WHERE ({' OR '.join(where)}){scope} ORDER BY i.record_type, i.label LIMIT ?",
            (*params, limit),
        )
        return [IndexHit(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    # ------------------------------------------------------------------ monitoring
    async def run_counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for r in await self._all(
            "SELECT tenant, status, count(*) AS n FROM runs GROUP BY tenant, status"
        ):
            out.setdefault(r["tenant"], {})[r["status"]] = r["n"]
        return out

    async def heartbeat(self, process: str) -> None:
        async with self.transaction() as tx:
            await tx.execute(
                "INSERT INTO heartbeats(process, at) VALUES (?, ?) "
                "ON CONFLICT(process) DO UPDATE SET at=excluded.at",
                (process, now_iso()),
            )

    async def change_marker(self) -> str:
        # PRAGMA data_version moves when another connection commits; it reads no table, so it
        # costs next to nothing. Commits of this connection are counted in _commits.
        row = await self._one("PRAGMA data_version")
        return f"{row[0] if row else 0}.{self._commits}"

    # ------------------------------------------------------------------ notification outbox
    async def add_notice(self, tenant: str, kind: str, detail: str) -> int:
        async with self.transaction() as tx:
            cur = await tx.execute(
                "INSERT INTO notices(tenant, kind, created_at, detail) VALUES (?,?,?,?)",
                (tenant, kind, now_iso(), detail),
            )
            return int(cur.lastrowid or 0)

    async def last_notice_at(
        self, tenant: str, kind: str, detail_prefix: str = ""
    ) -> datetime | None:
        row = await self._one(
            "SELECT max(created_at) FROM notices WHERE tenant=? AND kind=? "
            "AND detail LIKE ? ESCAPE '\\'",
            (tenant, kind, _literal(detail_prefix) + "%"),
        )
        return datetime.fromisoformat(row[0]) if row is not None and row[0] else None

    async def open_notices(self, limit: int = 100) -> list[NoticeRecord]:
        rows = await self._all(
            "SELECT * FROM notices WHERE closed_at IS NULL ORDER BY id LIMIT ?", (limit,)
        )
        return [
            NoticeRecord(
                id=r["id"],
                tenant=r["tenant"],
                kind=r["kind"],
                run_id=r["run_id"],
                elevation_id=r["elevation_id"],
                created_at=datetime.fromisoformat(r["created_at"]),
                detail=r["detail"],
            )
            for r in rows
        ]

    async def deliveries(self, notice_id: int) -> list[DeliveryRecord]:
        rows = await self._all(
            "SELECT * FROM notice_deliveries WHERE notice_id=? ORDER BY channel", (notice_id,)
        )
        return [
            DeliveryRecord(
                notice_id=r["notice_id"],
                channel=r["channel"],
                attempts=r["attempts"],
                retry_at=parse_ts(r["retry_at"]),
                delivered_at=parse_ts(r["delivered_at"]),
                given_up=bool(r["given_up"]),
                last_error=r["last_error"],
            )
            for r in rows
        ]

    async def record_delivery(
        self,
        notice_id: int,
        channel: str,
        *,
        delivered: bool,
        error: str = "",
        retry_at: datetime | None = None,
        give_up: bool = False,
    ) -> None:
        at = now_iso()
        async with self.transaction() as tx:
            await tx.execute(
                "INSERT INTO notice_deliveries(notice_id, channel, attempts, retry_at, "
                "delivered_at, given_up, last_error) VALUES (?,?,1,?,?,?,?) "
                "ON CONFLICT(notice_id, channel) DO UPDATE SET "
                "attempts=notice_deliveries.attempts+1, "
                "retry_at=excluded.retry_at, delivered_at=excluded.delivered_at, "
                "given_up=excluded.given_up, last_error=excluded.last_error",
                (
                    notice_id,
                    channel,
                    retry_at.isoformat() if retry_at and not delivered else None,
                    at if delivered else None,
                    int(give_up and not delivered),
                    "" if delivered else error,
                ),
            )

    async def close_notice(self, notice_id: int) -> None:
        async with self.transaction() as tx:
            await tx.execute(
                "UPDATE notices SET closed_at=? WHERE id=? AND closed_at IS NULL",
                (now_iso(), notice_id),
            )

    async def source_record(self, tenant: str, entity: str, key: str) -> bytes | None:
        row = await self._one(
            f"SELECT body FROM source_records WHERE {OWN_ROWS} AND entity=? AND (id=? OR EXISTS "
            "(SELECT 1 FROM source_aliases a WHERE a.tenant=? AND a.merged_id=? "
            "AND a.source_id=source_records.id AND source_records.tenant=a.tenant || '/' || "
            "a.source)) ORDER BY tenant LIMIT 1",
            (*tenant_keys(tenant), entity, key, tenant, key),
        )
        return bytes(row[0]) if row is not None else None

    async def source_records_holding(self, tenant: str, entity: str, text: str) -> list[str]:
        rows = await self._all(
            f"SELECT tenant, id FROM source_records WHERE {OWN_ROWS} AND entity=? "
            f"AND {self._BODY_HOLDS}",
            (*tenant_keys(tenant), entity, text),
        )
        if all(r[0] == tenant for r in rows):
            return sorted(str(r[1]) for r in rows)
        merged = {
            (str(src), str(sid)): str(mid)
            for src, sid, mid in await self._all(
                "SELECT source, source_id, merged_id FROM source_aliases WHERE tenant=? "
                "AND record_type='person'",
                (tenant,),
            )
        }
        found = {merged.get((str(s).partition("/")[2], str(i)), str(i)) for s, i in rows}
        return sorted(found)

    async def masked_persons(self, tenant: str, label_prefix: str) -> frozenset[str]:
        rows = await self._all(
            "SELECT key FROM snapshot_index WHERE tenant=? AND record_type='person' "
            "AND substr(label, 1, ?) = ?",
            (tenant, len(label_prefix), label_prefix),
        )
        return frozenset(str(r[0]) for r in rows)


PERSON_ENTITIES = ("persons", "users")
"""The entities under which a source cache keeps person records by their id (SS 12000's
``persons``, OneRoster's ``users``)."""


async def _move_links(tx: _Tx, tenant: str, moves: KeyMoves) -> int:
    """The mirror's links to their new ids, in SQL: the ids in a temporary table, the links
    that move copied through another, so that two million links never become Python rows."""
    await tx.execute(
        "CREATE TEMPORARY TABLE IF NOT EXISTS rekey_ids (record_type TEXT NOT NULL, "
        "old_id TEXT NOT NULL, new_id TEXT NOT NULL, PRIMARY KEY (record_type, old_id))"
    )
    await tx.execute(
        "CREATE TEMPORARY TABLE IF NOT EXISTS rekey_links (target TEXT NOT NULL, "
        "kind TEXT NOT NULL, parent TEXT NOT NULL, child TEXT NOT NULL, new_parent TEXT NOT NULL, "
        "new_child TEXT NOT NULL, PRIMARY KEY (target, kind, parent, child))"
    )
    await tx.execute("DELETE FROM rekey_ids")
    await tx.execute("DELETE FROM rekey_links")
    await tx.executemany(
        "INSERT INTO rekey_ids(record_type, old_id, new_id) VALUES (?,?,?)",
        [(rt, old, new) for rt, ids in moves.ids.items() for old, new in ids.items() if old != new],
    )
    for target, kinds in moves.parents.items():
        for kind, parent_type in kinds.items():
            child_type = moves.kinds.get(target, {}).get(kind, "")
            await tx.execute(
                "INSERT INTO rekey_links(target, kind, parent, child, new_parent, new_child) "
                "SELECT l.target, l.kind, l.parent, l.child, COALESCE(p.new_id, l.parent), "
                "COALESCE(c.new_id, l.child) FROM mirror_links l "
                "LEFT JOIN rekey_ids p ON p.record_type=? AND p.old_id=l.parent "
                "LEFT JOIN rekey_ids c ON c.record_type=? AND c.old_id=l.child "
                "WHERE l.tenant=? AND l.target=? AND l.kind=? "
                "AND (p.new_id IS NOT NULL OR c.new_id IS NOT NULL)",
                (parent_type, child_type, tenant, target, kind),
            )
    row = await tx.one("SELECT COUNT(*) FROM rekey_links")
    moved = int(row[0]) if row else 0
    if moved:
        await tx.execute(
            "DELETE FROM mirror_links WHERE tenant=? AND EXISTS (SELECT 1 FROM rekey_links r "
            "WHERE r.target=mirror_links.target AND r.kind=mirror_links.kind "
            "AND r.parent=mirror_links.parent AND r.child=mirror_links.child)",
            (tenant,),
        )
        await tx.execute(
            "INSERT INTO mirror_links(tenant, target, kind, parent, child) "
            "SELECT ?, target, kind, new_parent, new_child FROM rekey_links "
            "ORDER BY target, kind, new_parent, new_child",  # in key order: a quicker insert
            (tenant,),
        )
    await tx.execute("DELETE FROM rekey_ids")
    await tx.execute("DELETE FROM rekey_links")
    return moved


_PARKED = "\x1frekey\x1f"
"""Prefix of a key on its way to its new value: no source id holds a control character."""


async def _move_in_two_steps(
    tx: _Tx,
    table: str,
    scope: tuple[str, ...],
    tenant: str,
    rows: Sequence[tuple[tuple[str, ...], str, str]],
) -> None:
    """Rename ``key`` in rows (values of the ``scope`` columns, old key, new key) of
    ``table``: first to a parked key, then to the new one, so that keys that trade places
    never collide."""
    where = "".join(f" AND {column}=?" for column in scope)
    sql = f"UPDATE {table} SET key=? WHERE tenant=?{where} AND key=?"
    await tx.executemany(sql, [(f"{_PARKED}{new}", tenant, *at, old) for at, old, new in rows])
    await tx.executemany(sql, [(new, tenant, *at, f"{_PARKED}{new}") for at, _, new in rows])


class _Tx:
    """The statements allowed inside :meth:`SqliteJournal.transaction`."""

    def __init__(self, db: aiosqlite.Connection, civic_hash: CivicHash | None = None) -> None:
        self._db = db
        self._civic_hash = civic_hash

    @property
    def civic_hash(self) -> CivicHash | None:
        return self._civic_hash

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Cursor:
        return await self._db.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self._db.executemany(sql, rows)

    async def executescript_in_tx(self, script: str) -> None:
        for statement in script.split(";"):
            if statement.strip():
                await self._db.execute(statement)

    async def one(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        async with self._db.execute(sql, params) as cur:
            return await cur.fetchone()

    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        async with self._db.execute(sql, params) as cur:
            return list(await cur.fetchall())


_WRITE_CAUSES = {
    "SQLITE_FULL": "disk full writing {path}; free some space and run again",
    "SQLITE_IOERR": "I/O error writing {path} ({error})",
    "SQLITE_READONLY": "the journal {path} is read-only ({error})",
    "SQLITE_CANTOPEN": "cannot open the journal {path} ({error})",
    "SQLITE_CORRUPT": "the journal {path} is damaged ({error}); restore it from a backup",
    "SQLITE_NOTADB": "{path} is not an ESS journal ({error})",
    "SQLITE_BUSY": "the journal {path} stayed locked by another process ({error})",
}


def _write_error(path: Path, exc: sqlite3.Error) -> Exception:
    """A failed statement as the cause a person can act on; an error of ESS's own SQL (a bug)
    is kept as it is."""
    code = getattr(exc, "sqlite_errorname", "") or ""
    for prefix, text in _WRITE_CAUSES.items():
        if code.startswith(prefix):
            return JournalWriteError(text.format(path=path, error=exc))
    if "disk is full" in str(exc):
        return JournalWriteError(_WRITE_CAUSES["SQLITE_FULL"].format(path=path))
    return exc


async def _stopped(pending: aiosqlite.Connection) -> None:
    """Let a connection that failed to open finish stopping its thread while the event loop
    still runs: else its thread answers a closed loop and prints a traceback."""
    thread = getattr(pending, "_thread", None)
    if thread is not None and thread.is_alive():
        await asyncio.to_thread(thread.join, 5.0)


async def _check_lease(tx: _Tx, lease: Lease) -> None:
    row = await tx.one("SELECT token FROM leases WHERE tenant=?", (lease.tenant,))
    if row is None or row["token"] != lease.token:
        raise LeaseLost(
            f"the lease of tenant {lease.tenant!r} was taken over by another run; this run stops"
        )


def _run(r: aiosqlite.Row) -> RunRecord:
    return RunRecord(
        id=r["id"],
        tenant=r["tenant"],
        status=r["status"],
        trigger=r["trigger"],
        actor=r["actor"],
        dry_run=bool(r["dry_run"]),
        targets=tuple(orjson.loads(r["targets"])) if r["targets"] else (),
        started_at=datetime.fromisoformat(r["started_at"]),
        finished_at=parse_ts(r["finished_at"]),
        counts=orjson.loads(r["counts"]) if r["counts"] else {},
        guard=orjson.loads(r["guard"]) if r["guard"] else {},
        error=r["error"],
        source_mode=r["source_mode"],
    )


def _operation(r: aiosqlite.Row) -> OperationRecord:
    return OperationRecord(
        op=_op(r),
        run_id=r["run_id"],
        tenant=r["tenant"],
        status=OpStatus(r["status"]),
        reason=r["reason"],
        last_error=r["last_error"],
        not_before=float(r["not_before"]),
        superseded=bool(r["superseded"]),
        updated_at=parse_ts(r["updated_at"]),
        request_id=r["request_id"],
    )


def _elevation(r: aiosqlite.Row) -> ElevationRecord:
    return ElevationRecord(
        id=r["id"],
        tenant=r["tenant"],
        actor=r["actor"],
        reason=r["reason"],
        created_at=datetime.fromisoformat(r["created_at"]),
        expires_at=datetime.fromisoformat(r["expires_at"]),
        needs_approval=bool(r["needs_approval"]),
        approved_by=r["approved_by"],
        approved_at=parse_ts(r["approved_at"]),
        revoked=bool(r["revoked"]),
        approval_signature=r["approval_signature"],
    )


def _holder_gone(row: aiosqlite.Row) -> bool:
    """The lease row's holder is known to be dead; a row without its owner (written by an older
    release, or taken over by one since) is not known so, and can only expire."""
    if row["owner_host"] is None or row["owner_token"] != row["token"]:
        return False
    owner = LeaseOwner(row["owner_host"], int(row["owner_pid"]), float(row["owner_started"]))
    return owner.is_gone()


def _op(r: aiosqlite.Row) -> Operation:
    return Operation(
        seq=r["seq"],
        target=r["target"],
        action=Action(r["action"]),
        kind=r["kind"],
        key=r["key"],
        parent=r["parent"],
        attrs=attrs_from_json(r["attrs"]),
        fingerprint=r["fingerprint"],
        depends_on=tuple(orjson.loads(r["depends_on"])) if r["depends_on"] else (),
        label=r["label"],
        id=r["id"],
        attempts=r["attempts"],
        target_id=r["target_id"],
    )


async def _apply_mirror(
    tx: _Tx,
    tenant: str,
    done: Sequence[OutcomeRow],
    link_specs: Mapping[str, tuple[str, str]],
    stamp: str,
) -> None:
    upsert, suspend, archive, delete, link, unlink = [], [], [], [], [], []
    for r in done:
        op = r.op
        target, kind, key = op.target, op.kind, op.key
        if op.action in (Action.CREATE, Action.UPDATE, Action.RESTORE):
            upsert.append(
                (
                    tenant,
                    target,
                    kind,
                    key,
                    r.target_id or op.target_id,
                    upgraded_fingerprint(op.fingerprint, op.attrs),  # planned before the upgrade?
                    _dumps(op.attrs) if op.attrs else None,
                    op.label,
                    stamp,
                )
            )
        elif op.action is Action.SUSPEND:
            suspend.append((stamp, stamp, tenant, target, kind, key))
        elif op.action is Action.ARCHIVE:
            archive.append((stamp, tenant, target, kind, key))
        elif op.action is Action.DELETE:
            delete.append((tenant, target, kind, key))
        elif op.action is Action.LINK:
            link.append((tenant, target, kind, op.parent or "", key))
        elif op.action is Action.UNLINK:
            unlink.append((tenant, target, kind, op.parent or "", key))
    if upsert:
        await tx.executemany(
            "INSERT INTO mirror(tenant, target, kind, key, target_id, fingerprint, attrs, label, "
            "suspended_at, archived, updated_at) VALUES (?,?,?,?,?,?,?,?,NULL,0,?) "
            "ON CONFLICT(tenant, target, kind, key) DO UPDATE SET "
            "target_id=COALESCE(excluded.target_id, mirror.target_id), "
            "fingerprint=excluded.fingerprint, attrs=excluded.attrs, label=excluded.label, "
            "suspended_at=NULL, archived=0, updated_at=excluded.updated_at",
            upsert,
        )
    if suspend:
        await tx.executemany(
            "UPDATE mirror SET suspended_at=?, updated_at=? WHERE tenant=? AND target=? AND "
            "kind=? AND key=?",
            suspend,
        )
    if archive:
        await tx.executemany(
            "UPDATE mirror SET archived=1, updated_at=? WHERE tenant=? AND target=? AND kind=? "
            "AND key=?",
            archive,
        )
    if delete:
        await tx.executemany(
            "DELETE FROM mirror WHERE tenant=? AND target=? AND kind=? AND key=?", delete
        )
        for tenant_, target, kind, key in delete:
            for link_kind, (parent_kind, child_kind) in link_specs.items():
                if parent_kind == kind:
                    await tx.execute(
                        "DELETE FROM mirror_links WHERE tenant=? AND target=? AND kind=? AND "
                        "parent=?",
                        (tenant_, target, link_kind, key),
                    )
                if child_kind == kind:
                    await tx.execute(
                        "DELETE FROM mirror_links WHERE tenant=? AND target=? AND kind=? AND "
                        "child=?",
                        (tenant_, target, link_kind, key),
                    )
    if link:
        await tx.executemany(
            "INSERT INTO mirror_links(tenant, target, kind, parent, child) "
            "VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
            link,
        )
    if unlink:
        await tx.executemany(
            "DELETE FROM mirror_links WHERE tenant=? AND target=? AND kind=? AND parent=? AND "
            "child=?",
            unlink,
        )


async def _supersede_trouble(tx: _Tx, tenant: str, run_id: int, targets: Iterable[str]) -> None:
    """Earlier failed, dead and blocked items of these targets give way to a new plan."""
    for target in sorted(targets):
        await tx.execute(
            "UPDATE operations SET superseded=1 WHERE tenant=? AND target=? "
            "AND superseded=0 AND run_id<>? AND status IN (?,?,?)",
            (tenant, target, run_id, "failed", "dead", "blocked"),
        )


async def _next_operation_id(tx: _Tx) -> int:
    row = await tx.one("SELECT COALESCE(MAX(id), 0) AS m FROM operations")
    return int(row["m"] if row else 0) + 1


async def _insert_operations(tx: _Tx, run_id: int, tenant: str, ops: Sequence[Operation]) -> None:
    """Insert operations that carry their row ids, as pending (rows made as they are written)."""
    stamp, pending = now_iso(), OpStatus.PENDING.value
    await tx.executemany(
        "INSERT INTO operations(id, run_id, tenant, target, seq, action, kind, key, "
        "parent, attrs, fingerprint, depends_on, label, status, target_id, updated_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            (
                op.id,
                run_id,
                tenant,
                op.target,
                op.seq,
                op.action.value,
                op.kind,
                op.key,
                op.parent,
                _dumps(op.attrs) if op.attrs else None,
                op.fingerprint,
                _dumps(op.depends_on) if op.depends_on else None,
                op.label,
                pending,
                op.target_id,
                stamp,
            )
            for op in ops
        ),
    )


def _literal(text: str) -> str:
    """``text`` for a LIKE pattern, its wildcards taken literally (ESCAPE '\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere."""
    return f"%{_literal(text)}%"


def _addresses(attrs: str | bytes | None) -> set[str]:
    """Account names and addresses (values holding an ``@``) among stored attributes: what an
    error message from a target may name a person by."""
    if not attrs:
        return set()
    try:
        values = orjson.loads(attrs)
    except orjson.JSONDecodeError:
        return set()
    found: set[str] = set()
    stack = [values]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if "@" in v and 3 <= len(v) <= 256:
                found.add(v)
        elif isinstance(v, list | tuple):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.values())
    return found
