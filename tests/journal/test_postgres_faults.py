"""The PostgreSQL journal when the database drops its connections: between operations it goes
on (the pool replaces them), mid-transaction the write is rolled back whole and named."""

from __future__ import annotations

import asyncio
import contextlib

import psycopg
import pytest

from engine.journal import JournalWriteError
from engine.journal.postgres import PostgresJournal
from engine.plan import Action
from tests.journal.journal_support import TENANT, new_run, op, stored_run


def drop_connections(dsn: str) -> int:
    """What a server restart or a failover does to the journal's connections."""
    with psycopg.connect(dsn, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(row[0]) if row else 0


async def test_connections_dropped_between_operations_are_replaced(pg_dsn: str) -> None:
    journal = await PostgresJournal.connect(pg_dsn)
    try:
        run_id = await new_run(journal)
        assert drop_connections(pg_dsn) >= 1
        assert (await journal.get_run(run_id)) is not None  # a read, on a new connection
        assert drop_connections(pg_dsn) >= 1
        await stored_run(journal, [op(1, Action.CREATE, "user", "u1")])  # and a write
        assert len(await journal.list_runs(TENANT)) == 2
    finally:
        await journal.close()


async def test_a_write_cut_off_mid_transaction_is_rolled_back_whole(pg_dsn: str) -> None:
    journal = await PostgresJournal.connect(pg_dsn)
    try:

        async def cut_off() -> None:
            async with journal.transaction() as tx:
                await tx.execute(
                    "INSERT INTO events(tenant, run_id, at, level, message) VALUES (?,?,?,?,?)",
                    (TENANT, None, "2026-12-07T00:00:00.000+00:00", "info", "half"),
                )
                drop_connections(pg_dsn)
                await tx.execute("SELECT 1")

        with pytest.raises(JournalWriteError, match="writing the journal database postgresql"):
            await cut_off()
        rows = await journal._all("SELECT count(*) FROM events")
        assert rows[0][0] == 0  # nothing of the cut-off transaction
        await new_run(journal)  # and the journal goes on
    finally:
        await journal.close()


async def test_a_writer_stalled_inside_its_transaction_does_not_hold_back_the_others(
    pg_dsn: str,
) -> None:
    """A process stopped mid-write (a paused VM, SIGSTOP) keeps its connection and the write
    lock; the server ends its idle transaction, and the other machines write on."""
    stalled = await PostgresJournal.connect(pg_dsn)
    stalled.write_idle_limit_s = 1.0
    other = await PostgresJournal.connect(pg_dsn)
    holding, never = asyncio.Event(), asyncio.Event()

    async def stall() -> None:
        async with stalled.transaction() as tx:
            await tx.execute("SELECT 1")
            holding.set()
            await never.wait()  # silent, with the lock, until cancelled

    task = asyncio.create_task(stall())
    try:
        await holding.wait()
        # before the idle limit this would wait for ever behind the stalled writer
        await asyncio.wait_for(new_run(other), timeout=60)
        assert len(await other.list_runs(TENANT)) == 1
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, JournalWriteError):
            await task
        await stalled.close()
        await other.close()
