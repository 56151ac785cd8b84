"""Moving an on-site SQLite journal into the hosted PostgreSQL journal, history and all.

Every table is copied row by row in ONE PostgreSQL transaction under the journal's write lock:
either the whole installation arrives or nothing does. The database may already hold other
installations' tenants (a hosted journal serves many): the copied ids are then moved past the
ones there, with every column that refers to them, and the copied audit rows are chained on
after the database's own, each hash recomputed, so ``ess audit verify`` holds on the whole log.
Into an empty database nothing is renumbered: every id and audit hash stays as it was.

Not copied: leases (held by on-site processes that stop with the move) and heartbeats; the
lease tokens are, so a fencing token never goes back. A tenant already in the database is
refused: two installations' histories of one tenant would not be one history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.audit_chain import GENESIS, row_hash
from engine.journal.postgres import PostgresJournal
from engine.journal.postgres_schema import IDENTITY_TABLES
from engine.journal.protocol import JournalError
from engine.journal.sqlite import SqliteJournal, _Tx

SKIPPED = frozenset({"leases", "heartbeats"})
"""Tables that describe the on-site processes, not the installation's history."""

ORDER = (
    "tenants",
    "lease_tokens",
    "runs",
    "findings",
    "operations",
    "attempts",
    "mirror",
    "mirror_links",
    "events",
    "approvals",
    "elevations",
    "approver_keys",
    "audit",
    "skips",
    "source_records",
    "source_state",
    "snapshot_index",
    "notices",
    "notice_deliveries",
    "source_holds",
    "source_aliases",
    "agent_uploads",
    "agent_upload_chunks",
    "agent_snapshots",
    "agent_sequences",
)
"""Every table of the journal that is copied (the order matters only for reading the log)."""

RENUMBERED: dict[str, dict[str, str]] = {
    "runs": {"id": "runs"},
    "findings": {"id": "findings", "run_id": "runs"},
    "operations": {"id": "operations", "run_id": "runs"},
    "attempts": {"op_id": "operations"},
    "events": {"id": "events", "run_id": "runs"},
    "approvals": {"id": "approvals", "run_id": "runs"},
    "elevations": {"id": "elevations"},
    "notices": {"id": "notices", "run_id": "runs", "elevation_id": "elevations"},
    "notice_deliveries": {"notice_id": "notices"},
}
"""Per table, each id column and the table whose ids it holds."""

_BATCH = 2000


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What arrived: rows per table, and by how much each table's ids were moved."""

    rows: dict[str, int]
    shifted: dict[str, int]
    audit_rechained: bool


async def import_sqlite(source: SqliteJournal, dest: PostgresJournal) -> ImportReport:
    """Copy everything of ``source`` (a journal no process writes to: a backup copy) into
    ``dest``. Raises :class:`JournalError` naming the reason when it cannot."""
    tables = await _source_tables(source)
    unknown = sorted(set(tables) - set(ORDER) - SKIPPED)
    if unknown:
        raise JournalError(
            f"the SQLite journal has tables this ESS cannot move: {', '.join(unknown)}"
        )
    rows: dict[str, int] = {}
    async with dest.transaction() as tx:
        dest_columns = await _dest_columns(tx)
        for table in ORDER:
            missing = sorted(set(tables.get(table, ())) - set(dest_columns.get(table, ())))
            if missing:
                raise JournalError(
                    f"the PostgreSQL journal has no column {', '.join(missing)} of table {table}; "
                    "its migrations are behind the SQLite journal's"
                )
        await _refuse_known_tenants(source, tx)
        shifted = {
            t: await _max_id(tx, t) for t in {p for m in RENUMBERED.values() for p in m.values()}
        }
        head = await tx.one("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1")
        for table in ORDER:
            if table not in tables:
                continue
            columns = tables[table]
            if table == "audit" and head is not None:
                rows[table] = await _chain_audit(source, tx, columns, int(head[0]), str(head[1]))
                continue
            rows[table] = await _copy(source, tx, table, columns, shifted)
        for table in sorted(IDENTITY_TABLES):
            await tx.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"GREATEST((SELECT max(id) FROM {table}), 1))"
            )
    return ImportReport(rows, {t: n for t, n in shifted.items() if n}, head is not None)


async def _source_tables(source: SqliteJournal) -> dict[str, list[str]]:
    names = [
        str(r[0])
        for r in await source._all(
            "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"
        )
    ]
    out: dict[str, list[str]] = {}
    for name in names:
        if name in SKIPPED:
            continue
        out[name] = [str(r[1]) for r in await source._all(f"PRAGMA table_info({name})")]
    return out


async def _dest_columns(tx: _Tx) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in await tx.all(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
    ):
        out.setdefault(str(r[0]), []).append(str(r[1]))
    return out


async def _refuse_known_tenants(source: SqliteJournal, tx: _Tx) -> None:
    ids = sorted(
        {str(r[0]) for r in await source._all("SELECT id FROM tenants")}
        | {str(r[0]) for r in await source._all("SELECT DISTINCT tenant FROM runs")}
    )
    if not ids:
        return
    marks = ",".join("?" * len(ids))
    have = await tx.all(
        f"SELECT id FROM tenants WHERE id IN ({marks}) UNION "
        f"SELECT DISTINCT tenant FROM runs WHERE tenant IN ({marks})",
        (*ids, *ids),
    )
    if have:
        taken = ", ".join(sorted(str(r[0]) for r in have))
        raise JournalError(
            f"the PostgreSQL journal already holds tenant(s) {taken}; nothing was moved "
            "(export and delete them there first, or move into another database)"
        )


async def _max_id(tx: _Tx, table: str) -> int:
    row = await tx.one(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
    return int(row[0]) if row is not None else 0


async def _copy(
    source: SqliteJournal, tx: _Tx, table: str, columns: Sequence[str], shifted: dict[str, int]
) -> int:
    moves = [
        (i, shifted[RENUMBERED[table][c]])
        for i, c in enumerate(columns)
        if c in RENUMBERED.get(table, {}) and shifted[RENUMBERED[table][c]]
    ]
    insert = f"INSERT INTO {table}({', '.join(columns)}) VALUES ({','.join('?' * len(columns))})"
    count = 0
    batch: list[list[Any]] = []
    async with source._db.execute(f"SELECT {', '.join(columns)} FROM {table}") as cur:
        async for r in cur:
            row = list(r)
            for i, by in moves:
                if row[i] is not None:
                    row[i] += by
            batch.append(row)
            if len(batch) >= _BATCH:
                await tx.executemany(insert, batch)
                count, batch = count + len(batch), []
    if batch:
        await tx.executemany(insert, batch)
        count += len(batch)
    return count


async def _chain_audit(
    source: SqliteJournal, tx: _Tx, columns: Sequence[str], head_id: int, head_hash: str
) -> int:
    """The copied audit rows, numbered on after the database's head and chained to it."""
    insert = f"INSERT INTO audit({', '.join(columns)}) VALUES ({','.join('?' * len(columns))})"
    at = {c: i for i, c in enumerate(columns)}
    prev, rid, batch, count = head_hash or GENESIS, head_id, [], 0
    async with source._db.execute(f"SELECT {', '.join(columns)} FROM audit ORDER BY id") as cur:
        async for r in cur:
            row = list(r)
            rid += 1
            digest = row_hash(
                prev,
                rid,
                row[at["at"]],
                row[at["actor"]],
                row[at["action"]],
                row[at["tenant"]],
                bool(row[at["allowed"]]),
                row[at["detail"]],
            )
            row[at["id"]], row[at["prev"]], row[at["hash"]] = rid, prev, digest
            prev = digest
            batch.append(row)
            if len(batch) >= _BATCH:
                await tx.executemany(insert, batch)
                count, batch = count + len(batch), []
    if batch:
        await tx.executemany(insert, batch)
        count += len(batch)
    return count
