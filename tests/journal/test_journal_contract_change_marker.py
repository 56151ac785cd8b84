"""The journal contract: the change marker live views poll. Every implementation passes these."""

from __future__ import annotations

from engine.journal import Journal
from tests.journal.conftest import OpenJournal
from tests.journal.journal_support import TENANT


async def test_the_marker_stands_still_while_nothing_is_committed(journal: Journal) -> None:
    first = await journal.change_marker()
    await journal.list_runs(TENANT, limit=10)  # reads change nothing
    assert await journal.change_marker() == first


async def test_the_marker_moves_on_a_commit_of_this_connection(journal: Journal) -> None:
    first = await journal.change_marker()
    await journal.upsert_tenant(TENANT, "Alfa", "bronze")
    second = await journal.change_marker()
    assert second != first
    await journal.heartbeat("console")
    assert await journal.change_marker() != second


async def test_the_marker_moves_on_a_commit_of_another_connection(
    journal: Journal, open_journal: OpenJournal
) -> None:
    first = await journal.change_marker()
    other = await open_journal()
    try:
        await other.upsert_tenant(TENANT, "Alfa", "bronze")
    finally:
        await other.close()
    assert await journal.change_marker() != first
