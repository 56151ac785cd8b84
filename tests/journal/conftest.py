"""The journal contract suite runs against every implementation of :class:`engine.journal.Journal`.

An implementation joins by adding one entry to ``IMPLEMENTATIONS``: a function that opens its
journal on a fresh store for one test (and opens the same store again when called twice).
PostgreSQL's store is a fresh database on the session's server (tests/pg_cluster.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from engine.journal import Journal, SqliteJournal
from engine.journal.postgres import PostgresJournal
from tests.pg_cluster import PgServer

OpenJournal = Callable[[], Awaitable[Journal]]
"""Opens the test's journal store; a second call opens the same store again."""


def _sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> OpenJournal:
    async def open_() -> Journal:
        return await SqliteJournal.open(tmp_path / "journal.db")

    return open_


@pytest.fixture(scope="session")
def pg_journal_database(pg_server: PgServer) -> Iterator[str]:
    """One journal database per test session (per xdist worker), migrated once."""
    name = pg_server.create_database()

    async def migrate() -> None:
        await (await PostgresJournal.connect(pg_server.dsn(name))).close()

    asyncio.run(migrate())
    try:
        yield pg_server.dsn(name)
    finally:
        pg_server.drop_database(name)


@pytest.fixture
def pg_journal_dsn(pg_journal_database: str) -> str:
    """The session's journal database, emptied for this test: every table but the schema
    version truncated and every id counter started again, so it is a fresh journal (far
    cheaper than a database per test)."""
    with psycopg.connect(pg_journal_database, autocommit=True) as conn:
        tables = [
            str(r[0])
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_name <> 'ess_schema'"
            )
        ]
        conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")
    return pg_journal_database


def _postgres(request: pytest.FixtureRequest, tmp_path: Path) -> OpenJournal:
    dsn = str(request.getfixturevalue("pg_journal_dsn"))

    async def open_() -> Journal:
        return await PostgresJournal.connect(dsn)

    return open_


IMPLEMENTATIONS: dict[str, Callable[[pytest.FixtureRequest, Path], OpenJournal]] = {
    "sqlite": _sqlite,
    "postgres": _postgres,
}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def open_journal(request: pytest.FixtureRequest, tmp_path: Path) -> OpenJournal:
    """How to open this test's journal store, for tests that reopen it or open it twice."""
    return IMPLEMENTATIONS[request.param](request, tmp_path)


@pytest.fixture
async def journal(open_journal: OpenJournal) -> AsyncIterator[Journal]:
    """An open journal on a fresh store, closed after the test."""
    j = await open_journal()
    try:
        yield j
    finally:
        await j.close()
