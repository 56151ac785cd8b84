"""The model's quick paths for bulk data: a person or a group made through its slots is the
same record, and a snapshot's membership runs agree with its memberships however they were
made."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta

from engine.model import (
    Group,
    GroupType,
    MemberRole,
    Membership,
    MembershipRun,
    Person,
    Protection,
    School,
    Snapshot,
    is_current,
    make_group,
    make_person,
)

TODAY = date(2025, 3, 1)


def test_make_person_is_the_same_record_as_the_constructor() -> None:
    args = (
        "p1",
        "Åsa",
        "Öberg",
        ("asa@skola.example",),
        ("asa@idp.example",),
        "200101012384",
        Protection.CONFIDENTIAL,
        "Maria",
        (("lms", "x-1"),),
    )
    made, built = make_person(*args), Person(*args)
    assert made == built
    assert repr(made) == repr(built)
    assert made.fingerprint == built.fingerprint
    assert hash(made) == hash(built)


def test_make_group_is_the_same_record_as_the_constructor() -> None:
    args = ("g1", "7A", GroupType.UNDERVISNING, "s1", "GR", date(2025, 8, 18), None, "MA")
    made, built = make_group(*args), Group(*args)
    assert made == built
    assert repr(made) == repr(built)
    assert made.fingerprint == built.fingerprint
    assert hash(made) == hash(built)
    assert make_group(*args[:-1], None) != built  # every field counts


def _snapshot(memberships: list[Membership]) -> Snapshot:
    schools = {"s": School("s", "Skolan", "123")}
    groups = {g: Group(g, g, GroupType.KLASS, "s") for g in ("g1", "g2", "g3")}
    persons = {f"p{i}": Person(f"p{i}", "A", "B") for i in range(12)}
    return Snapshot(schools, persons, groups, tuple(memberships), (), TODAY)


def _random_memberships(rng: random.Random) -> list[Membership]:
    days = [None, TODAY - timedelta(days=40), TODAY, TODAY + timedelta(days=40)]
    out = []
    for _ in range(rng.randrange(1, 40)):
        out.append(
            Membership(
                rng.choice(("g1", "g2", "g3")),
                f"p{rng.randrange(14)}",  # p12 and p13 are nobody
                rng.choice(list(MemberRole)),
                rng.choice(days),
                rng.choice(days),
            )
        )
    if rng.random() < 0.5:
        out.sort(key=lambda m: m.group_id)
    return out


def test_runs_hold_the_memberships_in_order_and_their_summary_is_sure() -> None:
    rng = random.Random(7)
    for _ in range(300):
        snap = _snapshot(_random_memberships(rng))
        runs = snap.membership_runs()
        assert tuple(m for r in runs for m in r.memberships) == snap.memberships
        for run in runs:
            ms = run.memberships
            assert all(m.group_id == run.group_id for m in ms)
            assert run.person_ids == tuple(m.person_id for m in ms)
            assert run.students == any(m.role is MemberRole.STUDENT for m in ms)
            assert run.staff == any(m.role is not MemberRole.STUDENT for m in ms)
            if run.ordered:
                assert not any(m.start and m.end and m.start > m.end for m in ms)
            current = [is_current(m.start, m.end, TODAY) for m in ms]
            if run.current(TODAY) is True:
                assert all(current)
            elif run.current(TODAY) is False:
                assert not any(current)


def test_without_keeps_runs_that_agree_with_its_memberships() -> None:
    rng = random.Random(11)
    for _ in range(200):
        snap = _snapshot(_random_memberships(rng))
        dropped = {f"p{i}" for i in range(12) if rng.random() < 0.2}
        groups = {"g2"} if rng.random() < 0.3 else set()
        kept = snap.without(persons=dropped, groups=groups)
        if not (dropped or groups):
            assert kept is snap
            continue
        assert kept.memberships == tuple(
            m for m in snap.memberships if m.group_id in kept.groups and m.person_id in kept.persons
        )
        runs = kept.membership_runs()
        assert tuple(m for r in runs for m in r.memberships) == kept.memberships
        fresh = replace(kept, memberships=kept.memberships).membership_runs()
        assert [r.memberships for r in fresh] == _merged([r.memberships for r in runs])


def _merged(runs: list[tuple[Membership, ...]]) -> list[tuple[Membership, ...]]:
    """Neighbouring runs of one group joined (a snapshot made afresh cuts them so)."""
    out: list[tuple[Membership, ...]] = []
    for run in runs:
        if out and out[-1][0].group_id == run[0].group_id:
            out[-1] = out[-1] + run
        else:
            out.append(run)
    return out


def test_a_run_of_one_membership_is_summed_up_like_any_other() -> None:
    m = Membership("g1", "p1", MemberRole.TEACHER, TODAY, None)
    one = MembershipRun.of("g1", (m,))
    assert (one.students, one.staff, one.ordered, one.current(TODAY)) == (False, True, True, True)
    assert one.current(TODAY - timedelta(days=1)) is False


def test_a_uniform_run_and_a_snapshot_of_runs_make_their_memberships_when_asked() -> None:
    start, end = TODAY - timedelta(days=30), TODAY + timedelta(days=30)
    pids = ("p1", "p2", "p1")
    uniform = MembershipRun.uniform("g1", pids, MemberRole.STUDENT, start, end)
    listed = MembershipRun.of(
        "g1", tuple(Membership("g1", p, MemberRole.STUDENT, start, end) for p in pids)
    )
    assert uniform.memberships == listed.memberships
    assert uniform._replace(listed=None, role=None) == listed._replace(listed=None, role=None)
    mentor = MembershipRun.uniform("g2", ("p3",), MemberRole.MENTOR, None, None)
    assert (mentor.students, mentor.staff, mentor.current(TODAY)) == (False, True, True)
    snap = Snapshot.of_runs({}, {}, {}, [uniform, mentor], (), TODAY)
    assert snap.counts()["memberships"] == 4
    assert snap.membership_runs() == (uniform, mentor)
    assert snap.memberships == uniform.memberships + mentor.memberships
    assert replace(snap, source="x").memberships == snap.memberships
