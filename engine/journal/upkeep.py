"""Backing up and checking a journal file, beside the processes that use it.

Both work on the file, not through an open :class:`SqliteJournal`: opening a journal migrates
it, and a backup taken before an upgrade, or a check of a journal a newer ESS wrote, must leave
it as it is. Neither writes to the journal.

A backup is SQLite's online backup API, read in one step under one read transaction: in WAL
mode writers go on while it runs, and the copy holds every transaction committed before it
began and none after, so it is consistent even mid-run. It is written beside the destination
under a temporary name and renamed into place once it passed ``integrity_check``, so a failed
backup never leaves a half copy under the destination's name.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from engine.journal.protocol import JournalError
from engine.journal.schema import MIGRATIONS

SCHEMA_VERSION = len(MIGRATIONS)
"""The journal schema this ESS writes: the number of its last migration."""

_BUSY_MS = 30_000
_REQUIRED_TABLES = frozenset({"runs", "operations", "mirror", "events", "audit"})


@dataclass(frozen=True, slots=True)
class JournalCheck:
    """What ``ess journal check`` found: the file, its schema against this ESS, its integrity."""

    path: str
    size_bytes: int
    schema_version: int
    supported_version: int
    upgrade_pending: bool  # an older journal: the next command that opens it migrates it
    integrity: tuple[str, ...]  # ("ok",) or SQLite's list of problems
    ok: bool  # the integrity check found nothing


@dataclass(frozen=True, slots=True)
class JournalBackup:
    """A finished backup: where it is, how big, its schema and that it passed the check."""

    source: str
    path: str
    size_bytes: int
    schema_version: int
    integrity: str
    seconds: float


async def check_journal(path: Path) -> JournalCheck:
    """The journal's schema version and ``PRAGMA integrity_check``, without changing it.

    Raises :class:`JournalError` for a file that is missing, not an ESS journal, or from a
    newer ESS than this one.
    """
    return await asyncio.to_thread(_check, path)


async def backup_journal(path: Path, dest: Path, *, overwrite: bool = False) -> JournalBackup:
    """Copy the live journal at ``path`` to ``dest`` (a file, or a folder to put a dated file
    in) with SQLite's online backup API; raises :class:`JournalError` naming what went wrong."""
    return await asyncio.to_thread(_backup, path, dest, overwrite)


def backup_name(at: datetime) -> str:
    """The file name of a backup made into a folder: ``ess-20261207T231500Z.db``."""
    return f"ess-{at.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}.db"


def _connect_existing(path: Path) -> sqlite3.Connection:
    """A connection to a journal that must already exist (SQLite would make an empty one)."""
    if path.is_dir():
        raise JournalError(f"the journal {path} is a folder; journal.path must name a file")
    if not path.exists():
        raise JournalError(f"there is no journal at {path}")
    try:
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=_BUSY_MS / 1000
        )
    except sqlite3.Error as exc:
        raise JournalError(f"cannot open the journal {path}: {exc}") from None
    conn.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
    return conn


def _schema_version(conn: sqlite3.Connection, path: Path) -> int:
    """The journal's ``user_version``, after making sure the file is an ESS journal."""
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        raise JournalError(f"{path} is not an ESS journal, or is damaged: {exc}") from None
    if version == 0 and not tables:
        raise JournalError(f"{path} is an empty database, not an ESS journal")
    if not _REQUIRED_TABLES.issubset(tables):
        raise JournalError(f"{path} is not an ESS journal (it has no runs table)")
    if version > SCHEMA_VERSION:
        raise JournalError(
            f"the journal {path} is from a newer ESS (schema {version}; this ESS knows up to "
            f"{SCHEMA_VERSION}); upgrade ESS"
        )
    return version


def _integrity(conn: sqlite3.Connection) -> tuple[str, ...]:
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as exc:  # damage bad enough that the check itself stops
        return (f"the check stopped: {exc}",)
    return tuple(str(r[0]) for r in rows) or ("no answer",)


def _check(path: Path) -> JournalCheck:
    conn = _connect_existing(path)
    try:
        version = _schema_version(conn, path)
        integrity = _integrity(conn)
    finally:
        conn.close()
    return JournalCheck(
        path=str(path),
        size_bytes=path.stat().st_size,
        schema_version=version,
        supported_version=SCHEMA_VERSION,
        upgrade_pending=version < SCHEMA_VERSION,
        integrity=integrity,
        ok=integrity == ("ok",),
    )


def _target(dest: Path, overwrite: bool) -> Path:
    if dest.is_dir():
        dest = dest / backup_name(datetime.now(UTC))
    if dest.exists() and not overwrite:
        raise JournalError(f"{dest} exists; name another file, or pass --force to replace it")
    if not dest.parent.is_dir():
        raise JournalError(f"the folder {dest.parent} does not exist")
    return dest


def _backup(path: Path, dest: Path, overwrite: bool) -> JournalBackup:
    started = time.monotonic()
    final = _target(dest, overwrite)
    if final.resolve() == path.resolve():
        raise JournalError(f"{final} is the journal itself; name another file")
    source = _connect_existing(path)
    partial = final.with_name(f".{final.name}.partial-{os.getpid()}")
    try:
        version = _schema_version(source, path)
        try:
            copy = sqlite3.connect(partial)
        except sqlite3.Error as exc:
            raise JournalError(f"cannot write the backup {final}: {exc}") from None
        try:
            source.backup(copy)  # every page in one step: one read transaction, one snapshot
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file to restore
            problems = _integrity(copy)
        except sqlite3.Error as exc:
            raise JournalError(f"the backup to {final} failed: {exc}") from None
        finally:
            copy.close()
        if problems != ("ok",):
            raise JournalError(
                f"the backup of {path} fails its integrity check ({problems[0]}); "
                "run `ess journal check` on the journal"
            )
        _fsync(partial)
        os.replace(partial, final)
    except OSError as exc:
        raise JournalError(f"cannot write the backup {final}: {exc}") from None
    finally:
        source.close()
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
    return JournalBackup(
        source=str(path),
        path=str(final),
        size_bytes=final.stat().st_size,
        schema_version=version,
        integrity="ok",
        seconds=round(time.monotonic() - started, 3),
    )


def _fsync(path: Path) -> None:
    """The copy is on disk before it takes the destination's name."""
    with path.open("rb+") as f:
        os.fsync(f.fileno())
