"""The journal contract: leases and their fencing, runs, findings. Every implementation of
:class:`engine.journal.Journal` passes these (tests/journal/conftest.py lists them)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from engine.findings import Finding, Severity
from engine.journal import Journal, LeaseHeld, LeaseHolder, LeaseLost, RunRecord
from engine.plan import Action, OpStatus
from tests.journal.conftest import OpenJournal
from tests.journal.journal_support import LINK_SPECS, TENANT, new_run, op, outcome, stored_run

# ---------------------------------------------------------------------------- leases


async def test_a_live_lease_refuses_a_second_holder_and_names_the_first(journal: Journal) -> None:
    lease = await journal.acquire_lease(TENANT, "cli:eva", ttl=60)
    with pytest.raises(LeaseHeld) as refused:
        await journal.acquire_lease(TENANT, "scheduler", ttl=60)
    assert refused.value.holder == "cli:eva" and 0 < refused.value.expires_in <= 60
    holder = await journal.lease_holder(TENANT)
    assert isinstance(holder, LeaseHolder) and holder.holder == "cli:eva"
    assert time.time() < holder.expires_at <= time.time() + 60
    # another tenant's lease is its own
    other = await journal.acquire_lease("other", "scheduler", ttl=60)
    assert other.tenant == "other" and lease.tenant == TENANT


async def test_a_released_lease_frees_the_tenant(journal: Journal) -> None:
    lease = await journal.acquire_lease(TENANT, "cli:eva", ttl=60)
    await journal.release_lease(lease)
    assert await journal.lease_holder(TENANT) is None
    again = await journal.acquire_lease(TENANT, "scheduler", ttl=60)
    assert again.token > lease.token


async def test_an_expired_lease_is_taken_over_and_its_old_holder_is_fenced(
    journal: Journal,
) -> None:
    old = await journal.acquire_lease(TENANT, "old", ttl=0.05)
    await asyncio.sleep(0.1)
    assert await journal.lease_holder(TENANT) is None  # expired: nobody is running
    new = await journal.acquire_lease(TENANT, "new", ttl=60)
    assert new.token > old.token
    run_id, ops = await stored_run(journal, [op(1, Action.CREATE, "user", "u1")])
    with pytest.raises(LeaseLost):
        await journal.renew_lease(old, 60)
    with pytest.raises(LeaseLost):
        await journal.mark_in_flight(old, ops)
    with pytest.raises(LeaseLost):
        await journal.record_outcomes(old, TENANT, [outcome(ops[0], OpStatus.DONE)], LINK_SPECS)
    # nothing the fenced holder sent was written
    [state] = await journal.load_operations(run_id)
    assert state.status is OpStatus.PENDING and state.op.attempts == 0
    assert not (await journal.load_mirror(TENANT, "ms")).objects
    # releasing the old lease leaves the new one in place
    await journal.release_lease(old)
    holder = await journal.lease_holder(TENANT)
    assert holder is not None and holder.holder == "new"
    await journal.renew_lease(new, 60)
    await journal.mark_in_flight(new, ops)
    [state] = await journal.load_operations(run_id)
    assert state.status is OpStatus.IN_FLIGHT and state.op.attempts == 1


async def test_a_lease_is_seen_by_a_second_connection(open_journal: OpenJournal) -> None:
    """Two processes (here two connections) share one tenant's lease."""
    a, b = await open_journal(), await open_journal()
    try:
        await a.acquire_lease(TENANT, "a", ttl=60)
        with pytest.raises(LeaseHeld):
            await b.acquire_lease(TENANT, "b", ttl=60)
    finally:
        await a.close()
        await b.close()


# ---------------------------------------------------------------------------- runs


async def test_a_run_reads_back_with_typed_fields(journal: Journal) -> None:
    before = datetime.now(UTC)
    run_id = await journal.create_run(
        TENANT, trigger="schedule", actor="scheduler", dry_run=True, targets=["ms", "google"]
    )
    run = await journal.get_run(run_id)
    assert isinstance(run, RunRecord)
    assert (run.id, run.tenant, run.status, run.trigger, run.actor) == (
        run_id,
        TENANT,
        "running",
        "schedule",
        "scheduler",
    )
    assert run.dry_run is True and run.targets == ("ms", "google")
    assert before - timedelta(seconds=1) <= run.started_at <= datetime.now(UTC)
    assert run.finished_at is None and run.error is None and run.source_mode is None
    assert run.counts == {} and run.guard == {}
    assert await journal.get_run(run_id + 1) is None


async def test_update_run_changes_only_what_it_is_given(journal: Journal) -> None:
    run_id = await new_run(journal)
    await journal.update_run(run_id, source_mode="incremental")
    await journal.update_run(run_id, counts={"planned": 3}, guard={"held": False, "reasons": []})
    run = await journal.get_run(run_id)
    assert run is not None and run.status == "running" and run.finished_at is None
    assert run.source_mode == "incremental" and run.counts == {"planned": 3}
    assert run.guard == {"held": False, "reasons": []}
    await journal.update_run(run_id, status="partial", error="2 items failed", finished=True)
    run = await journal.get_run(run_id)
    assert run is not None and run.status == "partial" and run.error == "2 items failed"
    assert run.finished_at is not None and run.finished_at >= run.started_at
    assert run.counts == {"planned": 3} and run.source_mode == "incremental"


async def test_runs_list_newest_first_by_tenant_status_and_page(journal: Journal) -> None:
    a1 = await new_run(journal, "a")
    b1 = await new_run(journal, "b", status="held")
    a2 = await new_run(journal, "a", status="held")
    a3 = await new_run(journal, "a")
    assert [r.id for r in await journal.list_runs("a")] == [a3, a2, a1]
    assert [r.id for r in await journal.list_runs(None)] == [a3, a2, b1, a1]
    assert [r.id for r in await journal.list_runs("a", limit=2)] == [a3, a2]
    assert [r.id for r in await journal.list_runs("a", before=a3)] == [a2, a1]
    assert [r.id for r in await journal.list_runs(None, statuses=["held"])] == [a2, b1]
    assert [r.id for r in await journal.list_runs("a", statuses=["held", "running"])] == [
        a3,
        a2,
        a1,
    ]
    last = await journal.last_runs()
    assert {t: r.id for t, r in last.items()} == {"a": a3, "b": b1}


async def test_a_run_running_again_is_unfinished(journal: Journal) -> None:
    run_id = await new_run(journal)
    await journal.update_run(run_id, status="held", finished=True)
    held = await journal.get_run(run_id)
    assert held is not None and held.finished_at is not None
    await journal.update_run(run_id, status="running")  # approved: applying now
    running = await journal.get_run(run_id)
    assert running is not None and running.finished_at is None
    await journal.update_run(run_id, status="succeeded", finished=True)
    done = await journal.get_run(run_id)
    assert done is not None and done.finished_at is not None


async def test_a_dry_run_is_never_a_tenants_last_run(journal: Journal) -> None:
    held = await new_run(journal, "a", status="held")
    await new_run(journal, "a", dry_run=True, status="succeeded")
    await new_run(journal, "b", dry_run=True, status="succeeded")
    last = await journal.last_runs()
    assert {t: r.id for t, r in last.items()} == {"a": held}  # b has only dry runs: none


async def test_a_new_plan_cancels_the_plans_held_for_approval(journal: Journal) -> None:
    held = await new_run(journal, status="held")
    ops = await journal.store_operations(held, TENANT, [op(1, Action.DELETE, "user", "u1")])
    other = await new_run(journal, "other", status="held")
    newer = await new_run(journal)
    assert await journal.supersede_held(TENANT, newer) == 1
    run = await journal.get_run(held)
    assert run is not None and run.status == "cancelled" and run.finished_at is not None
    assert run.error == f"superseded by run {newer}"
    record = await journal.get_operation(ops[0].id)
    assert record is not None and record.status is OpStatus.CANCELLED and record.superseded
    still = await journal.get_run(other)
    assert still is not None and still.status == "held"
    assert await journal.supersede_held(TENANT, newer) == 0


async def test_the_last_read_run_is_the_newest_that_read_the_source(journal: Journal) -> None:
    assert await journal.last_read_run(TENANT) is None
    read = await new_run(journal)
    await journal.update_run(read, source_mode="full")
    await new_run(journal)  # a retry: no read
    await journal.update_run(await new_run(journal, "other"), source_mode="full")
    assert await journal.last_read_run(TENANT) == read


# ---------------------------------------------------------------------------- findings


async def test_findings_read_back_by_severity_and_record(journal: Journal) -> None:
    run_id = await new_run(journal)
    findings = [
        Finding("person.no_school", Severity.WARNING, "person", "p1", "no school", "add one"),
        Finding("group.empty", Severity.WARNING, "group", "g1", "empty group", origin="ss12000"),
        Finding("person.duplicate_email", Severity.BLOCKING, "person", "p2", "same email"),
    ]
    await journal.add_findings(run_id, TENANT, findings, {"p1": "Åsa Berg"})
    await journal.add_findings(run_id, TENANT, [], {})
    got = await journal.list_findings(run_id)
    assert [(f.severity, f.code) for f in got] == [
        ("blocking", "person.duplicate_email"),
        ("warning", "group.empty"),
        ("warning", "person.no_school"),
    ]
    p1 = next(f for f in got if f.record_id == "p1")
    assert (p1.run_id, p1.tenant, p1.record_type, p1.label, p1.message, p1.fix) == (
        run_id,
        TENANT,
        "person",
        "Åsa Berg",
        "no school",
        "add one",
    )
    assert next(f for f in got if f.record_id == "g1").origin == "ss12000"
    assert [f.record_id for f in await journal.list_findings(run_id, severity="blocking")] == ["p2"]
    assert [f.code for f in await journal.list_findings(run_id, record_id="g1")] == ["group.empty"]
    assert [f.code for f in await journal.list_findings(run_id, limit=1, offset=1)] == [
        "group.empty"
    ]
    assert await journal.finding_counts(run_id) == {"blocking": 1, "warning": 2}
    assert await journal.list_findings(run_id + 1) == []
