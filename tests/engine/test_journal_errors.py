"""A journal that cannot be opened or written says why, and a failed write leaves nothing.

The full disk is made with SQLite's own limit on the journal's size (``max_page_count``), which
fails a write with SQLITE_FULL exactly as a full file system does; tests/console/
test_cli_bad_input.py fills a real (tmpfs) file system where the machine allows it.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from engine.journal import JournalError, JournalWriteError, SqliteJournal


async def test_a_folder_is_named_as_such(tmp_path: Path) -> None:
    (tmp_path / "ess.db").mkdir()
    with pytest.raises(JournalError, match=r"is a folder; journal\.path must name a file"):
        await SqliteJournal.open(tmp_path / "ess.db")


async def test_a_file_that_is_no_database_is_named(tmp_path: Path) -> None:
    path = tmp_path / "ess.db"
    path.write_bytes(b"\xff" * 4096)
    with pytest.raises(JournalError, match=rf"{re.escape(str(path))}.*not a database"):
        await SqliteJournal.open(path)


async def test_a_full_journal_rolls_back_and_names_the_cause(tmp_path: Path) -> None:
    path = tmp_path / "ess.db"
    j = await SqliteJournal.open(path)
    try:
        await j.add_events("t", None, [("2026-01-01T00:00:00", "info", "before")])
        pages = (await j._one("PRAGMA page_count"))[0]  # type: ignore[index]
        await j._db.execute(f"PRAGMA max_page_count={pages + 2}")  # the disk is about full
        big = [("2026-01-01T00:00:01", "info", "x" * 2000) for _ in range(200)]
        with pytest.raises(JournalWriteError, match=f"disk full writing {re.escape(str(path))}"):
            await j.add_events("t", None, big)
        # nothing of the failed write is left, and the journal goes on working
        await j.add_events("t", None, [("2026-01-01T00:00:02", "info", "after")])
    finally:
        await j.close()
    db = sqlite3.connect(path)
    try:
        messages = [m for (m,) in db.execute("SELECT message FROM events ORDER BY id")]
    finally:
        db.close()
    assert messages == ["before", "after"]
