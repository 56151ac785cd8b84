"""Retention: after a sync, the run log's events and the attempts of runs older than
``history_days`` are gone, audit rows older than ``audit_days`` are tombstones, newer ones are
untouched, and the audit chain still verifies against a head taken before."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from engine.audit_chain import GENESIS, row_hash
from engine.ops import Ops
from engine.testing.builder import next_term, tiny_snapshot
from tests.conftest import Workdir


def _count(db: sqlite3.Connection, sql: str, *args: object) -> int:
    return int(db.execute(sql, args).fetchone()[0])


async def test_old_history_goes_and_old_audit_rows_become_tombstones(workdir: Workdir) -> None:
    workdir.write()
    snap = workdir.source(tiny_snapshot())
    async with await Ops.open(workdir.config, actor="cli:eva") as ops:
        await ops.sync("alpha")
        workdir.source(next_term(snap))
        await ops.sync("alpha")
    with sqlite3.connect(workdir.journal) as db:
        assert _count(db, "SELECT count(*) FROM events WHERE run_id=1") > 0
        assert (
            _count(
                db,
                "SELECT count(*) FROM attempts a JOIN operations o ON o.id=a.op_id "
                "WHERE o.run_id=1",
            )
            > 0
        )
        audit_rows = _count(db, "SELECT count(*) FROM audit")
        long_ago = (datetime.now(UTC) - timedelta(days=400)).isoformat()
        db.execute("UPDATE runs SET started_at=? WHERE id=1", (long_ago,))
        ancient = (datetime.now(UTC) - timedelta(days=6 * 366)).isoformat(timespec="milliseconds")
        db.execute("UPDATE audit SET at=? WHERE id=1", (ancient,))
        # the chain covers `at`: rechain the aged row as if it had been written then
    async with await Ops.open(workdir.config, actor="cli:eva") as ops:
        _rechain(workdir)
        head = await ops.audit_head()
        assert head is not None
        await ops.sync("alpha")
        verdict = await ops.verify_audit(head)
        audit = await ops.audit(None, limit=100)
    assert verdict.ok, verdict.problem
    with sqlite3.connect(workdir.journal) as db:
        assert _count(db, "SELECT count(*) FROM events WHERE run_id=1") == 0
        assert (
            _count(
                db,
                "SELECT count(*) FROM attempts a JOIN operations o ON o.id=a.op_id "
                "WHERE o.run_id=1",
            )
            == 0
        )
        assert _count(db, "SELECT count(*) FROM events WHERE run_id=2") > 0
        assert _count(db, "SELECT count(*) FROM events WHERE run_id=3") > 0
        assert _count(db, "SELECT tombstone FROM audit WHERE id=1") == 1
        assert _count(db, "SELECT count(*) FROM audit WHERE tombstone=1") == 1
        assert db.execute("SELECT actor, detail FROM audit WHERE id=1").fetchone() == ("", "")
        assert _count(db, "SELECT count(*) FROM audit") > audit_rows
    retention = [a for a in audit if a.action == "retention"]
    assert len(retention) == 1 and "1 audit rows" in retention[0].detail


def _rechain(workdir: Workdir) -> None:
    with sqlite3.connect(workdir.journal) as db:
        prev = GENESIS
        rows = db.execute(
            "SELECT id, at, actor, action, tenant, allowed, detail FROM audit ORDER BY id"
        ).fetchall()
        for rid, at, actor, action, tenant, allowed, detail in rows:
            digest = row_hash(prev, rid, at, actor, action, tenant, bool(allowed), detail)
            db.execute("UPDATE audit SET prev=?, hash=? WHERE id=?", (prev, digest, rid))
            prev = digest
