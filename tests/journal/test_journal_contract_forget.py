"""The journal contract: ``forget_person`` removes one person's rows in one go, names what it
still needs them for (and then removes nothing), and keeps the audit chain whole."""

from __future__ import annotations

from engine.audit_chain import verify_chain
from engine.findings import Finding, Severity
from engine.journal import Journal
from engine.journal.protocol import KeyMoves
from engine.plan import Action, OpStatus
from tests.journal.journal_support import TENANT, finish, op, stored_run

AT = "2026-11-03T08:15:30.250+00:00"
P, OTHER = "p_1", "px1"  # "_" is LIKE's wildcard: P must not match OTHER


async def _chain_ok(j: Journal) -> bool:
    return verify_chain(await j.audit_chain(0, 1000)).ok


async def test_forget_removes_only_that_person_and_keeps_the_chain(journal: Journal) -> None:
    ops = [
        op(1, Action.CREATE, "user", P, label="Eva Ek"),
        op(2, Action.LINK, "class.member", P, parent="c1", label="7A ← Eva Ek"),
        op(3, Action.CREATE, "user", OTHER, label="Per Ek"),
    ]
    run_id, stored = await stored_run(journal, ops)
    await finish(journal, stored, OpStatus.DONE)
    await journal.add_events(
        TENANT,
        run_id,
        [(AT, "error", "create user Eva Ek: refused"), (AT, "info", "create user Per Ek")],
    )
    await journal.add_audit("cli:eva", "person_export", TENANT, True, f"person {P}")
    await journal.add_audit("cli:eva", "retry", TENANT, True, f"person {OTHER}")
    # the mirror still holds both users: nothing may go
    held = await journal.forget_person(TENANT, P, ["Eva Ek"])
    assert held.held.startswith("the target ms still holds") and held.total == 0
    assert len(await journal.list_operations(run_id)) == 3
    removed = [op(4, Action.DELETE, "user", P, label="Eva Ek")]
    _, gone = await stored_run(journal, removed)
    await finish(journal, gone, OpStatus.DONE)
    assert await journal.person_names(TENANT, [P]) == {P: ["Eva Ek"]}
    done = await journal.forget_person(TENANT, P, ["Eva Ek"])
    assert done.held == ""
    assert done.operations == 3 and done.attempts == 3
    assert done.events == 1 and done.audit_rows == 1
    left = await journal.list_operations(run_id)
    assert [o.op.key for o in left] == [OTHER]
    assert [e.message for e in await journal.list_events(run_id)] == ["create user Per Ek"]
    assert [a.action for a in await journal.list_audit(TENANT, 10)] == ["retry"]
    assert await _chain_ok(journal)
    again = await journal.forget_person(TENANT, P, ["Eva Ek"])
    assert again.total == 0 and again.held == ""


async def test_an_open_item_keeps_the_person(journal: Journal) -> None:
    await stored_run(journal, [op(1, Action.DELETE, "user", P)])  # pending: still to be done
    held = await journal.forget_person(TENANT, P, [])
    assert held.held == "an item for them is still to be done"


async def _forgettable(journal: Journal) -> None:
    """P's account was created and removed: only a source could still need them."""
    ops = [op(1, Action.CREATE, "user", P, label="Eva Ek"), op(2, Action.DELETE, "user", P)]
    _, stored = await stored_run(journal, ops)
    await finish(journal, stored, OpStatus.DONE)


async def test_every_source_of_the_tenant_keeps_the_person(journal: Journal) -> None:
    await _forgettable(journal)
    gy, grund = f"{TENANT}/gy", f"{TENANT}/grund"
    # the second of two sources lists them, in its own cache (a OneRoster one: ``users``)
    await journal.save_source(
        gy, upserts={"users": {P: b"{}"}}, deletes={}, checkpoint="c", full=True
    )
    held = await journal.forget_person(TENANT, P, ["Eva Ek"])
    assert held.held == "the source gy still lists them" and held.total == 0
    await journal.save_source(gy, upserts={}, deletes={"users": [P]}, checkpoint="d", full=False)
    # the first lists them under an id of its own, which the last merge gave their id
    await journal.save_source(
        grund, upserts={"persons": {"g-77": b"{}"}}, deletes={}, checkpoint="c", full=True
    )
    await journal.replace_source_aliases(TENANT, {("grund", "g-77"): P})
    held = await journal.forget_person(TENANT, P, [])
    assert held.held == "the source grund still lists them"
    # gone from its cache, but that source could not be read since: the last merge had them
    await journal.save_source(grund, upserts={}, deletes={}, checkpoint="d", full=True)
    held = await journal.forget_person(TENANT, P, [])
    assert held.held == "the source grund listed them at its last read"
    await journal.replace_source_aliases(TENANT, {})
    assert (await journal.forget_person(TENANT, P, [])).total > 0
    assert len(await journal.list_operations(1)) == 0


async def test_a_rekey_hold_keeps_the_person(journal: Journal) -> None:
    await _forgettable(journal)
    await journal.move_source_ids(TENANT, KeyMoves({}, {}, {}, (("person", P, "unmatched"),)), "t")
    held = await journal.forget_person(TENANT, P, [])
    assert held.held.startswith("a rekey holds their record") and held.total == 0
    await journal.release_holds(TENANT, None)
    assert (await journal.forget_person(TENANT, P, [])).total > 0


async def test_findings_on_their_memberships_go_and_others_stay(journal: Journal) -> None:
    """A finding on a membership names the person in its id (``group/person``) and message."""
    run_id, _ = await stored_run(journal, [])
    findings = [
        Finding("m.dangling", Severity.WARNING, "membership", f"g1/{P}", f"g1/{P}: no person"),
        Finding("p.name", Severity.WARNING, "person", P, "no given name"),
        Finding("m.dangling", Severity.WARNING, "membership", f"g1/{OTHER}", f"g1/{OTHER}: x"),
    ]
    await journal.add_findings(run_id, TENANT, findings, {})
    done = await journal.forget_person(TENANT, P, [])
    assert done.findings == 2
    left = await journal.list_findings(run_id)
    assert [f.record_id for f in left] == [f"g1/{OTHER}"]
