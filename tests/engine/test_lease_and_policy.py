"""Leases (one run per tenant), support tiers, elevations, read-only mode and the audit."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from engine.approval import new_private_key, sign
from engine.journal import JournalError, LeaseLost, SqliteJournal
from engine.journal import sqlite as journal_sqlite
from engine.journal.schema import MIGRATIONS, MigrationTx
from engine.ops import Busy, Ops, PolicyRefused
from tests.conftest import Workdir


async def test_two_concurrent_runs_of_one_tenant(workdir: Workdir) -> None:
    workdir.write(target="latency_s = 0.05\nbatch_size = 5\nmax_concurrency = 1")
    async with (
        await Ops.open(workdir.config, actor="test:a") as a,
        await Ops.open(workdir.config, actor="test:b") as b,
    ):
        results = await asyncio.gather(a.sync("alpha"), b.sync("alpha"), return_exceptions=True)
    ok = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, Busy)]
    assert len(ok) == 1 and len(refused) == 1
    assert "being synced by test:" in str(refused[0])
    assert ok[0].status == "succeeded"


async def test_expired_lease_is_taken_over_and_the_old_holder_is_fenced(tmp_path) -> None:  # type: ignore[no-untyped-def]
    j = await SqliteJournal.open(tmp_path / "j.db")
    try:
        old = await j.acquire_lease("t", "old", ttl=0.05)
        await asyncio.sleep(0.1)
        new = await j.acquire_lease("t", "new", ttl=60)
        assert new.token > old.token
        with pytest.raises(LeaseLost):
            await j.renew_lease(old, 60)
        with pytest.raises(LeaseLost):
            await j.mark_in_flight(old, [])
        await j.renew_lease(new, 60)
    finally:
        await j.close()


async def test_journal_pragmas_and_migrations(tmp_path) -> None:  # type: ignore[no-untyped-def]
    j = await SqliteJournal.open(tmp_path / "j.db")
    await j.close()
    db = sqlite3.connect(tmp_path / "j.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] >= 1
    db.execute("PRAGMA user_version=999")
    db.commit()
    db.close()
    with pytest.raises(JournalError, match="newer ESS"):
        await SqliteJournal.open(tmp_path / "j.db")


async def test_a_python_migration_runs_in_the_version_bumps_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failing one leaves the journal as it was; the next open tries it again."""
    first = MIGRATIONS[0]
    monkeypatch.setattr(journal_sqlite, "MIGRATIONS", (first,))
    j = await SqliteJournal.open(tmp_path / "j.db")
    await j.upsert_tenant("t", "T", "bronze")
    await j.close()

    async def half_then_fail(tx: MigrationTx) -> None:
        await tx.execute("UPDATE tenants SET name='half'")
        raise RuntimeError("disk on fire")

    async def rename(tx: MigrationTx) -> None:
        rows = await tx.all("SELECT id, name FROM tenants")
        await tx.executemany(
            "UPDATE tenants SET name=? WHERE id=?", [(r[1] + "!", r[0]) for r in rows]
        )

    def state() -> tuple[int, str]:
        db = sqlite3.connect(tmp_path / "j.db")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            return version, db.execute("SELECT name FROM tenants").fetchone()[0]
        finally:
            db.close()

    monkeypatch.setattr(journal_sqlite, "MIGRATIONS", (first, half_then_fail))
    with pytest.raises(JournalError, match="disk on fire"):
        await SqliteJournal.open(tmp_path / "j.db")
    assert state() == (1, "T")
    monkeypatch.setattr(journal_sqlite, "MIGRATIONS", (first, rename))
    j = await SqliteJournal.open(tmp_path / "j.db")
    await j.close()
    assert state() == (2, "T!")


async def test_source_cache_save_is_all_or_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    j = await SqliteJournal.open(tmp_path / "j.db")
    try:
        cache = j.source_cache("t")
        await cache.save(
            upserts={"persons": {"a": b"1", "b": b"2"}}, deletes={}, checkpoint="c1", full=True
        )
        with pytest.raises(sqlite3.IntegrityError):
            await cache.save(
                upserts={"persons": {"c": b"3", "d": None}},  # type: ignore[dict-item]
                deletes={"persons": ["a"]},
                checkpoint="c2",
                full=False,
            )
        got = await cache.load()
        assert got.checkpoint == "c1" and set(got.records["persons"]) == {"a", "b"}
    finally:
        await j.close()


async def test_silver_write_needs_an_elevation_and_is_audited(workdir: Workdir) -> None:
    workdir.write(tier="silver")
    async with await Ops.open(workdir.config, actor="console:eva") as ops:
        decision = await ops.can("sync", "alpha")
        assert not decision.allowed and "elevation" in decision.reason
        with pytest.raises(PolicyRefused):
            await ops.sync("alpha")
        # a dry run changes nothing and is allowed
        assert (await ops.sync("alpha", dry_run=True)).status == "succeeded"
        el = await ops.elevate("alpha", reason="ticket 4711: pupils missing in Teams", minutes=15)
        assert el.status == "active"
        assert (await ops.can("sync", "alpha")).allowed
        assert (await ops.sync("alpha")).status == "succeeded"
        audit = await ops.audit("alpha")
    actions = [(a.action, a.allowed, a.actor) for a in reversed(audit)]
    assert ("sync", False, "console:eva") in actions
    assert ("elevate", True, "console:eva") in actions
    assert actions[-1] == ("sync", True, "console:eva")
    refused = next(a for a in audit if not a.allowed)
    assert "refused" in refused.detail


async def test_gold_needs_the_customers_approval(workdir: Workdir) -> None:
    workdir.write(tier="gold")
    async with await Ops.open(workdir.config, actor="console:eva") as ops:
        el = await ops.elevate("alpha", reason="repair", minutes=10)
        assert el.status == "pending_approval"
        with pytest.raises(PolicyRefused, match="waits for the customer"):
            await ops.sync("alpha")
        pem, public = new_private_key()  # the approver's, on their own machine
        await ops.add_approver("alpha", "it-chef@kommun.se", public)
        signature = sign(pem, await ops.elevation_challenge(el.id))
        approved = await ops.approve_elevation(
            el.id, approver="it-chef@kommun.se", signature=signature
        )
        assert approved.status == "active" and approved.approved_by == "it-chef@kommun.se"
        assert (await ops.sync("alpha")).status == "succeeded"


async def test_expired_elevation_no_longer_counts(workdir: Workdir) -> None:
    workdir.write(tier="silver")
    async with await Ops.open(workdir.config, actor="cli:eva") as ops:
        await ops.elevate("alpha", reason="short", minutes=1)
        db = sqlite3.connect(workdir.journal)
        db.execute(
            "UPDATE elevations SET expires_at = ?",
            (time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - 5)),),
        )
        db.commit()
        db.close()
        assert not (await ops.can("sync", "alpha")).allowed
        assert (await ops.elevations("alpha"))[0].status == "expired"


async def test_read_only_refuses_every_write(workdir: Workdir) -> None:
    async with await Ops.open(workdir.config, actor="console:ro", read_only=True) as ops:
        for action in ("sync", "retry", "skip", "approve", "reject"):
            d = await ops.can(action, "alpha")  # type: ignore[arg-type]
            assert not d.allowed and "read-only" in d.reason
        with pytest.raises(PolicyRefused):
            await ops.sync("alpha")
        with pytest.raises(PolicyRefused):
            await ops.elevate("alpha", reason="x")
        assert (await ops.sync("alpha", dry_run=True)).dry_run
