"""The journal contract: one tenant's rows are exported and deleted alone, in every table and
under every scope derived from its id (``TENANT/KEY``, the cache of each of several sources),
and the audit chain still holds. Every implementation passes these (conftest.py lists them)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.audit_chain import verify_chain
from engine.findings import Finding, Severity
from engine.journal import Journal, JournalError, LeaseHeld, SqliteJournal
from engine.journal.agent_uploads import JournalUploads
from engine.journal.postgres import PostgresJournal
from engine.journal.postgres_schema import TENANT_TABLES, tenant_keys
from engine.journal.protocol import KeyMoves
from engine.journal.tenant_rows import EXPORT_FORMAT, delete_tenant, export_tenant
from engine.plan import Action, OpStatus
from tests.journal.journal_support import finish, op, stored_run

GONE, KEPT = "leaving", "staying"


async def fill(j: Journal, tenant: str) -> None:
    """Rows of ``tenant`` in every table that holds a tenant's rows."""
    await j.upsert_tenant(tenant, tenant.title(), "bronze")
    lease = await j.acquire_lease(tenant, "test", 60)
    ops = [op(1, Action.CREATE, "user", f"{tenant}-u1"), op(2, Action.CREATE, "class", "c1")]
    ops.append(op(3, Action.LINK, "class.member", f"{tenant}-u1", parent="c1", depends_on=(1, 2)))
    run_id, stored = await stored_run(j, ops, tenant)
    await j.mark_in_flight(lease, stored)
    await finish(j, stored, OpStatus.DONE, tenant, target_id="id")
    await j.release_lease(lease)
    await j.update_run(run_id, status="failed", finished=True)  # writes a notice
    [notice] = [n for n in await j.open_notices() if n.tenant == tenant]
    await j.record_delivery(notice.id, "mail", delivered=False, error="refused")
    await j.add_findings(
        run_id, tenant, [Finding("x.y", Severity.WARNING, "person", "u1", "m")], {}
    )
    await j.add_skips(tenant, [stored[0]], "test", "why")
    await j.add_events(tenant, run_id, [("2026-11-03T08:00:00.000+00:00", "info", "hej")])
    await j.add_approval(run_id, "approved", "test", "")
    await j.add_elevation(tenant, "test", "why", datetime.now(UTC) + timedelta(minutes=5), True)
    await j.add_approver_key(tenant, "rektor", "a2V5", "cli:eva")
    await j.add_audit("test", "sync", tenant, True, f"sync {tenant}")
    await j.save_source(
        tenant, upserts={"persons": {"u1": b'{"n":1}'}}, deletes={}, checkpoint="c", full=True
    )
    for key in ("grund", "gy"):  # the caches of two sources, one read incrementally
        await j.save_source(
            f"{tenant}/{key}",
            upserts={"persons": {f"{key}1": f'{{"school":"{tenant}-{key}"}}'.encode()}},
            deletes={},
            checkpoint=f"{key}-cursor",
            full=key == "grund",
        )
    await j.replace_index(tenant, [("person", "u1", "Åsa Berg", "student", "åsa berg", "{}")])
    await j.move_source_ids(tenant, KeyMoves({}, {}, {}, (("person", "u9", "unmatched"),)), "t")
    await j.replace_source_aliases(tenant, {("grund", "g1"): "u1"})
    await j.acquire_lease(tenant, "test", 0.001)  # a lease row (expired at once)
    uploads = JournalUploads(j)  # an accepted agent upload, and one still open
    done, _ = await uploads.begin(f"{tenant}-agent", tenant, 1, 3, "h", "1.0")
    await uploads.append(done.upload_id, 0, b"abc")
    await uploads.accept(done, {"persons": 1})
    open_, _ = await uploads.begin(f"{tenant}-agent", tenant, 2, 3, "h", "1.0")
    await uploads.append(open_.upload_id, 0, b"ab")


async def table_columns(j: SqliteJournal) -> dict[str, list[str]]:
    """Every table of the journal and its columns, asked of the database itself: a table added
    later is scanned without anyone remembering to list it."""
    if isinstance(j, PostgresJournal):
        rows = await j._all(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
        )
    else:
        rows = await j._all(
            "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p "
            "WHERE m.type = 'table' ORDER BY m.name, p.cid"
        )
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(str(table), []).append(str(column))
    return out


async def holding(j: SqliteJournal, text: str) -> list[str]:
    """``table.column`` of every value in the journal that holds ``text`` (text or bytes), but
    the audit row recording a tenant's deletion, which names it on purpose."""
    found: list[str] = []
    for table, columns in (await table_columns(j)).items():
        for row in await j._all(f"SELECT * FROM {table}"):
            values = dict(zip(columns, row, strict=True))
            if table == "audit" and values.get("action") == "tenant_deleted":
                continue
            for column, value in values.items():
                if isinstance(value, memoryview | bytearray):
                    value = bytes(value)
                if isinstance(value, bytes):
                    value = value.decode("utf-8", "replace")
                if isinstance(value, str) and text in value:
                    found.append(f"{table}.{column}")
    return found


async def both(journal: Journal) -> SqliteJournal:
    assert isinstance(journal, SqliteJournal)  # both implementations share these queries
    await fill(journal, GONE)
    await fill(journal, KEPT)
    await journal.add_audit("test", "verify", None, True, "no tenant")
    return journal


def tenants_in(document: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for table in document["tables"].values():
        for column in ("tenant", "id"):
            if column in table["columns"]:
                i = table["columns"].index(column)
                found |= {r[i] for r in table["rows"] if isinstance(r[i], str)}
    return found


async def test_an_export_holds_every_table_of_the_tenant_and_nothing_else(
    journal: Journal,
) -> None:
    j = await both(journal)
    document = await export_tenant(j, GONE)
    assert document["format"] == EXPORT_FORMAT and document["tenant"] == GONE
    assert set(document["tables"]) == {t for t, _ in TENANT_TABLES}
    empty = sorted(t for t, v in document["tables"].items() if not v["rows"])
    assert empty == []  # fill() wrote to every table
    assert KEPT not in str(document["tables"])  # not one row of the other tenant
    assert tenants_in(document) - {"u1", "c1", "grund1", "gy1"} <= {GONE} | {
        r[0] for r in document["tables"]["source_records"]["rows"]
    }
    bodies = {r[0]: r[-1] for r in document["tables"]["source_records"]["rows"]}
    assert set(bodies) == {GONE, f"{GONE}/grund", f"{GONE}/gy"}  # every source's cache
    assert base64.b64decode(bodies[GONE]["base64"]) == b'{"n":1}'
    states = {r[0]: r[1] for r in document["tables"]["source_state"]["rows"]}
    assert states == {GONE: "c", f"{GONE}/grund": "grund-cursor", f"{GONE}/gy": "gy-cursor"}
    with pytest.raises(JournalError, match="nothing of tenant 'nobody'"):
        await export_tenant(j, "nobody")


async def test_a_deleted_tenant_is_gone_from_every_table_and_the_others_stay(
    journal: Journal,
) -> None:
    j = await both(journal)
    kept_before = await export_tenant(j, KEPT)
    done = await delete_tenant(j, GONE, "cli:eva")
    assert done.audit_tombstoned == 1 and done.rows["runs"] == 1 and done.rows["attempts"] == 3
    for table, where in TENANT_TABLES:
        left = await j._all(f"SELECT count(*) FROM {table} WHERE {where}", tenant_keys(GONE))
        assert left[0][0] == 0, table
    assert await holding(j, GONE) == []  # nor in any other table or column
    with pytest.raises(JournalError):
        await export_tenant(j, GONE)
    kept_after = await export_tenant(j, KEPT)
    assert kept_after["tables"] == kept_before["tables"]
    # the audit chain holds, the tenant's row is a tombstone, the deletion is audited
    links = await j.audit_chain(0, 1000)
    assert verify_chain(links).ok
    assert [link.tombstone for link in links].count(True) == 1
    assert links[-1].action == "tenant_deleted" and GONE in links[-1].detail
    assert GONE not in {a.tenant for a in await j.list_audit(None, 100)}


async def test_a_tenant_that_runs_is_not_deleted(journal: Journal) -> None:
    j = await both(journal)
    await j.acquire_lease(GONE, "scheduler", 60)
    with pytest.raises(LeaseHeld):
        await delete_tenant(j, GONE, "cli:eva")
    assert (await export_tenant(j, GONE))["tables"]["runs"]["rows"]
