"""The engine's data-quality rules, which hold for every snapshot whatever its source.

They are a table (:data:`RULES`) of small checks, each with its code, severity and fix text
(:class:`engine.rules.Rule`); a source adds the rules of its own standard (``Source.rules``).
Each finding names the record by its source id (never by personnummer) and says what to fix in
the source system. A blocking finding keeps its record out of the run as *refused*, held as it
was; it never stops the run. Sources add their own findings for malformed input.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import chain
from operator import attrgetter

from engine.findings import Finding, Severity
from engine.limits import Limit, check
from engine.model import Person, Snapshot
from engine.personnummer import wrong_check_digits
from engine.rules import Facts, Hits, Rule, quoted, run_rules
from engine.sanitize import sanitize, tidy_findings

B, W = Severity.BLOCKING, Severity.WARNING


def check_read(
    snap: Snapshot,
    source_findings: Iterable[Finding],
    limits: Mapping[tuple[str, str], Limit],
    rules: Sequence[Rule] = (),
) -> tuple[Snapshot, list[Finding]]:
    """What a run (or a source check) does with a snapshot just read: control characters out
    (:mod:`engine.sanitize`), then the engine's rules, the source's ``rules`` and the targets'
    field ``limits`` (see :func:`engine.limits.strictest`); returns the cleaned snapshot and
    every finding, the source's first, their texts escaped and cut."""
    snap, cleaned = sanitize(snap)
    return snap, tidy_findings([*source_findings, *cleaned, *validate(snap, limits, rules)])


def validate(
    snap: Snapshot,
    limits: Mapping[tuple[str, str], Limit] | None = None,
    rules: Sequence[Rule] = (),
) -> list[Finding]:
    """The snapshot's findings: the targets' field ``limits`` when given, the engine's
    :data:`RULES`, then the source's own ``rules``."""
    out: list[Finding] = check(snap, limits) if limits else []
    out += run_rules((*RULES, *rules), snap)
    return out


# the checks, one per rule -------------------------------------------------------------------


def _civic_no_check_digit(facts: Facts) -> Hits:
    persons = facts.snap.persons
    ids = list(persons)
    for i in wrong_check_digits(list(map(_CIVIC_NO, persons.values()))):
        yield (
            ids[i],
            "the personnummer's check digit is wrong (a typing error?); identity matching on it "
            "may find no one or the wrong person",
        )


_CIVIC_NO: Callable[[Person], str | None] = attrgetter("civic_no")


def _school_dates(facts: Facts) -> Hits:
    for s in facts.snap.schools.values():
        if s.start and s.end and s.start > s.end:
            yield s.id, f"school unit {quoted(s.name)} ends ({s.end}) before it starts ({s.start})"


def _group_unknown_school(facts: Facts) -> Hits:
    schools = facts.snap.schools
    for g in facts.snap.groups.values():
        if g.school_id not in schools:
            yield (
                g.id,
                f"group {quoted(g.name)} belongs to a school unit the source did not deliver "
                f"({g.school_id})",
            )


def _group_dates(facts: Facts) -> Hits:
    for g in facts.snap.groups.values():
        if g.start and g.end and g.start > g.end:
            yield g.id, f"group {quoted(g.name)} ends ({g.end}) before it starts ({g.start})"


def _shared(attr: str, what: str) -> Callable[[Facts], Hits]:
    def shared(facts: Facts) -> Hits:
        # judged first in C (all values distinct, the usual case); owners listed only for the
        # few values that are shared
        persons = facts.snap.persons
        lowered = list(map(str.lower, chain.from_iterable(map(attrgetter(attr), persons.values()))))
        if len(set(lowered)) == len(lowered):
            return
        owners: dict[str, list[str]] = defaultdict(list)
        for p in persons.values():
            for v in getattr(p, attr):
                owners[v.lower()].append(p.id)
        for ids in owners.values():
            if len(ids) > 1:
                for pid in ids:
                    others = ", ".join(i for i in ids if i != pid)
                    yield pid, f"shares an {what} with {others}"

    return shared


def _role_dates(facts: Facts) -> Hits:
    return facts.roll[2]


def _role_unknown_school(facts: Facts) -> Hits:
    return facts.roll[3]


def _dangling(facts: Facts) -> Hits:
    for key, missing in facts.memberships.dangling:
        yield key, f"a membership refers to a {missing} the source did not deliver"


def _membership_dates(facts: Facts) -> Hits:
    return facts.memberships.dates


def _not_at_school(facts: Facts) -> Hits:
    return facts.memberships.not_at_school


def _no_teacher(facts: Facts) -> Hits:
    teachers, today = facts.memberships.teachers, facts.snap.as_of
    for g in facts.snap.groups.values():
        if g.id not in teachers and (g.end is None or g.end >= today):
            yield g.id, f"group {quoted(g.name)} has no current teacher"


def _no_role(facts: Facts) -> Hits:
    has_role = facts.roll[1]
    for pid in sorted(facts.snap.persons.keys() - has_role):  # in id order, whatever the seed
        yield pid, "has no current enrolment or duty, so no account is kept for them"


RULES: tuple[Rule, ...] = (
    Rule(
        "person.civic_no_check_digit",
        W,
        "person",
        "correct the personnummer in the source system",
        _civic_no_check_digit,
    ),
    Rule("school.dates", B, "school", "correct the unit's start or end date", _school_dates),
    Rule(
        "group.unknown_school",
        B,
        "group",
        "attach the group to an active school unit, or check the unit's export",
        _group_unknown_school,
    ),
    Rule("group.dates", B, "group", "correct the group's start or end date", _group_dates),
    Rule(
        "person.duplicate_eppn",
        B,
        "person",
        "give each person a unique eduPersonPrincipalName in the source system",
        _shared("eppns", "eduPersonPrincipalName"),
    ),
    Rule(
        "person.duplicate_email",
        B,
        "person",
        "give each person a unique email address in the source system",
        _shared("emails", "email address"),
    ),
    Rule("school_role.dates", B, "person", "correct the enrolment's or duty's dates", _role_dates),
    Rule(
        "school_role.unknown_school",
        W,
        "person",
        "check the enrolment or duty in the source system",
        _role_unknown_school,
    ),
    Rule(
        "membership.dangling",
        B,
        "membership",
        "check the group's members in the source system",
        _dangling,
    ),
    Rule(
        "membership.dates",
        B,
        "membership",
        "correct the membership's dates",
        _membership_dates,
    ),
    Rule(
        "membership.not_at_school",
        W,
        "person",
        "add the enrolment at the group's school, or remove the membership",
        _not_at_school,
    ),
    Rule(
        "group.no_teacher",
        W,
        "group",
        "assign a teacher to the group's activity in the source system",
        _no_teacher,
    ),
    Rule(
        "person.no_role",
        W,
        "person",
        "if they should have an account, add a current enrolment or duty",
        _no_role,
    ),
)
"""The engine's rules, in the order their findings are listed."""


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
