"""Numbered migrations of the journal's SQLite schema.

Each entry runs once, in order, inside one transaction; ``PRAGMA user_version`` records the
last applied. Never edit an applied migration: add the next number. An entry is an SQL script,
or an async function given the transaction, for a change SQL cannot make (one that needs the
engine's own code).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Protocol

from engine.target import attrs_from_json, upgraded_fingerprint


class MigrationTx(Protocol):
    """The part of the journal's write transaction a migration function may use."""

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]: ...


Migration = str | Callable[[MigrationTx], Awaitable[None]]

_PAGE = 5000


async def _current_mirror_fingerprints(tx: MigrationTx) -> None:
    """2: the mirror's fingerprints made the current way (``attrs_fingerprint``).

    A row changes only when its stored attributes reproduce its legacy fingerprint, so they are
    exactly what it was made from and an unchanged object still plans nothing. Other rows stay
    as they are: ``drifted`` must still plan its repair, and a legacy fingerprint of attributes
    that do not survive JSON is recognised by the planner, as are the legacy fingerprints of
    skips and planned operations (whose outcome writes a current one to the mirror).
    """
    after: tuple[Any, ...] = ()  # pages in key order: no update under an open cursor
    while True:
        rows = await tx.all(
            "SELECT tenant, target, kind, key, fingerprint, attrs FROM mirror "
            + ("WHERE (tenant, target, kind, key) > (?, ?, ?, ?) " if after else "")
            + "ORDER BY tenant, target, kind, key LIMIT ?",
            (*after, _PAGE),
        )
        if not rows:
            return
        changed: list[tuple[str, ...]] = []
        for tenant, target, kind, key, old, attrs in rows:
            new = upgraded_fingerprint(old, attrs_from_json(attrs))
            if new != old:
                changed.append((new, tenant, target, kind, key))
        await tx.executemany(
            "UPDATE mirror SET fingerprint=? WHERE tenant=? AND target=? AND kind=? AND key=?",
            changed,
        )
        after = tuple(rows[-1])[:4]


_LEASE_OWNER = (
    ("owner_host", "TEXT"),
    ("owner_pid", "INTEGER"),
    ("owner_started", "REAL"),
    ("owner_token", "INTEGER"),
)


async def _lease_owner_columns(tx: MigrationTx) -> None:
    """3: the lease holder's host, pid and process start time (see ``lease_owner``).

    ``owner_token`` is the token the row had when they were written: a row that an older
    release took over since keeps stale values under a new token, and so is left to expire, as
    is a row written before this step. A column already there is kept (the step may meet a
    journal whose version was set back by hand).
    """
    have = {row[1] for row in await tx.all("PRAGMA table_info(leases)")}
    for name, kind in _LEASE_OWNER:
        if name not in have:
            await tx.execute(f"ALTER TABLE leases ADD COLUMN {name} {kind}")


MIGRATIONS: tuple[Migration, ...] = (
    # 1: the whole first schema
    """
    CREATE TABLE tenants (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        tier TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE leases (
        tenant TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        token INTEGER NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE TABLE lease_tokens (tenant TEXT PRIMARY KEY, last INTEGER NOT NULL);
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        tenant TEXT NOT NULL,
        status TEXT NOT NULL,
        trigger TEXT NOT NULL,
        actor TEXT NOT NULL,
        dry_run INTEGER NOT NULL DEFAULT 0,
        targets TEXT NOT NULL DEFAULT '[]',
        started_at TEXT NOT NULL,
        finished_at TEXT,
        counts TEXT NOT NULL DEFAULT '{}',
        guard TEXT,
        error TEXT,
        source_mode TEXT
    );
    CREATE INDEX runs_tenant ON runs(tenant, id DESC);
    CREATE INDEX runs_status ON runs(status);
    CREATE TABLE findings (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL,
        tenant TEXT NOT NULL,
        code TEXT NOT NULL,
        severity TEXT NOT NULL,
        record_type TEXT NOT NULL,
        record_id TEXT NOT NULL,
        label TEXT NOT NULL DEFAULT '',
        message TEXT NOT NULL,
        fix TEXT NOT NULL DEFAULT '',
        origin TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX findings_run ON findings(run_id);
    CREATE INDEX findings_record ON findings(tenant, record_id);
    CREATE TABLE operations (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL,
        tenant TEXT NOT NULL,
        target TEXT NOT NULL,
        seq INTEGER NOT NULL,
        action TEXT NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        parent TEXT,
        attrs TEXT,
        fingerprint TEXT NOT NULL DEFAULT '',
        depends_on TEXT,
        label TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        reason TEXT NOT NULL DEFAULT '',
        last_error TEXT NOT NULL DEFAULT '',
        target_id TEXT,
        not_before REAL NOT NULL DEFAULT 0,
        superseded INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT
    );
    CREATE INDEX operations_run ON operations(run_id, status);
    CREATE INDEX operations_trouble ON operations(tenant, superseded, status);
    CREATE INDEX operations_record ON operations(tenant, key);
    CREATE TABLE attempts (
        op_id INTEGER NOT NULL,
        number INTEGER NOT NULL,
        at TEXT NOT NULL,
        outcome TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        message TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (op_id, number)
    );
    CREATE TABLE mirror (
        tenant TEXT NOT NULL,
        target TEXT NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        target_id TEXT,
        fingerprint TEXT NOT NULL,
        attrs TEXT,
        label TEXT NOT NULL DEFAULT '',
        suspended_at TEXT,
        archived INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (tenant, target, kind, key)
    ) WITHOUT ROWID;
    CREATE INDEX mirror_target_id ON mirror(tenant, target, target_id);
    CREATE TABLE mirror_links (
        tenant TEXT NOT NULL,
        target TEXT NOT NULL,
        kind TEXT NOT NULL,
        parent TEXT NOT NULL,
        child TEXT NOT NULL,
        PRIMARY KEY (tenant, target, kind, parent, child)
    ) WITHOUT ROWID;
    CREATE INDEX mirror_links_child ON mirror_links(tenant, target, kind, child);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        tenant TEXT NOT NULL,
        run_id INTEGER,
        at TEXT NOT NULL,
        level TEXT NOT NULL,
        message TEXT NOT NULL
    );
    CREATE INDEX events_run ON events(run_id, id);
    CREATE TABLE approvals (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL,
        decision TEXT NOT NULL,
        actor TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        at TEXT NOT NULL
    );
    CREATE TABLE elevations (
        id INTEGER PRIMARY KEY,
        tenant TEXT NOT NULL,
        actor TEXT NOT NULL,
        reason TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        needs_approval INTEGER NOT NULL,
        approved_by TEXT,
        approved_at TEXT,
        revoked INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        tenant TEXT,
        allowed INTEGER NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX audit_tenant ON audit(tenant, id DESC);
    CREATE TABLE skips (
        tenant TEXT NOT NULL,
        target TEXT NOT NULL,
        action TEXT NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        parent TEXT NOT NULL DEFAULT '',
        fingerprint TEXT NOT NULL,
        actor TEXT NOT NULL,
        reason TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (tenant, target, action, kind, key, parent)
    );
    CREATE TABLE source_records (
        tenant TEXT NOT NULL,
        entity TEXT NOT NULL,
        id TEXT NOT NULL,
        body BLOB NOT NULL,
        PRIMARY KEY (tenant, entity, id)
    ) WITHOUT ROWID;
    CREATE TABLE source_state (
        tenant TEXT PRIMARY KEY,
        checkpoint TEXT,
        full_read_at TEXT
    );
    CREATE TABLE snapshot_index (
        tenant TEXT NOT NULL,
        record_type TEXT NOT NULL,
        key TEXT NOT NULL,
        label TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '',
        search TEXT NOT NULL,
        body TEXT,
        PRIMARY KEY (tenant, record_type, key)
    ) WITHOUT ROWID;
    """,
    # 2: attribute fingerprints from orjson's JSON instead of the repr
    _current_mirror_fingerprints,
    # 3: the lease holder's process, so that a holder that died on this host is taken over
    _lease_owner_columns,
    # 4: the notification outbox: notices written with the run change they report, and their
    # delivery on each channel; the heartbeats of long-running processes (IF NOT EXISTS, so
    # that running the step again is harmless)
    """
    CREATE TABLE IF NOT EXISTS notices (
        id INTEGER PRIMARY KEY,
        tenant TEXT NOT NULL,
        kind TEXT NOT NULL,
        run_id INTEGER,
        elevation_id INTEGER,
        created_at TEXT NOT NULL,
        closed_at TEXT
    );
    CREATE INDEX IF NOT EXISTS notices_open ON notices(closed_at, id);
    CREATE TABLE IF NOT EXISTS notice_deliveries (
        notice_id INTEGER NOT NULL,
        channel TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        retry_at TEXT,
        delivered_at TEXT,
        given_up INTEGER NOT NULL DEFAULT 0,
        last_error TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (notice_id, channel)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS heartbeats (
        process TEXT PRIMARY KEY,
        at TEXT NOT NULL
    );
    """,
)
