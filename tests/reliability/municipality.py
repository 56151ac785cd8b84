"""A municipality's source over time: pupils join and leave, groups change, a term advances,
and a record can be corrupted with a blocking bad field and later fixed.

Every change is a pure function of a Snapshot, so a failing example replays from its steps.
Dates are set around today, because a run judges memberships against the real date.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, timedelta

from engine.model import (
    Group,
    GroupType,
    MemberRole,
    Membership,
    Person,
    SchoolRole,
    SchoolRoleType,
    Snapshot,
)
from engine.testing.builder import civic_no, tiny_snapshot


def today() -> date:
    return date.today()


def term_dates(now: date) -> tuple[date, date]:
    return now - timedelta(days=30), now + timedelta(days=200)


def first_snapshot(*, pupils: int = 40, teachers: int = 6, seed: int = 1) -> Snapshot:
    """The builder's municipality with every group and membership running around today."""
    now = today()
    start, end = term_dates(now)
    snap = tiny_snapshot(seed=seed, pupils=pupils, teachers=teachers, as_of=now, protected_share=0)
    groups = {k: replace(g, start=start, end=end) for k, g in snap.groups.items()}
    members = tuple(m._replace(start=start, end=end) for m in snap.memberships)
    roles = tuple(r._replace(start=start) for r in snap.school_roles)
    return replace(snap, groups=groups, memberships=members, school_roles=roles)


def pupils(snap: Snapshot) -> list[str]:
    """Pupil ids in a stable order."""
    return sorted(
        {r.person_id for r in snap.school_roles if r.role is SchoolRoleType.STUDENT}
        & set(snap.persons)
    )


def groups_of(snap: Snapshot, kind: GroupType) -> list[str]:
    return sorted(g.id for g in snap.groups.values() if g.group_type is kind)


def current_groups(snap: Snapshot, kind: GroupType) -> list[str]:
    now = snap.as_of
    return sorted(
        g.id
        for g in snap.groups.values()
        if g.group_type is kind and (g.end is None or g.end >= now)
    )


def join(snap: Snapshot, n: int) -> Snapshot:
    """A new pupil (number ``n``, unique in the run) joins a school, its klass and a group."""
    klass_id = current_groups(snap, GroupType.KLASS)[n % len(current_groups(snap, GroupType.KLASS))]
    klass = snap.groups[klass_id]
    teaching = [
        g
        for g in current_groups(snap, GroupType.UNDERVISNING)
        if snap.groups[g].school_id == klass.school_id
    ]
    pid = f"p-new-{n:05d}"
    login = f"ny.elev{n}@skola.example"
    person = Person(
        pid,
        "Ny",
        f"Elev{n}",
        (login,),
        (login,),
        civic_no(random.Random(n), date(2014, 1, 1) + timedelta(days=n % 300)),
    )
    start, end = klass.start, klass.end
    members = [Membership(klass_id, pid, MemberRole.STUDENT, start, end)]
    if teaching:
        members.append(Membership(teaching[n % len(teaching)], pid, MemberRole.STUDENT, start, end))
    role = SchoolRole(klass.school_id, pid, SchoolRoleType.STUDENT, start, None, 7)
    return replace(
        snap,
        persons={**snap.persons, pid: person},
        memberships=(*snap.memberships, *members),
        school_roles=(*snap.school_roles, role),
    )


def leave(snap: Snapshot, pid: str) -> Snapshot:
    """A pupil leaves the municipality: the source no longer lists them at all."""
    return snap.without(persons={pid})


def move(snap: Snapshot, pid: str, n: int) -> Snapshot:
    """A pupil changes teaching group: out of one, into another of the same school."""
    mine = [
        m
        for m in snap.memberships
        if m.person_id == pid and snap.groups[m.group_id].group_type is GroupType.UNDERVISNING
    ]
    school = next((r.school_id for r in snap.school_roles if r.person_id == pid), None)
    others = [
        g
        for g in current_groups(snap, GroupType.UNDERVISNING)
        if snap.groups[g].school_id == school and g not in {m.group_id for m in mine}
    ]
    if not others:
        return snap
    target = others[n % len(others)]
    dropped = mine[n % len(mine)] if mine else None
    members = tuple(m for m in snap.memberships if m is not dropped)
    g = snap.groups[target]
    return replace(
        snap,
        memberships=(*members, Membership(target, pid, MemberRole.STUDENT, g.start, g.end)),
    )


def rename(snap: Snapshot, gid: str, n: int) -> Snapshot:
    g = snap.groups[gid]
    base = g.name.split(" ·")[0]
    return replace(snap, groups={**snap.groups, gid: replace(g, name=f"{base} · {n}")})


def advance_term(snap: Snapshot, n: int) -> Snapshot:
    """A term advances: one teaching group ends (its pupils go to a new group that starts),
    and every klass moves up a year (renamed)."""
    now = snap.as_of
    teaching = current_groups(snap, GroupType.UNDERVISNING)
    groups = dict(snap.groups)
    members = list(snap.memberships)
    if teaching:
        old = groups[teaching[n % len(teaching)]]
        ended = now - timedelta(days=1)
        groups[old.id] = replace(old, start=old.start, end=ended)
        new_id = f"g-term-{n:04d}"
        start, end = term_dates(now)
        groups[new_id] = Group(
            new_id,
            f"{old.subject or 'NY'} t{n}",
            GroupType.UNDERVISNING,
            old.school_id,
            old.school_type,
            start,
            end,
            old.subject,
        )
        moved = []
        for i, m in enumerate(members):
            if m.group_id == old.id:
                members[i] = m._replace(end=ended)
                moved.append(Membership(new_id, m.person_id, m.role, start, end))
        members.extend(moved)
    for gid in current_groups(snap, GroupType.KLASS):
        g = groups[gid]
        year = g.name[:1]
        nxt = str(int(year) % 9 + 1) if year.isdigit() else "1"
        groups[gid] = replace(g, name=nxt + g.name[1:])
    return replace(snap, groups=groups, memberships=tuple(members))


@dataclass(frozen=True)
class Corruption:
    """A blocking bad field put into a listed record; ``undo`` restores the record."""

    person_id: str
    original: Person


def corrupt(snap: Snapshot, pid: str, other: str) -> tuple[Snapshot, Corruption]:
    """Give ``pid`` the eduPersonPrincipalName and address of ``other``: a duplicate that
    validation blocks (both persons), while the source still lists both."""
    p, o = snap.persons[pid], snap.persons[other]
    bad = replace(p, eppns=o.eppns, emails=o.emails)
    return replace(snap, persons={**snap.persons, pid: bad}), Corruption(pid, p)


def fix(snap: Snapshot, c: Corruption) -> Snapshot:
    if c.person_id not in snap.persons:
        return snap
    return replace(snap, persons={**snap.persons, c.person_id: c.original})
