"""Storing a run's plans: link runs are written out once, with row ids that match the journal's
rows, numbered on across plans and runs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from engine.journal import SqliteJournal
from engine.links import LinkSet
from engine.plan import Action, Plan
from engine.planner import PlanInput, plan
from engine.target import DesiredObject, DesiredState, KindSpec, LinkSpec, ObservedState

KINDS = (KindSpec("user", 1), KindSpec("class", 2))
LINKS = (LinkSpec("class.member", "class", "user"),)


def _plan(target: str, users: int, classes: int) -> Plan:
    us = {f"u{i}": DesiredObject("user", f"u{i}", (("n", i),), label=f"U{i}") for i in range(users)}
    cs = {
        f"c{i}": DesiredObject("class", f"c{i}", (("n", i),), label=f"C{i}") for i in range(classes)
    }
    members = LinkSet((c, u) for c in cs for u in us)
    desired = DesiredState({"user": us, "class": cs}, {"class.member": members})
    observed = ObservedState({}, {})
    return plan(PlanInput(target, KINDS, LINKS, desired, observed, datetime.now(UTC)))


async def test_stored_plans_carry_their_row_ids_and_read_back_the_same(tmp_path: Path) -> None:
    first, second = _plan("a", 3, 2), _plan("b", 2, 1)
    assert len(first.links) == 2 and len(first) == 3 + 2 + 6  # one run per class
    j = await SqliteJournal.open(tmp_path / "journal.db")
    try:
        run_id = await j.create_run("t", trigger="test", actor="test", dry_run=False, targets=[])
        stored = await j.store_plans(run_id, "t", [first, second])
        assert len(stored) == len(first) + len(second)
        assert [op.id for op in stored] == list(range(1, len(stored) + 1))
        assert [op._replace(id=0) for op in stored] == [*first.operations, *second.operations]
        back = [op for op, _, _ in await j.load_operations(run_id)]
        assert sorted(back) == sorted(stored)
        link = next(op for op in stored if op.action is Action.LINK)
        assert link.label == "C0 ← U0" and link.depends_on == (4, 1)

        later = await j.create_run("t", trigger="test", actor="test", dry_run=False, targets=[])
        again = await j.store_plans(later, "t", [_plan("a", 1, 1)])
        assert [op.id for op in again] == [len(stored) + 1, len(stored) + 2, len(stored) + 3]
        assert await j.store_plans(run_id, "t", [Plan("a")]) == []
    finally:
        await j.close()
