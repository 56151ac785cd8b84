"""The journal on PostgreSQL, for hosted installations (docs/hosted.md).

It is :class:`SqliteJournal`'s one body of queries run through :class:`PgSession` (see
:mod:`engine.journal.postgres_sql`), so a journal method added there works here too. What
differs is here alone: a pool of connections (psycopg_pool), the write transaction, the
schema's own migrations (:mod:`engine.journal.postgres_schema`) and the one query SQLite
answers with a function PostgreSQL lacks.

Every write transaction first takes one transaction-level advisory lock, the counterpart of
SQLite's ``BEGIN IMMEDIATE``: writers on every machine take turns, so what the journal reads
inside a write (the next operation id, the head of the audit chain, a tenant's lease and its
fencing token) is still true when it writes. Reads take no lock and see committed data.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import psycopg
from psycopg import conninfo
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from engine.civic_hash import CivicHash
from engine.journal.postgres_schema import PG_MIGRATIONS, TABLES
from engine.journal.postgres_sql import PgPoolSession, PgSession
from engine.journal.protocol import JournalError, JournalWriteError
from engine.journal.sqlite import SqliteJournal, _Tx
from engine.journal.upkeep import JournalCheck
from engine.secrets import Secret

WRITE_LOCK = 0x455353_4A4F55524E
"""The advisory lock key every write transaction takes ("ESS" "JOURN")."""

POOL_MAX = 4
"""Connections per open journal: one writer at a time, the rest for reads beside it."""

CONNECT_TIMEOUT_S = 15.0

WRITE_IDLE_LIMIT_S = 60.0
"""How long a write transaction may sit idle, holding the write lock, before the server ends
it. A write transaction's statements follow one another at once; one idle this long belongs to
a process that stopped."""


def is_postgres_url(value: str) -> bool:
    return value.startswith(("postgresql://", "postgres://"))


def display_url(url: str) -> str:
    """The URL without any password, for messages: ``postgresql://user@host:port/db``."""
    try:
        info = conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://(a URL that does not parse)"
    user = f"{info['user']}@" if info.get("user") else ""
    host = str(info.get("host") or "")
    port = f":{info['port']}" if info.get("port") else ""
    return f"postgresql://{user}{host}{port}/{info.get('dbname') or ''}"


class PostgresJournal(SqliteJournal):
    """A journal in a PostgreSQL database. Open with :meth:`connect`; close when done."""

    INTEGRITY_ERRORS = (psycopg.errors.IntegrityError,)
    _counts_changes = False
    write_idle_limit_s = WRITE_IDLE_LIMIT_S
    _BODY_HOLDS = "position(convert_to(?, 'UTF8') in body) > 0"

    def __init__(
        self, url: str, pool: AsyncConnectionPool[Any], civic_hash: CivicHash | None = None
    ) -> None:
        # the queries are SqliteJournal's; they reach the database through PgPoolSession
        shown = display_url(url)
        super().__init__(Path(shown), cast(Any, PgPoolSession(pool, shown)), civic_hash)
        self.url = display_url(url)
        self._pool = pool

    @staticmethod
    def display(url: str) -> str:
        return display_url(url)

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        password: Secret | None = None,
        civic_hash: CivicHash | None = None,
        max_size: int = POOL_MAX,
    ) -> PostgresJournal:
        """Open (and migrate) the journal in the database at ``url``. The password, when the
        server asks for one, comes from a secret reference, never from the URL."""
        shown = display_url(url)
        try:
            if conninfo.conninfo_to_dict(url).get("password"):
                raise JournalError(
                    f"the journal URL {shown} holds a password; give it as a secret reference "
                    '([journal] password = "env:NAME" or "file:PATH")'
                )
        except psycopg.ProgrammingError as exc:
            raise JournalError(f"the journal URL {shown} is not valid: {exc}") from None
        kwargs: dict[str, Any] = {"autocommit": True, "connect_timeout": int(CONNECT_TIMEOUT_S)}
        if password is not None:
            kwargs["password"] = password.reveal()
        try:  # one connection first: a refused login or an unknown host is named at once
            first = await psycopg.AsyncConnection.connect(url, **kwargs)
        except psycopg.Error as exc:
            raise JournalError(
                f"cannot reach the journal database {shown}: {_first_line(exc)}"
            ) from None
        await first.close()
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            kwargs=kwargs,
            open=False,
            name="ess-journal",
            # a connection the server dropped while it idled (a restart, a failover, a firewall's
            # idle timeout) is replaced before use instead of failing the next statement
            check=AsyncConnectionPool.check_connection,
            timeout=CONNECT_TIMEOUT_S,
        )
        try:
            await pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
        except (PoolTimeout, psycopg.Error) as exc:
            await pool.close()
            raise JournalError(
                f"cannot reach the journal database {shown}: {_first_line(exc)}"
            ) from None
        journal = cls(url, pool, civic_hash)
        try:
            await journal._migrate()
            journal._counts_changes = True
        except BaseException as exc:
            await pool.close()
            if isinstance(exc, JournalError) or not isinstance(exc, Exception):
                raise
            raise JournalError(f"cannot use the journal database {shown}: {exc}") from None
        return journal

    @classmethod
    async def inspect(cls, url: str, *, password: Secret | None = None) -> JournalCheck:
        """``ess journal check`` of a hosted journal: its schema against this ESS's and its
        tables, read on one connection without migrating or writing anything."""
        shown = display_url(url)
        kwargs: dict[str, Any] = {"autocommit": True, "connect_timeout": int(CONNECT_TIMEOUT_S)}
        if password is not None:
            kwargs["password"] = password.reveal()
        try:
            conn = await psycopg.AsyncConnection.connect(url, **kwargs)
        except psycopg.Error as exc:
            raise JournalError(
                f"cannot reach the journal database {shown}: {_first_line(exc)}"
            ) from None
        async with conn:
            size = await (
                await conn.execute("SELECT pg_database_size(current_database())")
            ).fetchone()
            tables = {
                str(r[0])
                for r in await (
                    await conn.execute(
                        "SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = current_schema()"
                    )
                ).fetchall()
            }
            version = 0
            if "ess_schema" in tables:
                row = await (await conn.execute("SELECT version FROM ess_schema")).fetchone()
                version = int(row[0]) if row else 0
        if version == 0 and not tables:
            raise JournalError(f"the database {shown} is empty, not an ESS journal yet")
        if version == 0:
            raise JournalError(f"the database {shown} is not an ESS journal (no ess_schema table)")
        if version > len(PG_MIGRATIONS):
            raise JournalError(
                f"the journal database {shown} is from a newer ESS (schema {version}; this ESS "
                f"knows up to {len(PG_MIGRATIONS)}); upgrade ESS"
            )
        missing = sorted(set(TABLES) - tables) if version == len(PG_MIGRATIONS) else []
        problems = tuple(f"table {t} is missing" for t in missing) or ("ok",)
        return JournalCheck(
            path=shown,
            size_bytes=int(size[0]) if size else 0,
            schema_version=version,
            supported_version=len(PG_MIGRATIONS),
            upgrade_pending=version < len(PG_MIGRATIONS),
            integrity=problems,
            ok=problems == ("ok",),
        )

    async def _migrate(self) -> None:
        for number in range(1, len(PG_MIGRATIONS) + 1):
            async with self.transaction() as tx:
                await tx.execute(
                    "CREATE TABLE IF NOT EXISTS ess_schema "
                    "(id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)"
                )
                row = await tx.one("SELECT version FROM ess_schema WHERE id = 1")
                version = int(row[0]) if row is not None else 0
                if version > len(PG_MIGRATIONS):
                    raise JournalError(
                        f"the journal database {self.url} is from a newer ESS (schema "
                        f"{version}; this ESS knows up to {len(PG_MIGRATIONS)}); upgrade ESS"
                    )
                if version >= number:
                    continue
                for statement in PG_MIGRATIONS[number - 1].split(";"):
                    if statement.strip():
                        await tx.execute(statement)
                await tx.execute(
                    "INSERT INTO ess_schema(id, version) VALUES (1, ?) "
                    "ON CONFLICT(id) DO UPDATE SET version=excluded.version",
                    (number,),
                )

    async def change_marker(self) -> str:
        # every write transaction counts itself in ess_schema.changes (under the write lock,
        # so the count is exact and rolls back with a failed write): whoever wrote, any
        # connection, any machine
        row = await self._one("SELECT changes FROM ess_schema WHERE id = 1")
        return str(row[0] if row else 0)

    async def schema_version(self) -> int:
        row = await self._one("SELECT version FROM ess_schema WHERE id = 1")
        return int(row[0]) if row is not None else 0

    async def close(self) -> None:
        await self._pool.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_Tx]:
        """A write transaction under the journal's advisory lock; commit on success."""
        async with self._write:
            try:
                async with self._pool.connection() as conn, conn.transaction():
                    session = PgSession(conn)
                    await session.execute("SELECT pg_advisory_xact_lock(?)", (WRITE_LOCK,))
                    # a writer that stops while it holds the lock (a paused VM, a stopped or
                    # hung process: its connection stays open) would hold back every writer on
                    # every machine; the server ends its transaction after this long idle
                    limit_ms = int(self.write_idle_limit_s * 1000)
                    await session.execute(
                        f"SET LOCAL idle_in_transaction_session_timeout = {limit_ms}"
                    )
                    if self._counts_changes:  # the change marker (not while migrating)
                        await session.execute(
                            "UPDATE ess_schema SET changes = changes + 1 WHERE id = 1"
                        )
                    yield _Tx(cast(Any, session), self._civic_hash)
            except (psycopg.OperationalError, PoolTimeout) as exc:
                raise JournalWriteError(
                    f"writing the journal database {self.url} failed: {_first_line(exc)}"
                ) from None

    async def integrity_check(self) -> str:
        """PostgreSQL keeps its own pages whole (checksums, amcheck); what is checked here is
        that the schema is this ESS's and every table is there."""
        version = await self.schema_version()
        if version != len(PG_MIGRATIONS):
            return f"schema {version}, this ESS expects {len(PG_MIGRATIONS)}"
        rows = await self._all(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
        missing = sorted(set(TABLES) - {str(r[0]) for r in rows})
        return f"missing tables: {', '.join(missing)}" if missing else "ok"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
