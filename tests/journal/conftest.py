"""The journal contract suite runs against every implementation of :class:`engine.journal.Journal`.

An implementation joins by adding one entry to ``IMPLEMENTATIONS``: a function that opens its
journal on a fresh store for one test (and opens the same store again when called twice).
PostgreSQL's store is a fresh database on the session's server (tests/pg_cluster.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from engine.journal import Journal, SqliteJournal
from engine.journal.postgres import PostgresJournal

OpenJournal = Callable[[], Awaitable[Journal]]
"""Opens the test's journal store; a second call opens the same store again."""


def _sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> OpenJournal:
    async def open_() -> Journal:
        return await SqliteJournal.open(tmp_path / "journal.db")

    return open_


def _postgres(request: pytest.FixtureRequest, tmp_path: Path) -> OpenJournal:
    dsn = str(request.getfixturevalue("pg_dsn"))

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
