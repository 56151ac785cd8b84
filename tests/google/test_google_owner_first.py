"""A course is created after its owner's account, by the plan's order rather than by retrying:
with a Directory quota so small that account creates queue, every course and its roster are
made in the first run with no ``owner_not_made`` attempt; an owner whose create is refused
blocks its course (blocked, not dead), and the next run completes both."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from adapters.google.sandbox import GoogleSandbox
from tests.google.test_google_end_to_end import (
    T2,
    assert_matches_desired,
    put,
    snapshot,
    sync,
    write_config,
)


def attempts(workdir: Path, reason: str) -> int:
    with sqlite3.connect(workdir / "ess.db") as db:
        (n,) = db.execute("SELECT COUNT(*) FROM attempts WHERE reason = ?", (reason,)).fetchone()
    return int(n)


def statuses(workdir: Path, kind: str) -> dict[str, tuple[str, str]]:
    """The last run's status and message of each item of ``kind``, by key."""
    with sqlite3.connect(workdir / "ess.db") as db:
        rows = db.execute(
            "SELECT key, status, last_error FROM operations WHERE kind = ? AND parent IS NULL"
            " AND run_id = (SELECT MAX(run_id) FROM operations) ORDER BY id",
            (kind,),
        ).fetchall()
    return {k: (s, e) for k, s, e in rows}


async def test_courses_wait_for_owners_queued_behind_the_directory_quota(
    sandbox: GoogleSandbox, workdir: Path
) -> None:
    settings = sandbox.settings
    settings.time_scale = 0.02  # every quota window 1.2 s instead of 60
    settings.directory_per_user_per_min = 8  # 37 accounts: five windows of creates
    write_config(workdir, sandbox, quota_window_s=1.2)
    snap = snapshot(extra_pupils=30)
    put(workdir, snap)
    first = await sync(workdir)
    assert first.status == "succeeded", (first.error, first.counts)
    assert sandbox.stats().by_status.get(403, 0) + sandbox.stats().by_status.get(429, 0) > 0
    assert attempts(workdir, "owner_not_made") == 0  # no course was sent before its owner
    assert_matches_desired(sandbox, snap)  # every course and roster made in this run


async def test_a_refused_owner_blocks_its_course_and_the_next_run_completes_it(
    sandbox: GoogleSandbox, workdir: Path
) -> None:
    snap = snapshot()
    unnamed = replace(snap.persons[T2], family_name="")  # the Directory refuses the account
    put(workdir, replace(snap, persons={**snap.persons, T2: unnamed}))
    first = await sync(workdir)
    assert first.status != "succeeded"
    users, courses = statuses(workdir, "user"), statuses(workdir, "course")
    assert users[T2][0] == "dead"
    blocked = [msg for status, msg in courses.values() if status == "blocked"]
    assert len(blocked) == 1  # MA7, which only T2 teaches; 7A has Åsa Öberg first
    assert "Per" in blocked[0] and "failed" in blocked[0]  # names the owner's item
    assert "dead" not in {status for status, _ in courses.values()}
    assert attempts(workdir, "owner_not_made") == 0

    put(workdir, snap)
    second = await sync(workdir)
    assert second.status == "succeeded", (second.error, second.counts)
    assert_matches_desired(sandbox, snap)
