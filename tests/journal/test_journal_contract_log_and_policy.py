"""The journal contract: the run log, elevations, approvals and the audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from engine.audit_chain import GENESIS, AuditHead, link_hash, verify_chain
from engine.journal import AuditRecord, ElevationRecord, EventRecord, Journal
from tests.journal.journal_support import TENANT, new_run

AT = "2026-11-03T08:15:30.250+00:00"


async def test_the_run_log_reads_back_in_order_and_filters(journal: Journal) -> None:
    run_id, other = await new_run(journal), await new_run(journal)
    await journal.add_events(
        TENANT,
        run_id,
        [
            (AT, "info", "read 120 persons"),
            (AT, "debug", "page 2 of 3"),
            (AT, "warning", "50% of the group_x members are new"),
            (AT, "error", "target refused 2 items"),
        ],
    )
    await journal.add_events(TENANT, other, [(AT, "info", "another run")])
    await journal.add_events(TENANT, run_id, [])
    events = await journal.list_events(run_id)
    assert all(isinstance(e, EventRecord) for e in events)
    assert [e.level for e in events] == ["info", "debug", "warning", "error"]
    first = events[0]
    assert (first.tenant, first.run_id, first.message) == (TENANT, run_id, "read 120 persons")
    assert first.at == datetime(2026, 11, 3, 8, 15, 30, 250000, tzinfo=UTC)
    after = await journal.list_events(run_id, after_id=events[1].id)
    assert [e.id for e in after] == [events[2].id, events[3].id]
    assert [e.message for e in await journal.list_events(run_id, level="error")] == [
        "target refused 2 items"
    ]
    # LIKE's wildcards in the text asked for are plain characters
    assert [e.level for e in await journal.list_events(run_id, contains="50%")] == ["warning"]
    assert [e.level for e in await journal.list_events(run_id, contains="p_x")] == ["warning"]
    assert await journal.list_events(run_id, contains="%") != []
    assert await journal.list_events(run_id, contains="0_") == []
    assert len(await journal.list_events(run_id, limit=2)) == 2


async def test_a_run_log_line_may_belong_to_no_run(journal: Journal) -> None:
    await journal.add_events(TENANT, None, [(AT, "info", "scheduler started")])
    run_id = await new_run(journal)
    assert await journal.list_events(run_id) == []


async def test_elevations_read_back_and_are_approved(journal: Journal) -> None:
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=30)
    silver = await journal.add_elevation(TENANT, "cli:eva", "ticket 4711", expires, False)
    gold = await journal.add_elevation("gold", "cli:eva", "repair", expires, True)
    record = await journal.get_elevation(gold)
    assert isinstance(record, ElevationRecord)
    assert (record.tenant, record.actor, record.reason) == ("gold", "cli:eva", "repair")
    assert record.expires_at == expires and record.created_at <= datetime.now(UTC)
    assert record.needs_approval is True and record.revoked is False
    assert record.approved_by is None and record.approved_at is None
    await journal.approve_elevation(gold, "it-chef@kommun.se")
    approved = await journal.get_elevation(gold)
    assert approved is not None and approved.approved_by == "it-chef@kommun.se"
    assert approved.approved_at is not None and approved.approved_at >= approved.created_at
    assert [e.id for e in await journal.list_elevations()] == [gold, silver]
    assert [e.id for e in await journal.list_elevations(TENANT)] == [silver]
    assert await journal.get_elevation(gold + silver) is None


async def test_an_approval_is_recorded_for_its_run(journal: Journal) -> None:
    """Approvals are written only: a held plan's decision is kept for the record."""
    run_id = await new_run(journal, status="held")
    await journal.add_approval(run_id, "approved", "cli:eva", "checked with the school")
    await journal.add_approval(run_id, "rejected", "cli:bo", "")
    run = await journal.get_run(run_id)
    assert run is not None and run.status == "held"  # recording a decision changes no run


async def test_the_audit_reads_back_newest_first(journal: Journal) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    await journal.add_audit("cli:eva", "sync", TENANT, True, "sync")
    await journal.add_audit("console:bo", "retry", TENANT, False, "retry 2 — refused: read-only")
    await journal.add_audit("cli:eva", "source_check", None, True, "read")
    await journal.add_audit("cli:eva", "sync", "other", True, "sync")
    rows = await journal.list_audit(TENANT, 10)
    assert all(isinstance(a, AuditRecord) for a in rows)
    assert [(a.actor, a.action, a.allowed) for a in rows] == [
        ("console:bo", "retry", False),
        ("cli:eva", "sync", True),
    ]
    assert rows[0].detail == "retry 2 — refused: read-only" and rows[0].tenant == TENANT
    assert rows[0].at >= before
    everything = await journal.list_audit(None, 10)
    assert [a.tenant for a in everything] == ["other", None, TENANT, TENANT]
    assert len(await journal.list_audit(None, 2)) == 2


async def test_the_audit_is_a_hash_chain_ending_at_its_head(journal: Journal) -> None:
    assert await journal.audit_head() is None
    for n in range(7):
        await journal.add_audit("cli:eva", "sync", TENANT, n % 2 == 0, f"sync {n}")
    links = await journal.audit_chain(0, 100)
    assert [link.id for link in links] == list(range(1, 8))
    assert links[0].prev == GENESIS
    assert all(b.prev == a.hash for a, b in pairwise(links))
    assert all(link_hash(link) == link.hash for link in links)
    assert await journal.audit_head() == AuditHead(7, links[-1].hash)
    assert verify_chain(links, AuditHead(7, links[-1].hash)).ok
    assert [link.id for link in await journal.audit_chain(5, 100)] == [6, 7]


async def test_approver_keys_are_enrolled_replaced_and_removed(journal: Journal) -> None:
    await journal.add_approver_key(TENANT, "rektor", "a2V5MQ==", "cli:eva")
    await journal.add_approver_key(TENANT, "chef", "a2V5Mg==", "cli:eva")
    await journal.add_approver_key("other", "rektor", "a2V5Mw==", "cli:bo")
    await journal.add_approver_key(TENANT, "rektor", "a2V5NA==", "cli:bo")  # replaced
    keys = await journal.approver_keys(TENANT)
    assert [(k.name, k.public_key, k.enrolled_by) for k in keys] == [
        ("chef", "a2V5Mg==", "cli:eva"),
        ("rektor", "a2V5NA==", "cli:bo"),
    ]
    assert len(await journal.approver_keys(None)) == 3
    assert await journal.remove_approver_key(TENANT, "rektor")
    assert not await journal.remove_approver_key(TENANT, "rektor")
    assert [k.name for k in await journal.approver_keys(TENANT)] == ["chef"]


async def test_an_approval_keeps_its_signature(journal: Journal) -> None:
    gold = await journal.add_elevation(
        TENANT, "cli:eva", "repair", datetime.now(UTC) + timedelta(minutes=5), True
    )
    await journal.approve_elevation(gold, "rektor", "c2lnbmF0dXJl")
    row = await journal.get_elevation(gold)
    assert row is not None
    assert (row.approved_by, row.approval_signature) == ("rektor", "c2lnbmF0dXJl")
