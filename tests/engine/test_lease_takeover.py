"""A lease whose holder died on this host is taken over at once; a live or remote one is not.

The dead holder is a real process that took the lease through the runner and was killed with
SIGKILL, so nothing of its own released the lease.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from engine import runner
from engine.journal import LeaseHeld, LeaseOwner, SqliteJournal
from engine.journal.schema import MIGRATIONS

HOLD = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from engine import runner
    from engine.journal import SqliteJournal

    async def main() -> None:
        j = await SqliteJournal.open(Path(sys.argv[1]))
        lease = await runner._lease(j, "t1", "cli:holder")
        print(lease.token, flush=True)
        await asyncio.sleep(600)

    asyncio.run(main())
    """
)


def _holder(journal: Path) -> subprocess.Popen[str]:
    """A process that takes tenant t1's lease, says its token, and then waits."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(journal)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip().isdigit(), f"the holder did not take the lease: {line!r}"
    return proc


async def test_a_killed_holder_is_taken_over_at_once(tmp_path: Path) -> None:
    path = tmp_path / "ess.db"
    proc = _holder(path)
    proc.kill()  # SIGKILL on POSIX, TerminateProcess on Windows: nothing of its own runs
    proc.wait(timeout=30)
    j = await SqliteJournal.open(path)
    try:
        started = time.monotonic()
        lease = await runner._lease(j, "t1", "cli:rerun")
        assert time.monotonic() - started < 5
        assert lease.token == 2  # a new fencing token: the dead holder's writes are refused
        assert await j.lease_holder("t1") is not None
    finally:
        await j.close()


async def test_a_live_holder_still_refuses(tmp_path: Path) -> None:
    path = tmp_path / "ess.db"
    proc = _holder(path)
    try:
        j = await SqliteJournal.open(path)
        try:
            with pytest.raises(runner.TenantBusy, match=f"cli:holder on .* pid {proc.pid}"):
                await runner._lease(j, "t1", "cli:rerun")
            holder = await j.lease_holder("t1")
            assert holder is not None and holder.holder.startswith("cli:holder")
        finally:
            await j.close()
    finally:
        proc.kill()
        proc.wait(timeout=30)


async def test_a_reused_pid_is_not_mistaken_for_the_holder(tmp_path: Path) -> None:
    """The pid is alive (this very process) but started at another time than the holder."""
    j = await SqliteJournal.open(tmp_path / "ess.db")
    try:
        me = LeaseOwner.this_process()
        other = LeaseOwner(me.host, os.getpid(), me.started - 3600)
        first = await j.acquire_lease("t1", "cli:old", 300, owner=other)
        second = await j.acquire_lease("t1", "cli:new", 300)
        assert second.token == first.token + 1
        with pytest.raises(LeaseHeld, match="being synced by cli:new"):
            await j.acquire_lease("t1", "cli:third", 300)  # the new holder is alive
    finally:
        await j.close()


async def test_a_holder_on_another_host_only_expires(tmp_path: Path) -> None:
    j = await SqliteJournal.open(tmp_path / "ess.db")
    try:
        gone = LeaseOwner(f"not-{socket.gethostname()}", _free_pid(), 1.0)
        await j.acquire_lease("t1", "cli:elsewhere", 300, owner=gone)
        with pytest.raises(LeaseHeld, match="being synced by cli:elsewhere"):
            await j.acquire_lease("t1", "cli:here", 300)
        assert await j.lease_holder("t1") is not None
        await j.acquire_lease("t2", "cli:elsewhere", 0.05, owner=gone)
        await asyncio.sleep(0.1)
        await j.acquire_lease("t2", "cli:here", 300)  # expired: taken over as before
    finally:
        await j.close()


async def test_a_lease_written_by_an_older_release_can_only_expire(tmp_path: Path) -> None:
    """A schema-2 journal with a lease row of a holder now dead: upgraded, the row has no owner
    and is waited out; a row an older release took over (new token, stale owner) likewise."""
    path = tmp_path / "ess.db"
    db = sqlite3.connect(path)
    for number, step in enumerate(MIGRATIONS[:2], start=1):
        if isinstance(step, str):
            db.executescript(step)
        db.execute(f"PRAGMA user_version={number}")
    db.execute(
        "INSERT INTO leases(tenant, holder, token, expires_at) VALUES ('t1', 'cli:old', 1, ?)",
        (time.time() + 300,),
    )
    db.commit()
    db.close()
    j = await SqliteJournal.open(path)
    try:
        with pytest.raises(LeaseHeld, match="being synced by cli:old"):
            await j.acquire_lease("t1", "cli:new", 300)
        dead = LeaseOwner(socket.gethostname(), _free_pid(), 1.0)
        await j.acquire_lease("t2", "cli:dead", 300, owner=dead)
    finally:
        await j.close()
    db = sqlite3.connect(path)
    db.execute("UPDATE leases SET token=token+1, holder='cli:older' WHERE tenant='t2'")
    db.commit()
    db.close()
    j = await SqliteJournal.open(path)
    try:
        with pytest.raises(LeaseHeld, match="being synced by cli:older"):
            await j.acquire_lease("t2", "cli:new", 300)
    finally:
        await j.close()


def _free_pid() -> int:
    """A pid no process has now."""
    pid = 4_000_000
    while psutil.pid_exists(pid):
        pid -= 1
    return pid
