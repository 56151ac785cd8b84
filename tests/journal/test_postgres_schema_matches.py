"""The PostgreSQL schema has every table and column of the SQLite schema, so that the journal's
one body of queries runs on both. A SQLite migration that adds a table or a column without its
PostgreSQL counterpart (engine/journal/postgres_schema.py) fails here, naming what is missing."""

from __future__ import annotations

from pathlib import Path

from engine.journal import SqliteJournal
from engine.journal.postgres import PostgresJournal
from engine.journal.postgres_import import ORDER, SKIPPED
from engine.journal.postgres_schema import TENANT_TABLES


async def columns_of_sqlite(path: Path) -> dict[str, set[str]]:
    journal = await SqliteJournal.open(path)
    try:
        tables = [
            str(r[0])
            for r in await journal._all("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        return {
            t: {str(r[1]) for r in await journal._all(f"PRAGMA table_info({t})")} for t in tables
        }
    finally:
        await journal.close()


async def columns_of_postgres(dsn: str) -> dict[str, set[str]]:
    journal = await PostgresJournal.connect(dsn)
    try:
        out: dict[str, set[str]] = {}
        for r in await journal._all(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema()"
        ):
            out.setdefault(str(r[0]), set()).add(str(r[1]))
        return out
    finally:
        await journal.close()


async def test_postgres_has_every_table_and_column_of_sqlite(tmp_path: Path, pg_dsn: str) -> None:
    sqlite = await columns_of_sqlite(tmp_path / "ess.db")
    postgres = await columns_of_postgres(pg_dsn)
    missing = {
        f"{table}.{column}"
        for table, columns in sqlite.items()
        for column in columns - postgres.get(table, set())
    }
    assert not missing, f"add a PostgreSQL migration for: {', '.join(sorted(missing))}"
    assert set(postgres) - set(sqlite) == {"ess_schema"}
    # and `ess journal migrate` knows what to do with every table
    assert set(sqlite) == set(ORDER) | SKIPPED
    # and every table with a tenant column is reached by export-tenant and delete-tenant
    with_tenant = {t for t, columns in sqlite.items() if "tenant" in columns}
    assert with_tenant - {t for t, _ in TENANT_TABLES} == set()
