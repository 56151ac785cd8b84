"""One tenant's rows, alone: exported to a file, or deleted from the journal.

Both work on either journal (SQLite or PostgreSQL, which share the queries) and reach every
table that holds the tenant's rows (:data:`TENANT_TABLES`): by its own ``tenant`` column, or
through the run, operation or notice the row belongs to. A tenant's rows include those kept
under a scope derived from its id, ``TENANT/KEY`` (the source cache of each of several
sources): a deleted tenant leaves none of its pupils' records behind. The audit log is one
hash chain for the whole journal, so a deleted tenant's audit rows are not removed but made
tombstones (their content gone, as retention does), which keeps ``ess audit verify`` holding;
the deletion itself is audited. Both read or write in one transaction: an export is one
consistent moment, and a deletion is whole or not at all.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from engine.journal.postgres_schema import OWN_ROWS, TENANT_TABLES, tenant_keys
from engine.journal.protocol import JournalError, LeaseHeld
from engine.journal.sqlite import SqliteJournal, now_iso

EXPORT_FORMAT = "ess-tenant-export/1"


@dataclass(frozen=True, slots=True)
class TenantDeleted:
    """Rows removed per table, and the audit rows made tombstones."""

    tenant: str
    rows: dict[str, int]
    audit_tombstoned: int
    # outside the journal (engine.tenant_files): what was removed, and what was not reached
    files_removed: tuple[str, ...] = ()
    files_not_reached: tuple[str, ...] = ()


def _plain(value: Any) -> Any:
    """A column value as JSON: bytes (the source's raw records) as base64."""
    if isinstance(value, bytes | bytearray | memoryview):
        return {"base64": base64.b64encode(bytes(value)).decode()}
    return value


async def export_tenant(journal: SqliteJournal, tenant: str) -> dict[str, Any]:
    """Every row of the tenant, table by table, as one JSON-ready document."""
    tables: dict[str, Any] = {}
    async with journal.transaction() as tx:  # one moment: no write lands half-way through
        for table, where in TENANT_TABLES:
            rows = await tx.all(f"SELECT * FROM {table} WHERE {where}", tenant_keys(tenant))
            columns = list(rows[0].keys()) if rows else []
            tables[table] = {
                "columns": columns,
                "rows": [[_plain(v) for v in r] for r in rows],
            }
    if not tables["tenants"]["rows"] and not tables["runs"]["rows"]:
        raise JournalError(f"the journal holds nothing of tenant {tenant!r}")
    return {
        "format": EXPORT_FORMAT,
        "tenant": tenant,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tables": tables,
    }


async def delete_tenant(journal: SqliteJournal, tenant: str, actor: str) -> TenantDeleted:
    """Remove every row of the tenant; its audit rows become tombstones. Refused while a run
    of the tenant holds its lease."""
    holder = await journal.lease_holder(tenant)
    if holder is not None:
        raise LeaseHeld(tenant, holder.holder, holder.expires_at - datetime.now(UTC).timestamp())
    counts: dict[str, int] = {}
    async with journal.transaction() as tx:
        found = await tx.one(
            "SELECT 1 FROM tenants WHERE id=? UNION SELECT 1 FROM runs WHERE tenant=?",
            (tenant, tenant),
        )
        if found is None:
            raise JournalError(f"the journal holds nothing of tenant {tenant!r}")
        # rows reached through their parent go before the parent
        for table, where in sorted(TENANT_TABLES, key=lambda t: " IN (" not in t[1]):
            if table == "audit":
                continue
            cur = await tx.execute(f"DELETE FROM {table} WHERE {where}", tenant_keys(tenant))
            counts[table] = int(cur.rowcount)
        cur = await tx.execute(
            "UPDATE audit SET actor='', action='tombstone', tenant=NULL, allowed=0, "
            f"detail='', tombstone=1 WHERE {OWN_ROWS}",
            tenant_keys(tenant),
        )
        tombstoned = int(cur.rowcount)
    await journal.add_audit(
        actor,
        "tenant_deleted",
        None,
        True,
        f"tenant {tenant}: {sum(counts.values())} rows removed, {tombstoned} audit rows "
        f"made tombstones at {now_iso()}",
    )
    return TenantDeleted(tenant, counts, tombstoned)
