"""Crash safety: the executor is killed with SIGKILL at named points, restarted, and converges
with no duplicate and no lost operation; the journal passes PRAGMA integrity_check."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from engine.testing.builder import next_term, tiny_snapshot
from tests.conftest import Workdir
from tests.engine.test_sync import desired_view, target_view

ROOT = Path(__file__).resolve().parents[2]


def run_sync(w: Workdir, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ESS_CRASH_AT"}
    if crash_at:
        env["ESS_CRASH_AT"] = crash_at
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, str(ROOT / "tests/engine/sync_once.py"), str(w.config), "alpha"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def check_converged(w: Workdir, snap) -> None:  # type: ignore[no-untyped-def]
    state = orjson.loads(w.target_state.read_bytes())
    assert all(n == 1 for n in state["creations"].values()), "a create was sent twice"
    _, (objects, links) = target_view(w)
    want_objects, want_links = desired_view(w, snap)
    assert {k: v for k, v in objects.items() if v} == {k: v for k, v in want_objects.items() if v}
    assert {k: v for k, v in links.items() if v} == {k: v for k, v in want_links.items() if v}
    db = sqlite3.connect(w.journal)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        open_ops = db.execute(
            "SELECT COUNT(*) FROM operations WHERE status IN ('pending','in_flight')"
        ).fetchone()[0]
        assert open_ops == 0, "an operation was lost"
        statuses = [r[0] for r in db.execute("SELECT status FROM runs ORDER BY id")]
        assert "running" not in statuses
        mirror = db.execute("SELECT COUNT(*) FROM mirror WHERE kind='user'").fetchone()[0]
        assert mirror == sum(1 for _ in state["objects"].get("user", {}))
    finally:
        db.close()


@pytest.mark.parametrize(
    "point",
    ["after_plan:1", "after_mark:2", "after_apply:3", "before_record:2", "after_record:4"],
)
def test_killed_run_resumes_and_converges(workdir: Workdir, point: str) -> None:
    workdir.write(target="duplicate_creates = true\nbatch_size = 7\nmax_concurrency = 2")
    snap = tiny_snapshot()
    workdir.source(snap)
    crashed = run_sync(workdir, point)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    # the lease of the killed run is still there, unexpired: its process is gone, so the
    # restart takes it over at once
    again = run_sync(workdir)
    assert again.returncode == 0, again.stderr
    check_converged(workdir, snap)
    # and the next term after the crash still syncs exactly the differences
    later = workdir.source(next_term(snap))
    third = run_sync(workdir)
    assert third.returncode == 0 and third.stdout.split()[1] == "succeeded", third.stdout
    check_converged(workdir, later)


def test_the_lease_of_a_killed_run_is_taken_over_by_the_restart(workdir: Workdir) -> None:
    """A live holder still refuses (tests/engine/test_lease_takeover.py); a dead one does not."""
    snap = workdir.source(tiny_snapshot())
    crashed = run_sync(workdir, "after_mark:1")
    assert crashed.returncode == -signal.SIGKILL
    db = sqlite3.connect(workdir.journal)
    try:
        left = db.execute("SELECT COUNT(*) FROM leases WHERE expires_at > strftime('%s')")
        assert left.fetchone()[0] == 1  # the killed run's lease, minutes from expiry
    finally:
        db.close()
    again = run_sync(workdir)
    assert again.returncode == 0, again.stderr
    check_converged(workdir, snap)
