"""Open uploads of agents that never come back are pruned, in the folder store and in the
journal (SQLite and PostgreSQL), on the ingest's own schedule; an upload still taking chunks
and every accepted snapshot are kept."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.ingest import Ingest, IngestConfig, prune_forever
from engine.ingest_inbox import Pending
from engine.ingest_store import InboxStore
from engine.journal import SqliteJournal
from engine.journal.agent_uploads import JournalUploads
from engine.journal.schema import MIGRATIONS
from tests.hosted_agent.conftest import RESOLVER

HOUR = 3600.0
AGENTS = {
    name: {"key": "env:ALPHA_AGENT_KEY", "tenants": [tenant]}
    for name, tenant in (("alpha-agent", "alpha"), ("beta-agent", "beta"), ("gamma-agent", "gamma"))
}


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["folder", "sqlite", "postgres"])
async def ingest(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Ingest]:
    settings: dict[str, Any] = {"tls_cert": "cert.pem", "tls_key": "key.pem"}
    table: dict[str, Any] = {"ingest": settings, "agents": AGENTS}
    if request.param == "folder":
        settings["inbox"] = str(tmp_path / "inbox")
    elif request.param == "sqlite":
        table["journal"] = {"path": str(tmp_path / "ess.db")}
    else:
        table["journal"] = {"url": str(request.getfixturevalue("pg_dsn"))}
    one = Ingest(IngestConfig.model_validate(table), RESOLVER, clock=Clock())
    try:
        yield one
    finally:
        await one.aclose()


async def backdate(ingest: Ingest, upload_id: str, hours: float) -> None:
    """Makes the upload look untouched for ``hours`` (as if its agent stopped then)."""
    store = ingest.inbox
    when = time.time() - hours * HOUR
    if isinstance(store, InboxStore):
        for suffix in (".json", ".part"):
            os.utime(store.folder.root / "partial" / f"{upload_id}{suffix}", (when, when))
        return
    assert isinstance(store, JournalUploads)
    j = await store._j()
    async with j.transaction() as tx:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime(when))
        await tx.execute(
            "UPDATE agent_uploads SET began_at=?, active_at=? WHERE upload_id=?",
            (stamp, stamp, upload_id),
        )


async def is_open(ingest: Ingest, pending: Pending) -> bool:
    try:
        await ingest.inbox.pending(pending.upload_id)
    except KeyError:
        return False
    return True


async def accepted(ingest: Ingest, agent: str, tenant: str, body: bytes) -> None:
    pending, _ = await ingest.inbox.begin(agent, tenant, 1, len(body), "h", "1.0")
    await ingest.inbox.append(pending.upload_id, 0, body)
    await ingest.inbox.accept(pending, {"persons": 1})


async def test_uploads_idle_past_the_age_are_pruned_and_nothing_else(ingest: Ingest) -> None:
    store = ingest.inbox
    await accepted(ingest, "alpha-agent", "alpha", b"accepted")
    abandoned, _ = await store.begin("alpha-agent", "alpha", 2, 9, "h", "1.0")
    await store.append(abandoned.upload_id, 0, b"half")
    await backdate(ingest, abandoned.upload_id, 25)
    # began as long ago, but its agent is still sending: the chunk just now keeps it
    sending, _ = await store.begin("beta-agent", "beta", 1, 9, "h", "1.0")
    await store.append(sending.upload_id, 0, b"one")
    await backdate(ingest, sending.upload_id, 25)
    assert await store.append(sending.upload_id, 3, b"two") == 6
    # younger than the age (24 h by default)
    young, _ = await store.begin("gamma-agent", "gamma", 1, 9, "h", "1.0")
    await backdate(ingest, young.upload_id, 23)

    assert await ingest.prune() == 1
    assert not await is_open(ingest, abandoned)
    assert await is_open(ingest, sending) and await store.offset(sending.upload_id) == 6
    assert await is_open(ingest, young)
    latest = await store.latest("alpha")
    assert latest is not None and latest[1] == b"accepted"  # the accepted snapshot stays
    last = await store.last_of_agent("alpha-agent", "alpha")
    assert last is not None and last.seq == 1
    assert await ingest.prune() == 0  # nothing left to prune

    ingest.clock.now += 2 * HOUR  # type: ignore[attr-defined]  # the ingest's clock moves on
    assert await ingest.prune() == 1
    assert not await is_open(ingest, young)
    assert await is_open(ingest, sending)  # 2 h idle is not 24 h
    latest = await store.latest("alpha")
    assert latest is not None and latest[1] == b"accepted"


async def test_a_pruned_upload_leaves_no_bytes_behind(ingest: Ingest) -> None:
    store = ingest.inbox
    gone, _ = await store.begin("alpha-agent", "alpha", 1, 9, "h", "1.0")
    await store.append(gone.upload_id, 0, b"partial")
    await backdate(ingest, gone.upload_id, 48)
    assert await ingest.prune() == 1
    if isinstance(store, InboxStore):
        assert list((store.folder.root / "partial").iterdir()) == []
    else:
        assert isinstance(store, JournalUploads)
        j = await store._j()
        assert await j._all("SELECT upload_id FROM agent_upload_chunks", ()) == []
        assert await j._all("SELECT upload_id FROM agent_uploads", ()) == []
    # the agent coming back after all begins anew and is served
    again, offset = await store.begin("alpha-agent", "alpha", 1, 3, "h", "1.0")
    assert offset == 0 and await store.append(again.upload_id, 0, b"abc") == 3


async def test_the_age_is_the_ingest_config_key(tmp_path: Path) -> None:
    table = {
        "ingest": {
            "inbox": str(tmp_path / "inbox"),
            "tls_cert": "c",
            "tls_key": "k",
            "abandon_upload_after_h": 2,
        },
        "agents": AGENTS,
    }
    ingest = Ingest(IngestConfig.model_validate(table), RESOLVER)
    upload, _ = await ingest.inbox.begin("alpha-agent", "alpha", 1, 9, "h", "1.0")
    await backdate(ingest, upload.upload_id, 3)
    assert await ingest.prune() == 1


async def test_the_ingest_prunes_at_start_on_its_own(ingest: Ingest) -> None:
    upload, _ = await ingest.inbox.begin("alpha-agent", "alpha", 1, 9, "h", "1.0")
    await backdate(ingest, upload.upload_id, 30)
    task = asyncio.create_task(prune_forever(ingest))
    try:
        for _ in range(200):
            if not await is_open(ingest, upload):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the abandoned upload was never pruned")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_uploads_open_before_the_upgrade_are_idle_since_they_began(tmp_path: Path) -> None:
    path = tmp_path / "ess.db"
    await (await SqliteJournal.open(path)).close()
    db = sqlite3.connect(path, isolation_level=None)  # the journal as the version before left it
    db.execute("ALTER TABLE agent_uploads DROP COLUMN active_at")
    db.execute(f"PRAGMA user_version={len(MIGRATIONS) - 1}")
    row = "INSERT INTO agent_uploads VALUES (?, 'alpha', 'alpha-agent', ?, 9, 'h', '1', 0, ?)"
    db.execute(row, ("a" * 32, 1, "2001-01-01T00:00:00.000+00:00"))
    db.execute(row, ("b" * 32, 2, datetime.now(UTC).isoformat(timespec="milliseconds")))
    db.close()
    journal = await SqliteJournal.open(path)
    try:
        uploads = JournalUploads(journal)
        assert await uploads.prune(datetime.now(UTC) - timedelta(hours=24)) == 1
        assert (await uploads.pending("b" * 32)).seq == 2
        with pytest.raises(KeyError):
            await uploads.pending("a" * 32)
    finally:
        await journal.close()
