"""A tiny deterministic snapshot for engine tests (the SS 12000 generator makes the real ones).

Schools with a klass per year and teaching groups, pupils in their klass and a few teaching
groups, teachers in their groups; fake personnummer with valid check digits.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta

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
from engine.personnummer import luhn_digit

GIVEN = (
    "Alva",
    "Elsa",
    "Maja",
    "Astrid",
    "Saga",
    "Ebba",
    "Wilma",
    "Alice",
    "Liam",
    "William",
    "Noah",
    "Hugo",
    "Oscar",
    "Elias",
    "Lucas",
    "Adam",
    "Omar",
    "Leila",
    "Nour",
    "Sara",
)
FAMILY = (
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Eriksson",
    "Larsson",
    "Olsson",
    "Persson",
    "Svensson",
    "Gustafsson",
    "Pettersson",
    "Jonsson",
    "Ali",
    "Hassan",
    "Lindqvist",
    "Berg",
    "Åberg",
    "Öberg",
)


def civic_no(rng: random.Random, birth: date) -> str:
    serial = f"{rng.randrange(0, 1000):03d}"
    nine = birth.strftime("%y%m%d") + serial
    return birth.strftime("%Y%m%d") + serial + str(luhn_digit(nine))


def tiny_snapshot(
    *,
    seed: int = 1,
    schools: int = 2,
    pupils: int = 60,
    teachers: int = 8,
    as_of: date = date(2026, 11, 2),
    protected_share: float = 0.05,
) -> Snapshot:
    rng = random.Random(seed)
    ids = iter(range(1, 10**9))

    def uid(prefix: str) -> str:
        return f"{prefix}-{seed}-{next(ids):06d}"

    term_start, term_end = date(as_of.year if as_of.month >= 8 else as_of.year - 1, 8, 17), None
    term_end = date(term_start.year + 1, 6, 12)
    sch = {}
    for i in range(schools):
        s = School(uid("s"), f"{FAMILY[i % len(FAMILY)]}skolan", f"{10000000 + i * 7919:08d}")
        sch[s.id] = s
    persons: dict[str, Person] = {}
    roles: list[SchoolRole] = []
    groups: dict[str, Group] = {}
    members: list[Membership] = []
    used: set[str] = set()

    def person(student: bool) -> Person:
        g, f = rng.choice(GIVEN), rng.choice(FAMILY)
        base = f"{g}.{f}".lower().replace("å", "a").replace("ä", "a").replace("ö", "o")
        login, n = base, 1
        while login in used:
            n += 1
            login = f"{base}{n}"
        used.add(login)
        birth = as_of - timedelta(
            days=365 * (rng.randint(7, 15) if student else rng.randint(25, 60))
        )
        protection = (
            Protection.PROTECTED_REGISTRATION if rng.random() < protected_share else Protection.NONE
        )
        p = Person(
            uid("p"),
            g,
            f,
            (f"{login}@skola.example",),
            (f"{login}@skola.example",),
            civic_no(rng, birth),
            protection,
        )
        persons[p.id] = p
        return p

    school_list = list(sch.values())
    staff = []
    for i in range(teachers):
        t = person(False)
        s = school_list[i % len(school_list)]
        roles.append(
            SchoolRole(s.id, t.id, SchoolRoleType.TEACHER, term_start, None, None, "Lärare")
        )
        staff.append((t, s))
    for s in school_list:
        klass = Group(
            uid("g"),
            f"{rng.randint(1, 9)}{'ABC'[len(groups) % 3]}",
            GroupType.KLASS,
            s.id,
            "GR",
            term_start,
            term_end,
        )
        groups[klass.id] = klass
        teaching = [
            Group(
                uid("g"),
                f"{subj} {klass.name}",
                GroupType.UNDERVISNING,
                s.id,
                "GR",
                term_start,
                term_end,
                subj,
            )
            for subj in ("MA", "SV", "EN")
        ]
        for g in teaching:
            groups[g.id] = g
        mine = [t for t, ts in staff if ts.id == s.id] or [staff[0][0]]
        for g in [klass, *teaching]:
            members.append(
                Membership(g.id, rng.choice(mine).id, MemberRole.TEACHER, term_start, term_end)
            )
        for _ in range(pupils // len(school_list)):
            p = person(True)
            roles.append(
                SchoolRole(s.id, p.id, SchoolRoleType.STUDENT, term_start, None, rng.randint(1, 9))
            )
            members.append(Membership(klass.id, p.id, MemberRole.STUDENT, term_start, term_end))
            for g in rng.sample(teaching, 2):
                members.append(Membership(g.id, p.id, MemberRole.STUDENT, term_start, term_end))
    return Snapshot(sch, persons, groups, tuple(members), tuple(roles), as_of, "builder")


def drop_persons(snap: Snapshot, share: float, seed: int = 7) -> Snapshot:
    """A truncated source: ``share`` of the persons missing (the guard must hold this)."""
    rng = random.Random(seed)
    gone = {pid for pid in snap.persons if rng.random() < share}
    return snap.without(persons=gone)


def next_term(snap: Snapshot, seed: int = 3) -> Snapshot:
    """A few leavers, a few newcomers and a renamed group."""
    rng = random.Random(seed)
    leavers = set(
        rng.sample(
            sorted(
                p
                for p in snap.persons
                if any(
                    r.person_id == p and r.role is SchoolRoleType.STUDENT for r in snap.school_roles
                )
            ),
            2,
        )
    )
    out = snap.without(persons=leavers)
    gid = sorted(out.groups)[0]
    groups = dict(out.groups)
    groups[gid] = replace(groups[gid], name=groups[gid].name + " (ny)")
    return replace(out, groups=groups)
