"""The notification outbox: a run that ends held, failed or partial writes a notice in the same
transaction as its status, and each channel's delivery is kept until the notice is settled."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine.journal import Journal, JournalWriteError, SqliteJournal
from tests.journal.conftest import OpenJournal
from tests.journal.journal_support import TENANT, new_run


@pytest.mark.parametrize(
    ("status", "kind"),
    [("held", "plan_held"), ("failed", "run_failed"), ("partial", "run_partial")],
)
async def test_a_run_that_ends_in_trouble_writes_one_notice(
    journal: Journal, status: str, kind: str
) -> None:
    run_id = await new_run(journal)
    await journal.update_run(run_id, status=status, error="x", finished=True)
    notices = await journal.open_notices()
    assert [(n.tenant, n.kind, n.run_id) for n in notices] == [(TENANT, kind, run_id)]


async def test_no_notice_for_success_a_dry_run_or_a_change_that_is_no_end(
    journal: Journal,
) -> None:
    ok = await new_run(journal)
    await journal.update_run(ok, status="succeeded", finished=True)
    cancelled = await new_run(journal)
    await journal.update_run(cancelled, status="cancelled", finished=True)
    dry = await new_run(journal, dry_run=True)
    await journal.update_run(dry, status="held", finished=True)
    going = await new_run(journal)
    await journal.update_run(going, status="failed")  # not finished: no end to report
    assert await journal.open_notices() == []


async def test_the_notice_commits_with_the_status_or_not_at_all(tmp_path: Path) -> None:
    path = tmp_path / "ess.db"
    journal = await SqliteJournal.open(path)
    try:
        run_id = await new_run(journal)
        raw = sqlite3.connect(path)
        raw.execute("DROP TABLE notices")  # the outbox write will fail
        raw.commit()
        raw.close()
        with pytest.raises((JournalWriteError, sqlite3.OperationalError)):
            await journal.update_run(run_id, status="held", finished=True)
        run = await journal.get_run(run_id)
        assert run is not None and run.status == "running" and run.finished_at is None
    finally:
        await journal.close()


async def test_deliveries_are_counted_and_kept_until_the_notice_closes(
    open_journal: OpenJournal,
) -> None:
    journal = await open_journal()
    try:
        run_id = await new_run(journal)
        await journal.update_run(run_id, status="held", finished=True)
        (notice,) = await journal.open_notices()
        later = datetime.now(UTC) + timedelta(minutes=1)
        await journal.record_delivery(
            notice.id, "teams", delivered=False, error="HTTP 500", retry_at=later
        )
        await journal.record_delivery(
            notice.id, "teams", delivered=False, error="HTTP 502", retry_at=later
        )
        await journal.record_delivery(notice.id, "mail", delivered=True)
    finally:
        await journal.close()
    journal = await open_journal()  # what was recorded survives the process
    try:
        got = {d.channel: d for d in await journal.deliveries(notice.id)}
        assert got["teams"].attempts == 2 and got["teams"].last_error == "HTTP 502"
        assert got["teams"].retry_at == later and got["teams"].delivered_at is None
        assert got["mail"].attempts == 1 and got["mail"].delivered_at is not None
        assert got["mail"].last_error == "" and not got["mail"].given_up
        await journal.record_delivery(
            notice.id, "teams", delivered=False, error="HTTP 500", give_up=True
        )
        assert {d.channel: d for d in await journal.deliveries(notice.id)}["teams"].given_up
        await journal.close_notice(notice.id)
        assert await journal.open_notices() == []
    finally:
        await journal.close()


async def test_an_elevation_asked_for_and_approved_writes_a_notice_each(
    journal: Journal,
) -> None:
    until = datetime.now(UTC) + timedelta(hours=1)
    elevation = await journal.add_elevation(TENANT, "support:eva", "year end", until, True)
    await journal.approve_elevation(elevation, "Rektor Anna")
    notices = await journal.open_notices()
    assert [(n.tenant, n.kind, n.elevation_id, n.run_id) for n in notices] == [
        (TENANT, "elevation_requested", elevation, None),
        (TENANT, "elevation_approved", elevation, None),
    ]
