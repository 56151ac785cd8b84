"""Backing up and checking the journal file: a consistent copy taken mid-run, a damaged
journal named, and neither an older nor a newer journal changed by looking at it."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

import pytest

from engine import ops as ops_module
from engine.journal import JournalError, SqliteJournal
from engine.journal.upkeep import SCHEMA_VERSION, backup_journal, check_journal
from engine.ops import Ops
from tests.conftest import Workdir

COMPAT = Path(__file__).resolve().parents[1] / "compat" / "release_0_1" / "journal"


def _one(db: Path, sql: str) -> object:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


async def _mid_run(journal: Path) -> None:
    """Wait until a run is going and has finished some of its items, but not all."""
    for _ in range(600):
        if journal.exists():
            conn = sqlite3.connect(journal, timeout=30)
            try:
                running = conn.execute("SELECT id FROM runs WHERE status='running'").fetchone()
                done = conn.execute("SELECT count(*) FROM operations WHERE status='done'")
                n_done = done.fetchone()[0]
                left = conn.execute(
                    "SELECT count(*) FROM operations WHERE status IN ('pending','in_flight')"
                ).fetchone()[0]
            except sqlite3.OperationalError:  # tables not made yet
                running, n_done, left = None, 0, 0
            finally:
                conn.close()
            if running and n_done and left:
                return
        await asyncio.sleep(0.02)
    raise AssertionError("the run never got under way")


async def test_a_backup_taken_mid_run_is_a_consistent_journal(
    workdir: Workdir, tmp_path: Path
) -> None:
    workdir.write(target="latency_s = 0.05\nbatch_size = 2\nmax_concurrency = 1")
    dest = tmp_path / "backups"
    dest.mkdir()
    async with await Ops.open(workdir.config, actor="test:backup") as ops:
        sync = asyncio.create_task(ops.sync("alpha"))
        await _mid_run(workdir.journal)
        done = await backup_journal(workdir.journal, dest)
        assert not sync.done(), "the run ended before the backup: nothing was proven"
        summary = await sync
    assert summary.status == "succeeded"  # the backup neither stopped nor spoiled the run

    copy = Path(done.path)
    assert copy.parent == dest and copy.name.startswith("ess-") and copy.suffix == ".db"
    assert [p.name for p in dest.iterdir()] == [copy.name]  # no temporary file left behind
    assert done.integrity == "ok" and done.schema_version == SCHEMA_VERSION
    # one self-contained file: moved alone to another folder, it opens as a journal
    alone = tmp_path / "restored" / "ess.db"
    alone.parent.mkdir()
    shutil.copy(copy, alone)
    assert _one(alone, "PRAGMA integrity_check") == "ok"
    assert _one(alone, "SELECT status FROM runs") == "running"  # the copy is of mid-run
    copied_done = _one(alone, "SELECT count(*) FROM operations WHERE status='done'")
    assert isinstance(copied_done, int) and copied_done > 0
    live_done = _one(workdir.journal, "SELECT count(*) FROM operations WHERE status='done'")
    assert isinstance(live_done, int) and copied_done < live_done
    # every item the copy counts as done has its mirror row: no transaction was cut in two
    assert (
        _one(
            alone,
            "SELECT count(*) FROM operations o WHERE o.status='done' AND o.action='create' "
            "AND NOT EXISTS (SELECT 1 FROM mirror m WHERE m.tenant=o.tenant AND m.target=o.target "
            "AND m.kind=o.kind AND m.key=o.key)",
        )
        == 0
    )
    journal = await SqliteJournal.open(alone)
    try:
        assert await journal.integrity_check() == "ok"
    finally:
        await journal.close()


async def test_a_backup_never_replaces_a_file_unless_asked(workdir: Workdir) -> None:
    async with await Ops.open(workdir.config, actor="test:backup") as ops:
        await ops.sync("alpha")
    dest = workdir.path / "copy.db"
    dest.write_bytes(b"keep me")
    with pytest.raises(JournalError, match=r"copy\.db exists; .* --force"):
        await backup_journal(workdir.journal, dest)
    assert dest.read_bytes() == b"keep me"
    done = await backup_journal(workdir.journal, dest, overwrite=True)
    assert Path(done.path) == dest
    assert _one(dest, "SELECT count(*) FROM runs") == 1


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("itself", "is the journal itself"),
        ("nofolder", "does not exist"),
    ],
)
async def test_a_backup_to_a_bad_place_is_refused(
    workdir: Workdir, name: str, message: str
) -> None:
    async with await Ops.open(workdir.config, actor="test:backup"):
        pass
    dest = workdir.journal if name == "itself" else workdir.path / "no" / "such" / "x.db"
    before = workdir.journal.read_bytes()
    with pytest.raises(JournalError, match=message):
        await backup_journal(workdir.journal, dest, overwrite=True)
    assert workdir.journal.read_bytes() == before


async def test_backup_and_check_leave_an_old_journal_as_it_was(tmp_path: Path) -> None:
    install = tmp_path / "install"
    shutil.copytree(COMPAT, install)
    db = install / "ess.db"
    old = _one(db, "PRAGMA user_version")
    assert isinstance(old, int) and old < SCHEMA_VERSION
    found = await ops_module.journal_check(install / "ess.toml")
    assert found.ok and found.integrity == ("ok",)
    assert (found.schema_version, found.supported_version) == (old, SCHEMA_VERSION)
    assert found.upgrade_pending
    done = await ops_module.journal_backup(tmp_path / "before-upgrade.db", install / "ess.toml")
    assert done.schema_version == old
    assert _one(db, "PRAGMA user_version") == old  # neither migrated the journal
    assert _one(Path(done.path), "PRAGMA user_version") == old
    # the copy is the old release's journal: opening it upgrades it like the original
    journal = await SqliteJournal.open(Path(done.path))
    await journal.close()
    assert _one(Path(done.path), "PRAGMA user_version") == SCHEMA_VERSION


async def test_check_and_backup_refuse_a_journal_from_a_newer_ess(
    workdir: Workdir, tmp_path: Path
) -> None:
    async with await Ops.open(workdir.config, actor="test:check"):
        pass
    conn = sqlite3.connect(workdir.journal)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    newer = f"newer ESS \\(schema {SCHEMA_VERSION + 1}; this ESS knows up to {SCHEMA_VERSION}\\)"
    with pytest.raises(JournalError, match=newer):
        await check_journal(workdir.journal)
    with pytest.raises(JournalError, match=newer):
        await backup_journal(workdir.journal, tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists()
    assert _one(workdir.journal, "PRAGMA user_version") == SCHEMA_VERSION + 1


def _empty_the_index_page(db: Path, index: str) -> None:
    """Damage the journal as a bad disk would: the root page of ``index`` (a leaf while the
    table is small) is overwritten with an empty leaf, so the index lacks the table's rows."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name=?", (index,)).fetchone()
    finally:
        conn.close()
    with db.open("r+b") as f:
        f.seek((root[0] - 1) * page_size)
        header = bytes([0x0A, 0, 0, 0, 0]) + page_size.to_bytes(2, "big") + bytes([0])
        f.write(header + bytes(page_size - len(header)))


async def test_check_names_the_damage_of_a_damaged_journal(workdir: Workdir) -> None:
    async with await Ops.open(workdir.config, actor="test:check") as ops:
        await ops.sync("alpha")
    healthy = await check_journal(workdir.journal)
    assert healthy.ok and not healthy.upgrade_pending
    _empty_the_index_page(workdir.journal, "runs_tenant")
    damaged = await check_journal(workdir.journal)
    assert not damaged.ok
    assert any("runs_tenant" in line for line in damaged.integrity), damaged.integrity
    with pytest.raises(JournalError, match="fails its integrity check"):
        await backup_journal(workdir.journal, workdir.path / "copy.db")
    assert not (workdir.path / "copy.db").exists()
    assert [p.name for p in workdir.path.iterdir() if "partial" in p.name] == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "there is no journal at"),
        (b"", "is an empty database, not an ESS journal"),
        (b"this is a text file, not a database" * 200, "is not an ESS journal, or is damaged"),
    ],
)
async def test_check_names_a_file_that_is_no_journal(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "ess.db"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(JournalError, match=message):
        await check_journal(path)
    assert path.exists() == (content is not None)  # a missing journal is not made by looking


async def test_check_names_an_sqlite_file_of_something_else(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    with pytest.raises(JournalError, match="is not an ESS journal"):
        await check_journal(path)
