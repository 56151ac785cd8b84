"""The kit's GroupLinks: the memberships a source found, handed to the snapshot as runs, give
the same memberships as the tuples would, in group, person and role order."""

from __future__ import annotations

from datetime import date

from adapters.kit.membership_runs import GroupLinks
from engine.model import MemberRole, Membership, Snapshot

S, T, M = MemberRole.STUDENT, MemberRole.TEACHER, MemberRole.MENTOR
AUG, JUN = date(2025, 8, 18), date(2026, 6, 12)


def snapshot(links: GroupLinks, persons: set[str], groups: set[str] | None = None) -> Snapshot:
    runs = links.runs(persons, groups)
    return Snapshot.of_runs({}, {}, {}, runs, (), date(2025, 9, 1))


def test_runs_give_every_membership_in_group_person_role_order() -> None:
    links = GroupLinks()
    found = [
        Membership("g2", "p3", S, AUG, JUN),
        Membership("g1", "p2", S, AUG, JUN),
        Membership("g1", "t1", T, AUG, None),
        Membership("g1", "p1", S, AUG, JUN),
        Membership("g1", "p0", S, None, JUN),  # a span of its own
        Membership("g1", "t1", M, AUG, None),
        Membership("g2", "p1", S, AUG, JUN),
    ]
    for m in found:
        links.add(*m)
    assert len(links) == len(found)
    snap = snapshot(links, {"p0", "p1", "p2", "p3", "t1"})
    want = sorted(found, key=lambda m: (m.group_id, m.person_id, m.role.value))
    assert sorted(snap.memberships) == sorted(want)
    assert [m.group_id for m in snap.memberships] == [m.group_id for m in want]
    runs = snap.membership_runs()
    assert runs[0].person_ids == ("p1", "p2") and runs[0].listed is None  # uniform: ids only
    assert len(links) == 0  # handed over once


def test_runs_leave_out_persons_and_groups_not_kept() -> None:
    links = GroupLinks()
    for pid in ("p1", "p2", "p3"):
        links.add("g1", pid, S, AUG, JUN)
    links.add("g1", "t1", T, AUG, JUN)
    links.add("g2", "p1", S, AUG, JUN)
    snap = snapshot(links, {"p1", "p3", "t1"}, {"g1"})
    assert snap.memberships == (
        Membership("g1", "p1", S, AUG, JUN),
        Membership("g1", "p3", S, AUG, JUN),
        Membership("g1", "t1", T, AUG, JUN),
    )
    assert snap.counts()["memberships"] == 3


def test_without_a_persons_filter_every_membership_is_kept() -> None:
    """A source that knows every person it linked is kept passes None: nothing is left out,
    and a group whose members have several spans is still split by span."""
    links = GroupLinks()
    links.add("g1", "p2", S, AUG, JUN)
    links.add("g1", "t1", T, None, JUN)
    links.add("g1", "p1", S, AUG, JUN)
    links.add("g1", "p3", S, None, JUN)
    snap = Snapshot.of_runs({}, {}, {}, links.runs(None), (), date(2025, 9, 1))
    assert sorted(snap.memberships) == sorted(
        [
            Membership("g1", "p1", S, AUG, JUN),
            Membership("g1", "p2", S, AUG, JUN),
            Membership("g1", "t1", T, None, JUN),
            Membership("g1", "p3", S, None, JUN),
        ]
    )
    assert snap.membership_runs()[0].person_ids == ("p1", "p2")
