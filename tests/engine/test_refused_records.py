"""A record the source still lists but ESS refuses is unknown, not gone: whole runs through the
ops facade against the memory doubles keep its account, memberships and links, show the
finding, and update it again once the source is fixed."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from engine.config import TenantPolicy
from engine.model import (
    GroupType,
    MemberRole,
    Refused,
    SchoolRole,
    SchoolRoleType,
    Snapshot,
)
from engine.ops import Ops
from engine.testing.builder import tiny_snapshot
from engine.testing.memory_target import MemoryTarget, MemoryTargetConfig
from tests.conftest import Workdir

RUNS = 3


def target_state(w: Workdir) -> tuple[dict[str, Any], dict[str, set[tuple[str, str]]]]:
    t = MemoryTarget("mem", MemoryTargetConfig(state=w.target_state), TenantPolicy(), w.path)
    objects, links = t.as_desired_view()
    return objects, links


def a_pupil(snap: Snapshot) -> str:
    """A pupil who is in a class and two teaching groups."""
    return sorted(r.person_id for r in snap.school_roles if r.role is SchoolRoleType.STUDENT)[0]


def a_class(snap: Snapshot) -> str:
    return sorted(g.id for g in snap.groups.values() if g.group_type is GroupType.KLASS)[0]


def pairs_of(links: dict[str, set[tuple[str, str]]], *, parent: str = "", child: str = "") -> set:
    return {
        (kind, p, c)
        for kind, pairs in links.items()
        for p, c in pairs
        if (parent and p == parent) or (child and c == child)
    }


def with_bad_role(snap: Snapshot, pid: str) -> Snapshot:
    """The pupil's enrolment ends before it starts: validation refuses the person."""
    roles = tuple(
        r._replace(start=date(2026, 8, 17), end=date(2026, 1, 1)) if r.person_id == pid else r
        for r in snap.school_roles
    )
    return replace(snap, school_roles=roles)


def with_bad_group(snap: Snapshot, gid: str) -> Snapshot:
    """The class ends before it starts: validation refuses the group."""
    groups = dict(snap.groups)
    groups[gid] = replace(groups[gid], start=date(2026, 8, 17), end=date(2025, 1, 1))
    return replace(snap, groups=groups)


def blocking(findings: list[Any], record_id: str) -> list[Any]:
    return [f for f in findings if f.severity == "blocking" and f.record_id == record_id]


async def test_a_refused_person_keeps_account_and_memberships_over_runs(
    workdir: Workdir,
) -> None:
    snap = tiny_snapshot()
    pid = a_pupil(snap)
    async with await Ops.open(workdir.config, actor="test") as ops:
        assert (await ops.sync("alpha")).status == "succeeded"
        objects, links = target_state(workdir)
        account = objects["user"][pid]
        memberships = pairs_of(links, child=pid)
        assert len(memberships) >= 3  # a school, a class, teaching groups

        workdir.source(with_bad_role(snap, pid))
        for _ in range(RUNS):
            run = await ops.sync("alpha")
            assert run.status == "succeeded"
            assert run.counts["planned"] == 0, run.counts  # nothing suspended or unlinked
            assert blocking(await ops.findings("alpha", run_id=run.id), pid)
            objects, links = target_state(workdir)
            assert objects["user"].get(pid) == account
            assert pairs_of(links, child=pid) == memberships

        # fixed, and renamed meanwhile: the account is updated from the good copy
        fixed = snap.persons[pid]
        persons = dict(snap.persons)
        persons[pid] = replace(fixed, given_name="Zelda")
        workdir.source(replace(snap, persons=persons))
        run = await ops.sync("alpha")
        assert run.status == "succeeded"
        assert run.counts.get("planned_update") == 1, run.counts
        assert not blocking(await ops.findings("alpha", run_id=run.id), pid)
    objects, links = target_state(workdir)
    assert dict(objects["user"][pid])["name"].startswith("Zelda")
    assert pairs_of(links, child=pid) == memberships


async def test_a_refused_group_keeps_its_members_and_teachers(workdir: Workdir) -> None:
    snap = tiny_snapshot()
    gid = a_class(snap)
    async with await Ops.open(workdir.config, actor="test") as ops:
        await ops.sync("alpha")
        objects, links = target_state(workdir)
        group = objects["group"][gid]
        members = pairs_of(links, parent=gid)
        assert {k for k, _, _ in members} == {"group.member", "group.teacher"}

        workdir.source(with_bad_group(snap, gid))
        for _ in range(RUNS):
            run = await ops.sync("alpha")
            assert run.status == "succeeded"
            assert run.counts["planned"] == 0, run.counts  # no archive, no unlink
            assert blocking(await ops.findings("alpha", run_id=run.id), gid)
            objects, links = target_state(workdir)
            assert objects["group"].get(gid) == group
            assert pairs_of(links, parent=gid) == members

        groups = dict(snap.groups)
        groups[gid] = replace(groups[gid], name="9Z")
        workdir.source(replace(snap, groups=groups))
        run = await ops.sync("alpha")
        assert run.counts.get("planned_update") == 1, run.counts
    objects, links = target_state(workdir)
    assert dict(objects["group"][gid])["name"] == "9Z"
    assert pairs_of(links, parent=gid) == members


async def test_a_record_the_source_refused_and_left_out_is_held(workdir: Workdir) -> None:
    """The source's own mapping refused a person and a group and left them out of the snapshot
    entirely (as SS 12000 does): listed as refused, they are held all the same."""
    snap = tiny_snapshot()
    pid, gid = a_pupil(snap), a_class(snap)
    async with await Ops.open(workdir.config, actor="test") as ops:
        await ops.sync("alpha")
        objects, links = target_state(workdir)
        before = (objects["user"][pid], objects["group"][gid])
        kept = pairs_of(links, child=pid) | pairs_of(links, parent=gid)

        left_out = snap.without(persons={pid}, groups={gid})
        workdir.source(
            replace(left_out, refused=Refused(persons=frozenset({pid}), groups=frozenset({gid})))
        )
        for _ in range(RUNS):
            run = await ops.sync("alpha")
            assert run.counts["planned"] == 0, run.counts
            shown = await ops.findings("alpha", run_id=run.id)
            assert blocking(shown, pid) and blocking(shown, gid)
            # the person's memberships name a person the snapshot lacks: no dangling noise
            assert not [f for f in shown if f.code == "membership.dangling"]
            objects, links = target_state(workdir)
            assert (objects["user"][pid], objects["group"][gid]) == before
            assert pairs_of(links, child=pid) | pairs_of(links, parent=gid) == kept

        # once the source no longer lists them at all, they go as usual
        workdir.source(left_out)
        run = await ops.sync("alpha")
        assert run.counts.get("planned_suspend") == 1, run.counts
        assert run.counts.get("planned_archive") == 1, run.counts


async def test_a_refused_school_holds_its_groups_and_people(workdir: Workdir) -> None:
    snap = tiny_snapshot()
    sid = sorted(snap.schools)[0]
    async with await Ops.open(workdir.config, actor="test") as ops:
        await ops.sync("alpha")
        before = target_state(workdir)
        schools = dict(snap.schools)
        schools[sid] = replace(schools[sid], start=date(2026, 8, 1), end=date(2020, 1, 1))
        workdir.source(replace(snap, schools=schools))
        for _ in range(2):
            run = await ops.sync("alpha")
            assert run.counts["planned"] == 0, run.counts
            assert blocking(await ops.findings("alpha", run_id=run.id), sid)
            assert target_state(workdir) == before


async def test_a_teacher_refused_while_the_groups_are_fine_keeps_teaching(
    workdir: Workdir,
) -> None:
    snap = tiny_snapshot()
    teacher = sorted(m.person_id for m in snap.memberships if m.role is MemberRole.TEACHER)[0]
    async with await Ops.open(workdir.config, actor="test") as ops:
        await ops.sync("alpha")
        _, links = target_state(workdir)
        teaching = pairs_of(links, child=teacher)
        assert any(k == "group.teacher" for k, _, _ in teaching)
        roles = tuple(
            SchoolRole(r.school_id, r.person_id, r.role, date(2026, 9, 1), date(2026, 1, 1))
            if r.person_id == teacher
            else r
            for r in snap.school_roles
        )
        workdir.source(replace(snap, school_roles=roles))
        run = await ops.sync("alpha")
        assert run.counts["planned"] == 0, run.counts
        _, links = target_state(workdir)
        assert pairs_of(links, child=teacher) == teaching
