"""A class team whose class has no owner yet waits for one, never a dead item: when the class
has no teacher in this run the team is not planned at all (it waits, and one that exists is
kept as it is), and when the process does not know the class's teachers (a resumed run) the
create is a retry. Against the Microsoft sandbox over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

from ms_support import G_KLASS, G_UND, T1, build_target, drive, pid, small_snapshot

from adapters.microsoft.sandbox import MicrosoftSandbox
from adapters.microsoft.target import MicrosoftTarget
from engine.model import MemberRole, Snapshot
from engine.plan import Action, Operation
from engine.planner import PlanInput, held_keys, plan
from engine.target import OutcomeKind, TargetContext


def without_class_teacher(snap: Snapshot) -> Snapshot:
    """The class's only teacher (its mentor) is not in it this run: a refused or late record."""
    kept = tuple(
        m
        for m in snap.memberships
        if not (m.group_id == G_KLASS and m.person_id == T1 and m.role is MemberRole.MENTOR)
    )
    return Snapshot(
        snap.schools, snap.persons, snap.groups, kept, snap.school_roles, snap.as_of, snap.source
    )


def has_team(sandbox: MicrosoftSandbox, class_key: str) -> bool:
    groups = [
        g
        for g in sandbox.state()["groups"]
        if g.get("education", {}).get("externalId") == class_key
    ]
    return bool(groups) and all(g.get("hasTeam") for g in groups)


async def test_a_class_without_owner_waits_for_one_and_gets_its_team(
    ms_sandbox: MicrosoftSandbox, ms_target: MicrosoftTarget
) -> None:
    snap = without_class_teacher(small_snapshot())
    desired = ms_target.desired(snap)
    assert G_KLASS in desired.waiting["team"]  # wanted, but it cannot be made yet
    assert any(
        f.code == "class_without_teacher" and f.record_id == G_KLASS for f in desired.findings
    )
    first = await drive(ms_target, snap, max_attempts=3)
    assert not [op for op, _ in first.outcomes if op.kind == "team" and op.key == G_KLASS]
    assert not first.by_kind(OutcomeKind.FAILED)  # nothing is dead, nothing tried in vain
    assert not has_team(ms_sandbox, G_KLASS)

    # the teacher is there on the next run: the team is made
    second = await drive(ms_target, small_snapshot(), first.observed)
    assert not second.by_kind(OutcomeKind.FAILED)
    assert has_team(ms_sandbox, G_KLASS)

    # the teacher's record is missing again: the team waits as it is, it is not archived
    third = await drive(ms_target, snap, second.observed)
    assert not [op for op, _ in third.outcomes if op.kind == "team"]
    assert has_team(ms_sandbox, G_KLASS)


async def test_a_resumed_team_without_owner_waits(ms_sandbox: MicrosoftSandbox) -> None:
    """The class was made by a run that stopped; the resuming process has not mapped the
    snapshot, so it knows no teacher of the class."""
    classes_only = build_target(ms_sandbox.info, create_teams=False)
    try:
        made = await drive(classes_only, without_class_teacher(small_snapshot()))
    finally:
        await classes_only.aclose()
    class_id = made.observed.objects["class"][G_KLASS].target_id
    assert class_id

    resumed = build_target(ms_sandbox.info)
    try:
        ctx = TargetContext.with_ids("test", 2, {("class", G_KLASS): class_id})
        op = Operation(1, resumed.name, Action.CREATE, "team", G_KLASS, attempts=1)
        (batch,) = resumed.batches([op])
        (outcome,) = await resumed.apply(batch, ctx)
        assert outcome.kind is OutcomeKind.RETRY, outcome
        assert outcome.reason == "no_owner"
        assert outcome.retry_after and outcome.retry_after > 0
    finally:
        await resumed.aclose()
    assert not has_team(ms_sandbox, G_KLASS)


async def test_a_refused_class_and_pupil_keep_class_team_and_memberships(
    ms_sandbox: MicrosoftSandbox, ms_target: MicrosoftTarget
) -> None:
    """The Microsoft target's own kinds: a refused class keeps its class, team and members, a
    refused pupil their account and memberships; without the hold they would be removed."""
    snap = small_snapshot()
    synced = await drive(ms_target, snap)
    assert has_team(ms_sandbox, G_UND)
    refused = snap.refusing(groups={G_UND}, persons={pid(3)})
    desired = ms_target.desired(refused)
    held = held_keys(ms_target.record_types, ms_target.kinds, refused.refused)
    assert held["class"] == held["team"] == {G_UND} and held["user"] == {pid(3)}
    now, observed = datetime.now(UTC), synced.observed
    kinds, links = ms_target.kinds, ms_target.links
    kept = plan(PlanInput(ms_target.name, kinds, links, desired, observed, now, {}, held))
    assert not kept.counts(), kept.counts()
    unheld = plan(PlanInput(ms_target.name, kinds, links, desired, observed, now))
    removing = set(unheld.counts())
    assert {("archive", "class"), ("archive", "team"), ("suspend", "user")} <= removing
    assert ("unlink", "class.member") in removing
