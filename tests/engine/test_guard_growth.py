"""The guard holds sudden growth and mass updates, but never a first sync into an empty target
nor a normal year rollover: whole runs through the ops facade against the memory doubles."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from engine.config import GrowthThreshold, GuardPolicy
from engine.model import (
    Group,
    Membership,
    Person,
    SchoolRole,
    SchoolRoleType,
    Snapshot,
)
from engine.ops import Ops
from engine.testing.builder import tiny_snapshot
from tests.conftest import Workdir

LOW_COUNT = """
[tenants.alpha.policy.guard.growth]
count = 5
"""


def with_new_pupils(snap: Snapshot, n: int) -> Snapshot:
    """``n`` pupils more, enrolled at the first school (a source that suddenly sends many)."""
    school = sorted(snap.schools)[0]
    persons = dict(snap.persons)
    roles = list(snap.school_roles)
    for i in range(n):
        pid = f"new-{i:06d}"
        login = f"new{i}@skola.example"
        persons[pid] = Person(pid, "Ny", f"Elev{i}", (login,), (login,))
        roles.append(SchoolRole(school, pid, SchoolRoleType.STUDENT, date(2026, 8, 17)))
    return replace(snap, persons=persons, school_roles=tuple(roles))


def rolled_over(snap: Snapshot) -> Snapshot:
    """The next school year: every class of last year ended yesterday, and this year's are
    created (new ids) with the same pupils, as happens each August. The memory source judges
    the snapshot on the run's own day, so the year turns at today."""
    today = datetime.now(UTC).date()
    old_end, new_start, new_end = today - timedelta(days=1), today, today + timedelta(days=300)
    fresh = {gid: f"{gid}-next" for gid in snap.groups}
    groups: dict[str, Group] = {}
    for gid, g in snap.groups.items():
        groups[gid] = replace(g, start=old_end - timedelta(days=300), end=old_end)
        groups[fresh[gid]] = replace(g, id=fresh[gid], start=new_start, end=new_end)
    memberships = tuple(
        m._replace(start=old_end - timedelta(days=300), end=old_end) for m in snap.memberships
    ) + tuple(
        Membership(fresh[m.group_id], m.person_id, m.role, new_start, new_end)
        for m in snap.memberships
    )
    return replace(snap, groups=groups, memberships=memberships)


async def test_a_source_that_suddenly_sends_many_new_persons_is_held(workdir: Workdir) -> None:
    snap = tiny_snapshot()
    async with await Ops.open(workdir.config, actor="test") as ops:
        first = await ops.sync("alpha")
        assert first.status == "succeeded"  # a first sync into an empty target is not held
        assert first.counts["planned_create"] > 60
        before = workdir.target_state.read_bytes()
        workdir.source(with_new_pupils(snap, 700))
        held = await ops.sync("alpha")
        assert held.status == "held"
        assert workdir.target_state.read_bytes() == before  # nothing applied
        plans = await ops.held_plans("alpha")
        assert any("mem user: 700 would be added" in r for r in plans[0].reasons), plans[0].reasons


async def test_a_few_new_persons_are_not_held(workdir: Workdir) -> None:
    snap = tiny_snapshot()
    async with await Ops.open(workdir.config, actor="test") as ops:
        await ops.sync("alpha")
        workdir.source(with_new_pupils(snap, 30))  # about half again: a small school's intake
        assert (await ops.sync("alpha")).status == "succeeded"


async def test_a_year_rollover_is_not_growth(make_workdir) -> None:  # type: ignore[no-untyped-def]
    w: Workdir = make_workdir("rollover")
    w.write(policy=LOW_COUNT)  # a low count, so that only the share and the netting decide
    snap = tiny_snapshot()
    w.source(snap)
    async with await Ops.open(w.config, actor="test") as ops:
        assert (await ops.sync("alpha")).status == "succeeded"
        w.source(rolled_over(snap))
        run = await ops.sync("alpha")
        assert run.status == "succeeded", [p.reasons for p in await ops.held_plans("alpha")]
        assert run.counts["planned_create"] == len(snap.groups)
        assert run.counts["planned_archive"] == len(snap.groups)


async def test_mass_updates_are_held(make_workdir) -> None:  # type: ignore[no-untyped-def]
    w: Workdir = make_workdir("renamed")
    w.write(policy=LOW_COUNT)
    snap = tiny_snapshot()
    w.source(snap)
    async with await Ops.open(w.config, actor="test") as ops:
        await ops.sync("alpha")
        renamed = {k: replace(p, family_name=p.family_name + "x") for k, p in snap.persons.items()}
        w.source(replace(snap, persons=renamed))
        held = await ops.sync("alpha")
        assert held.status == "held"
        plans = await ops.held_plans("alpha")
        assert any("would change" in r for r in plans[0].reasons), plans[0].reasons


def test_the_growth_defaults() -> None:
    policy = GuardPolicy()
    assert policy.growth == GrowthThreshold(share=0.75, count=500)
    assert policy.growth_per_type == {}
