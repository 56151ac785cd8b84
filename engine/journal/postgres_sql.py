"""The SQLite journal's statements, run on PostgreSQL through psycopg 3.

:class:`engine.journal.SqliteJournal` speaks to its database through a small seam: ``execute``
(awaited for a cursor, or entered as ``async with``), ``executemany``, and rows read by name or
by position. :class:`PgSession` offers the same seam over a psycopg connection, so the journal's
one body of queries runs unchanged on PostgreSQL. What it translates, and nothing else:

- ``?`` placeholders become ``$1, $2, ...`` (server-side binding, psycopg's raw cursor), outside
  string literals;
- ``LIKE`` becomes ``ILIKE``: SQLite's ``LIKE`` ignores the case of ASCII letters, PostgreSQL's
  does not;
- an ``INSERT`` into a table whose id PostgreSQL assigns gets ``RETURNING id``, read back as the
  cursor's ``lastrowid`` (psycopg has none);
- many rows of a plain ``INSERT`` (``executemany``: a stored plan, a source's records) go as one
  ``COPY``, several times quicker than row by row.

Everything else the journal writes is SQL both databases take (``ON CONFLICT``, ``COALESCE``,
``||``, ``substr``, ``lower``). A statement that is not is overridden in
:class:`engine.journal.postgres.PostgresJournal`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable, Sequence
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.rows import RowMaker
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from engine.journal.postgres_schema import IDENTITY_TABLES
from engine.journal.protocol import JournalError

_TOKENS = re.compile(r"'(?:[^']|'')*'|\?|\bLIKE\b", re.IGNORECASE)
_INSERT = re.compile(r"\s*INSERT\s+INTO\s+(\w+)", re.IGNORECASE)
_PLAIN_INSERT = re.compile(
    r"\s*INSERT\s+INTO\s+(\w+)\s*\(([\w\s,]+)\)\s*VALUES\s*\(\s*\?(?:\s*,\s*\?)*\s*\)\s*$",
    re.IGNORECASE,
)
"""An INSERT of parameters only (no ON CONFLICT, no expressions): many of its rows are sent
with COPY, which PostgreSQL checks against the same constraints."""

COPY_FROM = 200
"""From this many rows an ``executemany`` of a plain INSERT is sent as one COPY."""


@lru_cache(maxsize=1024)
def translate(sql: str, *, returning: bool = False) -> tuple[str, bool]:
    """The statement for PostgreSQL, and whether it was given ``RETURNING id``."""
    count = 0

    def swap(match: re.Match[str]) -> str:
        nonlocal count
        token = match.group(0)
        if token == "?":
            count += 1
            return f"${count}"
        if token[0] == "'":
            return token
        return "ILIKE"

    out = _TOKENS.sub(swap, sql)
    if returning:
        table = _INSERT.match(out)
        if table and table.group(1).lower() in IDENTITY_TABLES and "RETURNING" not in out.upper():
            return out + " RETURNING id", True
    return out, False


class PgRow:
    """A row read by column name or by position, like ``sqlite3.Row``."""

    __slots__ = ("_index", "_values")

    def __init__(self, values: Sequence[Any], index: dict[str, int]) -> None:
        self._values = values
        self._index = index

    def __getitem__(self, key: int | str) -> Any:
        if isinstance(key, str):
            return self._values[self._index[key]]
        return self._values[key]

    def __iter__(self) -> Generator[Any]:
        yield from self._values

    def __len__(self) -> int:
        return len(self._values)

    def keys(self) -> list[str]:
        return list(self._index)


def _rows(cursor: Any) -> RowMaker[PgRow]:
    names = [c.name for c in cursor.description or ()]
    index = {n: i for i, n in enumerate(names)}

    def make(values: Sequence[Any]) -> PgRow:
        return PgRow(values, index)

    return make


class PgCursor:
    """A statement's answer, read whole: its rows, ``rowcount`` and ``lastrowid``."""

    def __init__(self, rows: list[PgRow], rowcount: int, lastrowid: int | None) -> None:
        self._rows = rows
        self._next = 0
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    async def fetchone(self) -> PgRow | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    async def fetchall(self) -> list[PgRow]:
        rest, self._next = self._rows[self._next :], len(self._rows)
        return rest

    async def __aiter__(self) -> AsyncIterator[PgRow]:
        while (row := await self.fetchone()) is not None:
            yield row


class _Statement:
    """What ``execute`` returns: awaited for its cursor, or entered with ``async with``."""

    def __init__(self, run: Callable[[], Awaitable[PgCursor]]) -> None:
        self._run = run

    def __await__(self) -> Generator[Any, None, PgCursor]:
        return self._run().__await__()

    async def __aenter__(self) -> PgCursor:
        return await self._run()

    async def __aexit__(self, *exc: object) -> None:
        return None


async def _execute(conn: psycopg.AsyncConnection[Any], sql: str, params: Sequence[Any]) -> PgCursor:
    query, returning = translate(sql, returning=True)
    async with psycopg.AsyncRawCursor(conn, row_factory=_rows) as cur:
        await cur.execute(query, params)
        rows = await cur.fetchall() if cur.description else []
        if returning:
            return PgCursor([], cur.rowcount, int(rows[-1][0]) if rows else None)
        return PgCursor(rows, cur.rowcount, None)


class PgSession:
    """The journal's database seam over one psycopg connection (a write transaction's)."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Statement:
        return _Statement(lambda: _execute(self.conn, sql, params))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = list(rows)
        if not batch:
            return
        plain = _PLAIN_INSERT.match(sql) if len(batch) >= COPY_FROM else None
        if plain:  # the same rows, the same constraints, a fraction of the round trips
            table, columns = plain.group(1), plain.group(2)
            async with (
                self.conn.cursor() as cur,
                cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for row in batch:
                    await copy.write_row(row)
            return
        async with psycopg.AsyncRawCursor(self.conn) as cur:
            await cur.executemany(translate(sql)[0], batch)


class PgPoolSession:
    """The seam for reads outside a transaction: each statement on a connection of the pool.
    A database that cannot be reached is a :class:`JournalError` naming it (``shown``)."""

    def __init__(self, pool: AsyncConnectionPool[Any], shown: str) -> None:
        self.pool = pool
        self.shown = shown

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Statement:
        async def run() -> PgCursor:
            try:
                async with self.pool.connection() as conn:
                    return await _execute(conn, sql, params)
            except (psycopg.OperationalError, PoolTimeout) as exc:
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise JournalError(
                    f"reading the journal database {self.shown} failed: {first}"
                ) from None

        return _Statement(run)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            await PgSession(conn).executemany(sql, rows)

    async def close(self) -> None:
        await self.pool.close()
