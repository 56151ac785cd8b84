"""Numbered migrations of the journal's SQLite schema.

Each entry runs once, in order, inside one transaction; ``PRAGMA user_version`` records the
last applied. Never edit an applied migration: add the next number. An entry is an SQL script,
or an async function given the transaction, for a change SQL cannot make (one that needs the
engine's own code).

A step that adds a table or a column needs its PostgreSQL counterpart too, a new entry of
``PG_MIGRATIONS`` in :mod:`engine.journal.postgres_schema` (the hosted journal runs the same
queries); tests/journal/test_postgres_schema_matches.py names what is missing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Protocol

import orjson

from engine.audit_chain import GENESIS, row_hash
from engine.civic_hash import CivicHash, drop, hashed_in_json
from engine.target import attrs_from_json, upgraded_fingerprint


class MigrationTx(Protocol):
    """The part of the journal's write transaction a migration function may use."""

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]: ...

    @property
    def civic_hash(self) -> CivicHash | None:
        """The installation's keyed personnummer hash, when the journal was opened with one."""
        ...


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


async def _request_id_columns(tx: MigrationTx) -> None:
    """The service's request id of an attempt's answer, and of an operation's last attempt,
    for a ticket with the vendor (Graph's ``request-id``). Older rows have none (NULL). A
    column already there is kept."""
    for table in ("attempts", "operations"):
        have = {row[1] for row in await tx.all(f"PRAGMA table_info({table})")}
        if "request_id" not in have:
            await tx.execute(f"ALTER TABLE {table} ADD COLUMN request_id TEXT")


async def _civic_numbers_hashed(tx: MigrationTx) -> None:
    """4: no personnummer in the source's raw records (see ``engine.civic_hash``).

    With the installation's key each one is replaced by its keyed hash in place. Without one a
    record holding a personnummer is removed and its tenant's checkpoint cleared, so that the
    next read is a full one and brings the record back as the source has it, hashed or without
    the number. Bodies that are not JSON are an adapter's own and are left alone.
    """
    civic_hash = tx.civic_hash
    stale: set[str] = set()
    after: tuple[Any, ...] = ()
    while True:
        rows = await tx.all(
            "SELECT tenant, entity, id, body FROM source_records "
            + ("WHERE (tenant, entity, id) > (?, ?, ?) " if after else "")
            + "ORDER BY tenant, entity, id LIMIT ?",
            (*after, _PAGE),
        )
        if not rows:
            break
        updates: list[tuple[Any, ...]] = []
        removals: list[tuple[Any, ...]] = []
        for tenant, entity, rid, body in rows:
            try:
                doc = orjson.loads(body)
            except orjson.JSONDecodeError:
                continue
            new, hit = hashed_in_json(doc, civic_hash or drop)
            if not hit:
                continue
            if civic_hash is None:
                removals.append((tenant, entity, rid))
                stale.add(tenant)
            else:
                updates.append((orjson.dumps(new), tenant, entity, rid))
        await tx.executemany(
            "UPDATE source_records SET body=? WHERE tenant=? AND entity=? AND id=?", updates
        )
        await tx.executemany(
            "DELETE FROM source_records WHERE tenant=? AND entity=? AND id=?", removals
        )
        after = tuple(rows[-1])[:3]
    await tx.executemany(
        "UPDATE source_state SET checkpoint=NULL WHERE tenant=?", [(t,) for t in sorted(stale)]
    )


async def _audit_chain(tx: MigrationTx) -> None:
    """5: the audit log as a hash chain (see ``engine.audit_chain``).

    The rows already there are chained as they stand: the chain proves what happens to them
    from now on, not what happened before.
    """
    have = {row[1] for row in await tx.all("PRAGMA table_info(audit)")}
    for name, kind in (
        ("prev", "TEXT NOT NULL DEFAULT ''"),
        ("hash", "TEXT NOT NULL DEFAULT ''"),
        ("tombstone", "INTEGER NOT NULL DEFAULT 0"),
    ):
        if name not in have:
            await tx.execute(f"ALTER TABLE audit ADD COLUMN {name} {kind}")
    prev, after = GENESIS, 0
    while True:
        rows = await tx.all(
            "SELECT id, at, actor, action, tenant, allowed, detail FROM audit WHERE id > ? "
            "ORDER BY id LIMIT ?",
            (after, _PAGE),
        )
        if not rows:
            return
        chained: list[tuple[Any, ...]] = []
        for rid, at, actor, action, tenant, allowed, detail in rows:
            digest = row_hash(prev, rid, at, actor, action, tenant, bool(allowed), detail)
            chained.append((prev, digest, rid))
            prev = digest
        await tx.executemany("UPDATE audit SET prev=?, hash=? WHERE id=?", chained)
        after = rows[-1][0]


async def _signed_approvals(tx: MigrationTx) -> None:
    """6: an approval's signature, and the approvers' enrolled keys (see ``engine.approval``).
    What is already there is kept (the step may meet a journal whose version was set back)."""
    have = {row[1] for row in await tx.all("PRAGMA table_info(elevations)")}
    if "approval_signature" not in have:
        await tx.execute("ALTER TABLE elevations ADD COLUMN approval_signature TEXT")
    await tx.execute(
        "CREATE TABLE IF NOT EXISTS approver_keys ("
        "tenant TEXT NOT NULL, name TEXT NOT NULL, public_key TEXT NOT NULL, "
        "enrolled_at TEXT NOT NULL, enrolled_by TEXT NOT NULL, PRIMARY KEY (tenant, name))"
    )


async def _notice_detail(tx: MigrationTx) -> None:
    """9: what a notice carries besides its run or elevation (the audit head sent out, the
    approver key changed). Kept when there (the step may meet a journal whose version was set
    back)."""
    have = {row[1] for row in await tx.all("PRAGMA table_info(notices)")}
    if "detail" not in have:
        await tx.execute("ALTER TABLE notices ADD COLUMN detail TEXT NOT NULL DEFAULT ''")


async def _upload_activity(tx: MigrationTx) -> None:
    """12: when an open agent upload last took a chunk; an upload open before is taken as
    active since it began. Kept when there."""
    have = {row[1] for row in await tx.all("PRAGMA table_info(agent_uploads)")}
    if "active_at" not in have:
        await tx.execute("ALTER TABLE agent_uploads ADD COLUMN active_at TEXT NOT NULL DEFAULT ''")
    await tx.execute("UPDATE agent_uploads SET active_at=began_at WHERE active_at=''")


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
    # 5: personnummer in the source cache replaced by their keyed hash (or removed)
    _civic_numbers_hashed,
    # 6: the audit log chained by hashes, so an edited, removed or cut row is found
    _audit_chain,
    # 7: gold approvals signed by the customer's approver (Ed25519), and their enrolled keys
    _signed_approvals,
    # 8: several sources and rekey: source holds (records a rekey could not match to the new
    # source, which no run removes until an operator releases them) and source aliases (a
    # person of one source known as another source's person, so that the merged id stays
    # the same while that source cannot be read); IF NOT EXISTS, so that running the step
    # again is harmless
    """
    CREATE TABLE IF NOT EXISTS source_holds (
        tenant TEXT NOT NULL,
        record_type TEXT NOT NULL,
        key TEXT NOT NULL,
        reason TEXT NOT NULL,
        held_at TEXT NOT NULL,
        actor TEXT NOT NULL,
        PRIMARY KEY (tenant, record_type, key)
    );
    CREATE TABLE IF NOT EXISTS source_aliases (
        tenant TEXT NOT NULL,
        source TEXT NOT NULL,
        record_type TEXT NOT NULL,
        source_id TEXT NOT NULL,
        merged_id TEXT NOT NULL,
        PRIMARY KEY (tenant, source, record_type, source_id)
    );
    """,
    # 9: what a notice carries besides its run or elevation: the audit head sent out, or the
    # approver key enrolled or removed
    _notice_detail,
    # 10: request ids: the service's id of each failed attempt's answer (attempts.request_id) and
    # of an operation's last one (operations.request_id), for a ticket with the vendor
    _request_id_columns,
    # 11: the hosted ingest's store of agent uploads (docs/hosted.md): open upload sessions with
    # the bytes received so far as chunk rows (resumed from any ingest process), each tenant's
    # accepted snapshot (its chunks stay, under the upload's id) and each agent's highest
    # accepted sequence number per tenant (a replay is refused by a conditional update)
    """
    CREATE TABLE IF NOT EXISTS agent_uploads (
        upload_id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        agent TEXT NOT NULL,
        seq INTEGER NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        version TEXT NOT NULL,
        received INTEGER NOT NULL DEFAULT 0,
        began_at TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS agent_uploads_of ON agent_uploads(tenant, agent, seq);
    CREATE TABLE IF NOT EXISTS agent_upload_chunks (
        upload_id TEXT NOT NULL,
        tenant TEXT NOT NULL,
        start INTEGER NOT NULL,
        body BLOB NOT NULL,
        PRIMARY KEY (upload_id, start)
    );
    CREATE TABLE IF NOT EXISTS agent_snapshots (
        tenant TEXT PRIMARY KEY,
        upload_id TEXT NOT NULL,
        agent TEXT NOT NULL,
        seq INTEGER NOT NULL,
        version TEXT NOT NULL,
        received_at TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        counts TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS agent_sequences (
        tenant TEXT NOT NULL,
        agent TEXT NOT NULL,
        seq INTEGER NOT NULL,
        upload_id TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (tenant, agent)
    );
    """,
    # 12: when an open upload last took a chunk (agent_uploads.active_at), so that the ingest
    # prunes the uploads of agents that never came back and never one still receiving
    _upload_activity,
)
