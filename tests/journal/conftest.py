"""The journal contract suite runs against every implementation of :class:`engine.journal.Journal`.

An implementation joins by adding one entry to ``IMPLEMENTATIONS``: a function that opens its
journal on a fresh store for one test (and opens the same store again when called twice).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from engine.journal import Journal, SqliteJournal

OpenJournal = Callable[[], Awaitable[Journal]]
"""Opens the test's journal store; a second call opens the same store again."""


def _sqlite(tmp_path: Path) -> OpenJournal:
    async def open_() -> Journal:
        return await SqliteJournal.open(tmp_path / "journal.db")

    return open_


IMPLEMENTATIONS: dict[str, Callable[[Path], OpenJournal]] = {
    "sqlite": _sqlite,
}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def open_journal(request: pytest.FixtureRequest, tmp_path: Path) -> OpenJournal:
    """How to open this test's journal store, for tests that reopen it or open it twice."""
    return IMPLEMENTATIONS[request.param](tmp_path)


@pytest.fixture
async def journal(open_journal: OpenJournal) -> AsyncIterator[Journal]:
    """An open journal on a fresh store, closed after the test."""
    j = await open_journal()
    try:
        yield j
    finally:
        await j.close()
