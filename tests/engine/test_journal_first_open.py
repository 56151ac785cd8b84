"""Several processes opening one brand-new journal at once (a scheduler and an operator's first
``ess sync``, say) each end up with the whole schema, taken once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from engine.journal.schema import MIGRATIONS

OPEN_AND_WRITE = """
import asyncio, sys
from pathlib import Path
from engine.journal.sqlite import SqliteJournal

async def main() -> None:
    journal = await SqliteJournal.open(Path(sys.argv[1]))
    await journal.upsert_tenant(sys.argv[2], sys.argv[2], "gold")
    await journal.close()

asyncio.run(main())
"""


def test_processes_opening_a_new_journal_at_once_all_succeed(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    # An empty journal in WAL mode, its write lock held: each process reads schema 0, then
    # queues for the lock to take the first step, and all of them go on once it is let go.
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("BEGIN IMMEDIATE")
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AND_WRITE, str(path), f"tenant-{n}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    time.sleep(2.0)  # long enough for each to start and reach the lock
    holder.execute("COMMIT")
    holder.close()
    outcomes = [(p.wait(timeout=60), p.stderr.read() if p.stderr else "") for p in processes]
    assert [code for code, _ in outcomes] == [0, 0, 0, 0], outcomes
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tenants = sorted(row[0] for row in db.execute("SELECT id FROM tenants"))
        assert tenants == [f"tenant-{n}" for n in range(4)]
    finally:
        db.close()
