"""Model-level data-quality checks, run on every snapshot whatever its source.

Each finding names the record by its source id (never by personnummer) and says what to fix in
the source system. A blocking finding keeps its record out of the desired state; it never
stops the run. Sources add their own findings for malformed input.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from itertools import chain
from operator import attrgetter

from engine.findings import Finding, Severity
from engine.limits import Limit, check
from engine.model import MemberRole, Person, Snapshot
from engine.personnummer import wrong_check_digits
from engine.sanitize import sanitize, tidy_findings

B, W = Severity.BLOCKING, Severity.WARNING


def check_read(
    snap: Snapshot, source_findings: Iterable[Finding], limits: Mapping[tuple[str, str], Limit]
) -> tuple[Snapshot, list[Finding]]:
    """What a run (or a source check) does with a snapshot just read: control characters out
    (:mod:`engine.sanitize`), then the rules and the targets' field ``limits`` (see
    :func:`engine.limits.strictest`); returns the cleaned snapshot and every finding, the
    source's first, their texts escaped and cut."""
    snap, cleaned = sanitize(snap)
    return snap, tidy_findings([*source_findings, *cleaned, *validate(snap, limits)])


def validate(
    snap: Snapshot, limits: Mapping[tuple[str, str], Limit] | None = None
) -> list[Finding]:
    """The snapshot's findings; ``limits`` are the strictest field limits of the run's
    targets (:func:`engine.limits.strictest`), checked when given."""
    out: list[Finding] = check(snap, limits) if limits else []
    add = out.append
    schools, persons, groups = snap.schools, snap.persons, snap.groups
    _civic_numbers(out, snap)

    for s in schools.values():
        if not s.school_unit_code:
            add(
                Finding(
                    "school.no_code",
                    W,
                    "school",
                    s.id,
                    f"school unit {_q(s.name)} has no schoolUnitCode",
                    "enter the Skolverket skolenhetskod on the unit in the source system",
                )
            )
        if s.start and s.end and s.start > s.end:
            add(
                Finding(
                    "school.dates",
                    B,
                    "school",
                    s.id,
                    f"school unit {_q(s.name)} ends ({s.end}) before it starts ({s.start})",
                    "correct the unit's start or end date",
                )
            )

    for g in groups.values():
        if g.school_id not in schools:
            add(
                Finding(
                    "group.unknown_school",
                    B,
                    "group",
                    g.id,
                    f"group {_q(g.name)} belongs to a school unit the source did not deliver "
                    f"({g.school_id})",
                    "attach the group to an active school unit, or check the unit's export",
                )
            )
        if g.start and g.end and g.start > g.end:
            add(
                Finding(
                    "group.dates",
                    B,
                    "group",
                    g.id,
                    f"group {_q(g.name)} ends ({g.end}) before it starts ({g.start})",
                    "correct the group's start or end date",
                )
            )

    _duplicates(out, snap, "eppns", "person.duplicate_eppn", "eduPersonPrincipalName")
    _duplicates(out, snap, "emails", "person.duplicate_email", "email address")

    # Who is where, now: the persons of each school.
    today = snap.as_of
    on_roll: dict[str, set[str]] = defaultdict(set)
    has_role: set[str] = set()
    for r in snap.school_roles:
        if r.start and r.end and r.start > r.end:
            add(
                Finding(
                    "school_role.dates",
                    B,
                    "person",
                    r.person_id,
                    f"a {r.role.value} role at school {r.school_id} ends before it starts",
                    "correct the enrolment's or duty's dates",
                )
            )
            continue
        if r.school_id not in schools:
            add(
                Finding(
                    "school_role.unknown_school",
                    W,
                    "person",
                    r.person_id,
                    f"an enrolment or duty points at a school unit the source did not "
                    f"deliver ({r.school_id})",
                    "check the enrolment or duty in the source system",
                )
            )
            continue
        if r.person_id not in persons:
            continue
        if (r.start is None or r.start <= today) and (r.end is None or today <= r.end):
            on_roll[r.school_id].add(r.person_id)
            has_role.add(r.person_id)

    teachers: set[str] = set()
    refused = snap.refused
    student = MemberRole.STUDENT
    known = persons.__contains__
    for run in snap.membership_runs():  # two million memberships: a group's run at a time
        gid = run.group_id
        mg = groups.get(gid)
        if mg is None:
            if gid not in refused.groups:  # a refused group's finding says it all
                for m in run.memberships:
                    _dangling(add, gid, m.person_id, "group")
            continue
        # in the usual case the run's summary shows it has nothing to report
        if run.ordered:
            current = run.current(today)
            # pupils all on the school's roll, and so all known: the roll holds known persons
            if current and not run.staff and on_roll[mg.school_id].issuperset(run.person_ids):
                continue
            if all(map(known, run.person_ids)):
                if current is False:
                    continue
                if current and not run.students:
                    teachers.add(gid)
                    continue
        # a run with something to report: membership by membership
        for _, pid, role, start, end in run.memberships:
            if pid not in persons:
                if pid not in refused.persons:
                    _dangling(add, gid, pid, "person")
                continue
            if start is not None and end is not None and start > end:
                add(
                    Finding(
                        "membership.dates",
                        B,
                        "membership",
                        f"{gid}/{pid}",
                        f"a membership of group {_q(mg.name)} ends before it starts",
                        "correct the membership's dates",
                    )
                )
                continue
            if (start is None or start <= today) and (end is None or today <= end):
                if role is not student:
                    teachers.add(gid)
                elif pid not in on_roll[mg.school_id]:
                    add(
                        Finding(
                            "membership.not_at_school",
                            W,
                            "person",
                            pid,
                            f"is a member of group {_q(mg.name)} but not enrolled at its school",
                            "add the enrolment at the group's school, or remove the membership",
                        )
                    )

    for grp in groups.values():
        if grp.id not in teachers and (grp.end is None or grp.end >= snap.as_of):
            add(
                Finding(
                    "group.no_teacher",
                    W,
                    "group",
                    grp.id,
                    f"group {_q(grp.name)} has no current teacher",
                    "assign a teacher to the group's activity in the source system",
                )
            )

    for pid in sorted(persons.keys() - has_role):  # in id order, whatever the hash seed
        add(
            Finding(
                "person.no_role",
                W,
                "person",
                pid,
                "has no current enrolment or duty, so no account is kept for them",
                "if they should have an account, add a current enrolment or duty",
            )
        )
    return out


def _q(name: str, keep: int = 60) -> str:
    """A name quoted for a message: escaped, and cut short (a source may send megabytes)."""
    return repr(name) if len(name) <= keep else repr(name[:keep]) + "..."


def _civic_numbers(out: list[Finding], snap: Snapshot) -> None:
    """A warning for each personnummer whose check digit is wrong (the number never shown)."""
    persons = snap.persons
    ids = list(persons)
    for i in wrong_check_digits(list(map(_CIVIC_NO, persons.values()))):
        out.append(
            Finding(
                "person.civic_no_check_digit",
                W,
                "person",
                ids[i],
                "the personnummer's check digit is wrong (a typing error?); identity matching "
                "on it may find no one or the wrong person",
                "correct the personnummer in the source system",
            )
        )


_CIVIC_NO: Callable[[Person], str | None] = attrgetter("civic_no")


def _dangling(add: Callable[[Finding], None], gid: str, pid: str, missing: str) -> None:
    add(
        Finding(
            "membership.dangling",
            B,
            "membership",
            f"{gid}/{pid}",
            f"a membership refers to a {missing} the source did not deliver",
            "check the group's members in the source system",
        )
    )


def _duplicates(out: list[Finding], snap: Snapshot, attr: str, code: str, what: str) -> None:
    # judged first in C (all values distinct, the usual case); owners listed only for the few
    # values that are shared
    lowered = list(
        map(str.lower, chain.from_iterable(map(attrgetter(attr), snap.persons.values())))
    )
    if len(set(lowered)) == len(lowered):
        return
    owners: dict[str, list[str]] = defaultdict(list)
    for p in snap.persons.values():
        for v in getattr(p, attr):
            owners[v.lower()].append(p.id)
    for ids in owners.values():
        if len(ids) > 1:
            for pid in ids:
                others = ", ".join(i for i in ids if i != pid)
                out.append(
                    Finding(
                        code,
                        B,
                        "person",
                        pid,
                        f"shares an {what} with {others}",
                        f"give each person a unique {what} in the source system",
                    )
                )


def blocked_ids(findings: Iterable[Finding]) -> tuple[set[str], set[str], set[str]]:
    """(schools, persons, groups) that blocking findings keep out: refused, so held as they
    were (see :meth:`engine.model.Snapshot.without`), never planned away."""
    s, p, g = set(), set(), set()
    for f in findings:
        if not f.blocking:
            continue
        if f.record_type == "school":
            s.add(f.record_id)
        elif f.record_type == "person":
            p.add(f.record_id)
        elif f.record_type == "group":
            g.add(f.record_id)
    return s, p, g
