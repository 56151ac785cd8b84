"""Opening the journal a configuration names: the SQLite file of an on-site installation, or
the PostgreSQL database of a hosted one (``[journal] url``, its password a secret reference)."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from engine.audit_chain import AuditLink, ChainVerdict, verify_chain
from engine.civic_hash import CivicHash
from engine.config import LoadedConfig
from engine.journal import Journal, JournalError, SqliteJournal
from engine.journal.upkeep import JournalCheck, backup_journal
from engine.secrets import Secret

# The PostgreSQL modules (and psycopg) are imported where a hosted journal is used: an on-site
# installation never loads them.


def journal_location(cfg: LoadedConfig) -> str:
    """Where the journal is, for messages: the file, or the database URL without a password."""
    url = cfg.config.journal.url
    if not url:
        return str(cfg.journal_path)
    from engine.journal.postgres import display_url

    return display_url(url)


async def inspect_postgres(url: str, *, password: Secret | None) -> JournalCheck:
    """The hosted journal's schema and tables, without migrating it (``ess journal check``)."""
    from engine.journal.postgres import PostgresJournal

    return await PostgresJournal.inspect(url, password=password)


async def open_configured(cfg: LoadedConfig, civic_hash: CivicHash | None = None) -> Journal:
    """Open (and migrate) the configured journal. Raises ``JournalError`` or ``SecretError``
    naming what is wrong."""
    url, ref = cfg.config.journal.url, cfg.config.journal.password
    if url:
        from engine.journal.postgres import PostgresJournal

        password = cfg.secrets().resolve(ref) if ref else None
        return await PostgresJournal.connect(url, password=password, civic_hash=civic_hash)
    return await SqliteJournal.open(cfg.journal_path, civic_hash=civic_hash)


@dataclass(frozen=True, slots=True)
class JournalMove:
    """``ess journal migrate``: what was moved where, and that the moved audit log holds."""

    source: str
    destination: str
    rows: dict[str, int]
    shifted: dict[str, int]  # tables whose ids were moved past the database's own, and by how much
    audit_rows_checked: int
    seconds: float


async def move_to_postgres(
    source: Path, url: str, *, password: Secret | None, civic_hash: CivicHash | None
) -> JournalMove:
    """Copy the SQLite journal at ``source`` into the PostgreSQL journal at ``url``.

    The copy is read from an online backup of the file (consistent even while a run writes,
    and the file itself is neither migrated nor changed), then written in one transaction.
    Afterwards the whole audit chain of the database is verified."""
    from engine.journal.postgres import PostgresJournal
    from engine.journal.postgres_import import import_sqlite

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ess-move-") as tmp:
        snapshot = await backup_journal(source, Path(tmp) / "journal.db")
        old = await SqliteJournal.open(Path(snapshot.path), civic_hash=civic_hash)
        try:
            await _refuse_running(old)
            new = await PostgresJournal.connect(url, password=password, civic_hash=civic_hash)
            try:
                report = await import_sqlite(old, new)
                verdict = await _verify_audit(new)
            finally:
                await new.close()
        finally:
            await old.close()
    if not verdict.ok:
        raise JournalError(
            f"the moved audit log does not verify ({verdict.problem}); the move is committed, "
            "investigate before using the hosted journal"
        )
    return JournalMove(
        str(source),
        PostgresJournal.display(url),
        report.rows,
        report.shifted,
        verdict.checked,
        round(time.monotonic() - started, 3),
    )


async def _refuse_running(old: Journal) -> None:
    """A run in progress on-site would go on writing to the file after the copy was taken: its
    end would be lost. The move waits for the scheduler to be stopped."""
    running = [
        f"{tenant} ({holder.holder})"
        for tenant in sorted(await old.last_runs())
        if (holder := await old.lease_holder(tenant)) is not None
    ]
    if running:
        raise JournalError(
            f"a run is in progress on-site for {', '.join(running)}; stop the scheduler (and "
            "any sync) first, then move: nothing was moved"
        )


async def _verify_audit(journal: Journal) -> ChainVerdict:
    links: list[AuditLink] = []
    after = 0
    while page := await journal.audit_chain(after, 5000):
        links.extend(page)
        after = page[-1].id
    return verify_chain(links)
