"""The journal contract: plans, operations and their outcomes, open trouble, operator skips."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.journal import Journal, OperationRecord, OperationState
from engine.links import LinkSet
from engine.plan import Action, Operation, OpStatus, Plan
from engine.planner import PlanInput, plan
from engine.target import DesiredObject, DesiredState, KindSpec, LinkSpec, ObservedState
from engine.views import OperationCount
from tests.journal.journal_support import TENANT, finish, new_run, op, stored_run

KINDS = (KindSpec("user", 1), KindSpec("class", 2))
LINKS = (LinkSpec("class.member", "class", "user"),)


def _plan(target: str, users: int, classes: int) -> Plan:
    us = {f"u{i}": DesiredObject("user", f"u{i}", (("n", i),), label=f"U{i}") for i in range(users)}
    cs = {
        f"c{i}": DesiredObject("class", f"c{i}", (("n", i),), label=f"C{i}") for i in range(classes)
    }
    members = LinkSet((c, u) for c in cs for u in us)
    desired = DesiredState({"user": us, "class": cs}, {"class.member": members})
    return plan(PlanInput(target, KINDS, LINKS, desired, ObservedState({}, {}), datetime.now(UTC)))


async def test_stored_plans_read_back_as_they_were_written(journal: Journal) -> None:
    first, second = _plan("a", 3, 2), _plan("b", 2, 1)
    run_id = await new_run(journal, targets=["a", "b"])
    stored = await journal.store_plans(run_id, TENANT, [first, second])
    assert [o.id for o in stored] == list(range(1, len(first) + len(second) + 1))
    assert [o._replace(id=0) for o in stored] == [*first.operations, *second.operations]
    states = await journal.load_operations(run_id)
    assert all(isinstance(s, OperationState) for s in states)
    assert [s.op for s in states] == sorted(stored, key=lambda o: (o.target, o.seq))
    assert {(s.status, s.not_before) for s in states} == {(OpStatus.PENDING, 0.0)}
    later = await new_run(journal)
    again = await journal.store_plans(later, TENANT, [_plan("a", 1, 0)])
    assert [o.id for o in again] == [len(stored) + 1]
    assert await journal.store_plans(run_id, TENANT, [Plan("a")]) == []
    assert await journal.store_operations(run_id, TENANT, []) == []


async def test_an_operation_reads_back_with_every_field(journal: Journal) -> None:
    attrs = (("displayName", "Åsa"), ("groups", ("7A", "7B")), ("extra", (("k", 1),)))
    parent = op(1, Action.CREATE, "class", "c1", label="7A")
    user = op(2, Action.CREATE, "user", "u1", attrs=attrs, label="Åsa Berg")
    link = op(3, Action.LINK, "class.member", "u1", parent="c1", depends_on=(1, 2))
    run_id, stored = await stored_run(journal, [parent, user, link])
    record = await journal.get_operation(stored[1].id)
    assert isinstance(record, OperationRecord)
    assert record.op == stored[1] and record.op.attrs == attrs
    assert (record.run_id, record.tenant, record.status) == (run_id, TENANT, OpStatus.PENDING)
    assert (record.reason, record.last_error, record.not_before) == ("", "", 0.0)
    assert record.superseded is False and record.updated_at is not None
    got_link = await journal.get_operation(stored[2].id)
    assert got_link is not None and got_link.op.parent == "c1"
    assert got_link.op.depends_on == (1, 2)
    assert await journal.get_operation(stored[-1].id + 1) is None
    assert sorted(r.op.id for r in await journal.get_operations([stored[0].id, 999])) == [
        stored[0].id
    ]
    assert await journal.get_operations([]) == []


async def test_attempts_and_outcomes_are_recorded(journal: Journal) -> None:
    lease = await journal.acquire_lease(TENANT, "test", 60)
    a, b, c = (op(i, Action.CREATE, "user", f"u{i}") for i in (1, 2, 3))
    run_id, stored = await stored_run(journal, [a, b, c])
    await journal.mark_in_flight(lease, stored)
    flying = await journal.load_operations(run_id, ["in_flight"])
    assert [(s.op.id, s.op.attempts) for s in flying] == [(o.id, 1) for o in stored]
    first = [s.op for s in flying]
    await finish(journal, [first[0]], OpStatus.DONE, target_id="id-1")
    await finish(
        journal,
        [first[1]],
        OpStatus.PENDING,
        outcome="retry",
        reason="throttled",
        message="429",
        not_before=1234.5,
    )
    await finish(journal, [first[2]], OpStatus.DEAD, reason="bad data", message="400 invalid")
    done, waiting, dead = [await journal.get_operation(o.id) for o in stored]
    assert done is not None and done.status is OpStatus.DONE and done.op.target_id == "id-1"
    assert waiting is not None and waiting.status is OpStatus.PENDING
    assert (waiting.reason, waiting.last_error, waiting.not_before) == ("throttled", "429", 1234.5)
    assert dead is not None and dead.status is OpStatus.DEAD and dead.last_error == "400 invalid"
    [attempt] = await journal.attempts_of(stored[1].id)
    assert (attempt.op_id, attempt.number, attempt.outcome) == (stored[1].id, 1, "retry")
    assert (attempt.reason, attempt.message) == ("throttled", "429")
    assert attempt.at.tzinfo is not None
    # the second attempt is numbered on; a blocked outcome is no attempt
    await journal.mark_in_flight(lease, [waiting.op])
    again = (await journal.load_operations(run_id, ["in_flight"]))[0].op
    await finish(journal, [again], OpStatus.DONE, target_id="id-2")
    assert [x.number for x in await journal.attempts_of(stored[1].id)] == [1, 2]
    await finish(journal, [first[2]], OpStatus.BLOCKED, outcome="blocked")
    assert [x.outcome for x in await journal.attempts_of(stored[2].id)] == ["fatal"]
    assert await journal.status_counts(run_id) == {"done": 2, "blocked": 1}
    assert await journal.operation_counts(run_id) == [
        OperationCount("blocked", "create", "user", 1),
        OperationCount("done", "create", "user", 2),
    ]


async def test_operations_list_by_id_status_and_kind(journal: Journal) -> None:
    ops = [
        op(1, Action.CREATE, "user", "u1"),
        op(2, Action.CREATE, "class", "c1"),
        op(3, Action.CREATE, "user", "u2"),
    ]
    run_id, stored = await stored_run(journal, ops)
    await finish(journal, [stored[0]], OpStatus.DONE)
    listed = await journal.list_operations(run_id)
    assert [r.op.id for r in listed] == [o.id for o in stored]
    assert [r.op.key for r in await journal.list_operations(run_id, kind="user")] == ["u1", "u2"]
    pending = await journal.list_operations(run_id, status="pending")
    assert [r.op.key for r in pending] == ["c1", "u2"]
    assert [r.op.key for r in await journal.list_operations(run_id, limit=1, offset=1)] == ["c1"]


async def test_open_trouble_lists_dead_then_failed_then_blocked(journal: Journal) -> None:
    ops = [op(i, Action.CREATE, "user", f"u{i}") for i in range(1, 6)]
    _, stored = await stored_run(journal, ops)
    _, elsewhere = await stored_run(journal, [op(1, Action.CREATE, "user", "x")], tenant="other")
    await finish(journal, [stored[0]], OpStatus.BLOCKED, outcome="blocked")
    await finish(journal, [stored[1]], OpStatus.FAILED)
    await finish(journal, [stored[2]], OpStatus.DEAD)
    await finish(journal, [stored[3]], OpStatus.DONE)
    await finish(journal, elsewhere, OpStatus.FAILED, tenant="other")
    trouble = await journal.open_trouble(TENANT)
    assert [r.op.key for r in trouble] == ["u3", "u2", "u1"]
    assert [r.op.key for r in await journal.open_trouble(TENANT, limit=1, offset=1)] == ["u2"]
    assert [r.tenant for r in await journal.open_trouble(None)] == ["other", TENANT, TENANT, TENANT]
    assert await journal.trouble_counts() == {TENANT: 3, "other": 1}
    await journal.supersede([stored[2].id])
    assert [r.op.key for r in await journal.open_trouble(TENANT)] == ["u2", "u1"]
    await journal.set_status([stored[1].id], OpStatus.SKIPPED, "skipped by eva: known")
    skipped = await journal.get_operation(stored[1].id)
    assert skipped is not None and skipped.status is OpStatus.SKIPPED and skipped.superseded
    assert skipped.last_error == "skipped by eva: known"
    assert await journal.trouble_counts() == {TENANT: 1, "other": 1}


async def test_a_new_plan_supersedes_the_open_trouble_of_its_targets(journal: Journal) -> None:
    _, old = await stored_run(journal, [op(1, Action.CREATE, "user", "u1")])
    _, other_target = await stored_run(journal, [op(1, Action.CREATE, "user", "u9", target="gw")])
    await finish(journal, [*old, *other_target], OpStatus.FAILED)
    retry = await new_run(journal)
    await journal.store_operations(
        retry, TENANT, [op(1, Action.CREATE, "user", "u2")], supersede=False
    )
    assert len(await journal.open_trouble(TENANT)) == 2  # a retry's copies replace nothing
    fresh = await new_run(journal)
    await journal.store_plans(fresh, TENANT, [_plan("ms", 1, 0)])
    assert [r.op.key for r in await journal.open_trouble(TENANT)] == ["u9"]
    replaced = await journal.get_operation(old[0].id)
    assert replaced is not None and replaced.superseded and replaced.status is OpStatus.FAILED


async def test_removal_history_counts_applied_removals_of_completed_runs(journal: Journal) -> None:
    async def run_with(removals: list[Operation], status: str, dry_run: bool = False) -> None:
        run_id = await new_run(journal, dry_run=dry_run)
        stored = await journal.store_operations(run_id, TENANT, removals)
        await finish(journal, stored, OpStatus.DONE)
        await journal.update_run(run_id, status=status, finished=True)

    delete, suspend = Action.DELETE, Action.SUSPEND
    await run_with([op(1, delete, "user", "a"), op(2, suspend, "user", "b")], "succeeded")
    await run_with([op(1, delete, "class", "c")], "partial")
    await run_with([op(1, delete, "user", "d")], "failed")  # not completed
    await run_with([op(1, delete, "user", "e")], "succeeded", dry_run=True)
    await run_with([op(1, Action.CREATE, "user", "f")], "succeeded")  # no removal
    assert await journal.removal_history(TENANT, 3) == [{}, {"class": 1}, {"user": 2}]
    assert await journal.removal_history(TENANT, 1) == [{}]
    assert await journal.removal_history("other", 3) == []


async def test_removals_of_an_approved_plan_do_not_count_as_erosion(journal: Journal) -> None:
    async def run_with(removals: list[Operation], approved: bool) -> None:
        run_id = await new_run(journal)
        stored = await journal.store_operations(run_id, TENANT, removals)
        if approved:
            await journal.update_run(run_id, status="held", finished=True)
            await journal.add_approval(run_id, "approved", "cli:eva", "leavers at term end")
        await finish(journal, stored, OpStatus.DONE)
        await journal.update_run(run_id, status="succeeded", finished=True)

    delete = Action.DELETE
    await run_with([op(1, delete, "user", "a")], approved=False)
    await run_with([op(i, delete, "user", f"x{i}") for i in range(1, 6)], approved=True)
    await run_with([op(1, delete, "user", "b")], approved=False)
    # the approved run keeps its place in the window, with nothing counted
    assert await journal.removal_history(TENANT, 3) == [{"user": 1}, {}, {"user": 1}]


async def test_a_records_operations_include_its_links_newest_first(journal: Journal) -> None:
    _, first = await stored_run(journal, [op(1, Action.CREATE, "user", "u1")])
    _, second = await stored_run(
        journal,
        [
            op(1, Action.UPDATE, "user", "u1"),
            op(2, Action.LINK, "class.member", "u1", parent="c1"),
            op(3, Action.LINK, "class.member", "u2", parent="c1"),
        ],
    )
    mine = await journal.operations_for_record(TENANT, "u1")
    assert [r.op.id for r in mine] == [second[1].id, second[0].id, first[0].id]
    assert [r.op.key for r in await journal.operations_for_record(TENANT, "c1")] == ["u2", "u1"]
    assert len(await journal.operations_for_record(TENANT, "u1", limit=1)) == 1
    assert await journal.operations_for_record("other", "u1") == []


async def test_skips_are_kept_per_target_with_their_fingerprint(journal: Journal) -> None:
    create = op(1, Action.CREATE, "user", "u1", fingerprint="f1")
    link = op(2, Action.LINK, "class.member", "u1", parent="c1", fingerprint="f2")
    elsewhere = op(1, Action.CREATE, "user", "u1", target="gw", fingerprint="f3")
    await journal.add_skips(TENANT, [create, link, elsewhere], "cli:eva", "known problem")
    assert await journal.skips(TENANT, "ms") == {
        ("create", "user", "u1", ""): "f1",
        ("link", "class.member", "u1", "c1"): "f2",
    }
    # a second skip of the same operation keeps the newer fingerprint
    await journal.add_skips(TENANT, [create._replace(fingerprint="f9")], "cli:eva", "again")
    assert (await journal.skips(TENANT, "ms"))[("create", "user", "u1", "")] == "f9"
    assert await journal.skips("other", "ms") == {}
