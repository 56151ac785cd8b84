"""The roster: who gets an account, in which role, in which groups and schools, today."""

from __future__ import annotations

from datetime import date

import pytest

from engine.config import TenantPolicy
from engine.model import (
    Group,
    GroupType,
    MemberRole,
    Membership,
    Person,
    Protection,
    School,
    SchoolRole,
    SchoolRoleType,
    Snapshot,
)
from engine.roster import RosterPolicy, roster
from engine.testing.builder import tiny_snapshot

TODAY = date(2026, 11, 2)
TERM = (date(2026, 8, 17), date(2027, 6, 12))


def _snapshot() -> Snapshot:
    school = School("s1", "Ekskolan", "12345678")
    persons = {
        "pupil": Person("pupil", "Ada", "Berg"),
        "hidden": Person("hidden", "Bo", "Dal", protection=Protection.PROTECTED_REGISTRATION),
        "teacher": Person("teacher", "Cecilia", "Ek"),
        "assistant": Person("assistant", "Dan", "Fors"),  # teaches one group, studies another
        "leaver": Person("leaver", "Eva", "Gran"),
        "nobody": Person("nobody", "Fia", "Holm"),  # listed, but no role anywhere
    }
    groups = {
        "7a": Group("7a", "7A", GroupType.KLASS, "s1", start=TERM[0], end=TERM[1]),
        "ma7": Group("ma7", "MA 7", GroupType.UNDERVISNING, "s1", start=TERM[0], end=TERM[1]),
        "mentor": Group("mentor", "Mentor 7", GroupType.MENTOR, "s1", start=TERM[0], end=TERM[1]),
        "old": Group(
            "old", "6A", GroupType.KLASS, "s1", start=date(2025, 8, 17), end=date(2026, 6, 12)
        ),
    }
    memberships = (
        Membership("7a", "pupil", MemberRole.STUDENT),
        Membership("7a", "hidden", MemberRole.STUDENT),
        Membership("7a", "teacher", MemberRole.TEACHER),
        Membership("7a", "leaver", MemberRole.STUDENT, TERM[0], date(2026, 10, 1)),
        Membership("ma7", "pupil", MemberRole.STUDENT),
        Membership("ma7", "assistant", MemberRole.STUDENT),
        Membership("ma7", "teacher", MemberRole.TEACHER),
        Membership("ma7", "teacher", MemberRole.STUDENT),  # listed twice: teaches
        Membership("mentor", "assistant", MemberRole.MENTOR),
        Membership("old", "pupil", MemberRole.STUDENT),
    )
    roles = (
        SchoolRole("s1", "pupil", SchoolRoleType.STUDENT),
        SchoolRole("s1", "hidden", SchoolRoleType.STUDENT),
        SchoolRole("s1", "teacher", SchoolRoleType.TEACHER),
        SchoolRole("s1", "leaver", SchoolRoleType.STUDENT, TERM[0], date(2026, 10, 1)),
    )
    return Snapshot({"s1": school}, persons, groups, memberships, roles, TODAY)


def test_the_roster_decides_roles_groups_and_members_for_every_target() -> None:
    r = roster(_snapshot(), RosterPolicy(group_types=("Klass", "Undervisning", "Mentor")))
    assert set(r.persons) == {"pupil", "teacher", "assistant"}
    assert dict(r.roles) == {"pupil": "student", "teacher": "teacher", "assistant": "teacher"}
    assert set(r.groups) == {"7a", "ma7", "mentor"}  # last year's class is not current
    assert r.members["7a"] == {"pupil"}  # protected left out, the leaver's membership ended
    assert r.teachers["7a"] == {"teacher"}
    assert r.members["ma7"] == {"pupil", "assistant"}  # a teacher is not also a student
    assert r.teachers["ma7"] == {"teacher"}
    assert r.teachers["mentor"] == {"assistant"}
    assert r.school_users == (("s1", "pupil"), ("s1", "teacher"))


@pytest.mark.parametrize("mode", ["mask", "include"])
def test_protected_persons_stay_in_the_roster_unless_excluded(mode: str) -> None:
    r = roster(_snapshot(), RosterPolicy(protected_identity=mode))  # type: ignore[arg-type]
    assert r.roles["hidden"] == "student"
    assert "hidden" in r.members["7a"]
    assert ("s1", "hidden") in r.school_users


def test_group_types_choose_the_groups() -> None:
    r = roster(_snapshot(), RosterPolicy(group_types=("Klass",)))
    assert set(r.groups) == {"7a"}
    assert "assistant" not in r.persons  # their only groups are not synced


def test_the_policy_is_read_from_the_tenant_policy() -> None:
    policy = TenantPolicy(protected_identity="mask", group_types=("Klass",))
    assert RosterPolicy.of(policy) == RosterPolicy("mask", ("Klass",))
    assert RosterPolicy.of(None) == RosterPolicy()


def test_a_generated_municipality_gives_every_person_with_a_role_an_account() -> None:
    snap = tiny_snapshot(seed=5, pupils=80, teachers=10)
    r = roster(snap, RosterPolicy())
    in_groups = set().union(*r.members.values(), *r.teachers.values())
    assert in_groups <= set(r.persons)
    assert set(r.roles) == set(r.persons)
    assert not any(p.is_protected for p in r.persons.values())
    for gid, kids in r.members.items():
        assert not kids & r.teachers.get(gid, set())
