"""Who is in, and in what role: the roster decisions every target shares.

A target turns the snapshot into accounts, classes and their members. Which persons get an
account (the protected-identity policy), which groups become classes (the group-type policy and
the group's dates), who studies and who teaches, and who belongs to which group and school today
do not depend on the service: they are decided here once, so that every target agrees on them
and none has to write them again. What a target makes of them (names, attributes, lifecycle) is
its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

from engine.config import TenantPolicy
from engine.model import Group, MemberRole, Person, Protection, SchoolRoleType, Snapshot, is_current

Role = Literal["student", "teacher"]


@dataclass(frozen=True, slots=True)
class RosterPolicy:
    """The parts of the tenant policy the roster reads."""

    protected_identity: Literal["exclude", "mask", "include"] = "exclude"
    group_types: tuple[str, ...] = ("Klass", "Undervisning")

    @classmethod
    def of(cls, policy: TenantPolicy | None) -> RosterPolicy:
        if policy is None:
            return cls()
        return cls(protected_identity=policy.protected_identity, group_types=policy.group_types)


@dataclass(frozen=True, slots=True)
class Roster:
    """The snapshot as every target should see it today.

    ``persons`` holds those with a role (after the protected-identity policy), ``roles`` their
    role (a person who teaches anywhere is a teacher), ``groups`` the current groups of the
    chosen types, ``members`` and ``teachers`` each group's students and teachers (a teacher
    of a group is not listed again as its student; persons left out are in neither), and
    ``school_users`` the (school, person) pairs of current school roles.
    """

    as_of: date
    persons: Mapping[str, Person]
    roles: Mapping[str, Role]
    groups: Mapping[str, Group]
    members: Mapping[str, set[str]]
    teachers: Mapping[str, set[str]]
    school_users: tuple[tuple[str, str], ...]


def roster(snapshot: Snapshot, policy: RosterPolicy) -> Roster:
    """Decide the roster of one snapshot; written for a large municipality's 170,000 persons
    and two million memberships."""
    today = snapshot.as_of
    persons = dict(snapshot.persons)  # copied in C; the few left out are taken away after
    if policy.protected_identity == "exclude":
        none = Protection.NONE
        for pid in [pid for pid, p in persons.items() if p.protection is not none]:
            del persons[pid]
    types = policy.group_types
    groups = {
        gid: g
        for gid, g in snapshot.groups.items()
        if g.group_type.value in types and is_current(g.start, g.end, today)
    }

    # Who teaches and who studies: roles from the school roles and the memberships.
    teaching: set[str] = set()
    studying: set[str] = set()
    school_users: list[tuple[str, str]] = []
    student_role, all_schools = SchoolRoleType.STUDENT, snapshot.schools
    for r in snapshot.current_school_roles():
        pid = r.person_id
        if pid not in persons:
            continue
        (studying if r.role is student_role else teaching).add(pid)
        if r.school_id in all_schools:
            school_users.append((r.school_id, pid))

    # Memberships come in runs of one group each (a source lists a group's memberships
    # together): a run whose memberships are all current or all not is taken whole, in C;
    # persons are checked once each, after.
    members: dict[str, set[str]] = {}
    teachers: dict[str, set[str]] = {}
    student = MemberRole.STUDENT
    for run in snapshot.membership_runs():
        gid = run.group_id
        if gid not in groups:
            continue
        in_class = members.setdefault(gid, set())
        owning = teachers.setdefault(gid, set())
        current = run.current(today)
        if current is False:
            continue
        if current and not (run.students and run.staff):
            (in_class if run.students else owning).update(run.person_ids)
            continue
        for _, pid, role, start, end in run.memberships:
            if (start is not None and start > today) or (end is not None and end < today):
                continue
            if role is student:
                in_class.add(pid)
            else:
                owning.add(pid)
    in_classes = set().union(*members.values())
    owners_all = set().union(*teachers.values())
    left_out = (in_classes | owners_all).difference(persons)  # excluded, unknown
    for gid, owners in teachers.items():
        if left_out:
            owners -= left_out
        kids = members.get(gid)
        if kids is not None:
            kids -= owners  # a teacher of a class is linked once, as teacher
    if left_out:
        for kids in members.values():
            kids -= left_out
    studying |= in_classes - left_out
    teaching |= owners_all - left_out
    roles: dict[str, Role] = dict.fromkeys(studying - teaching, "student")
    roles.update(dict.fromkeys(teaching, "teacher"))

    with_role = dict(persons)  # most persons have a role: copy, then take away the rest
    for pid in persons.keys() - roles.keys():
        del with_role[pid]
    return Roster(
        as_of=today,
        persons=with_role,
        roles=roles,
        groups=groups,
        members=members,
        teachers=teachers,
        school_users=tuple(school_users),
    )
