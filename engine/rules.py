"""Data-quality rules as data: each rule is a code, a severity, the record type it speaks of,
the fix to make in the source, and a small check.

The engine's own rules (engine/validate.py) hold for every source; a source adds the rules of
its own standard as a table of its own (``Source.rules``), so a rule that only makes sense for
SS 12000 never fires on an IMS or OneRoster school. A check answers (record id, message) pairs
and never quotes a personnummer; the rule makes the findings.

Checks that need the same facts (who is on which school's roll, which groups have a teacher)
share them through :class:`Facts`, which works each out once, on first use.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

from engine.findings import Finding, Severity
from engine.model import MemberRole, Snapshot

Hits = Iterable[tuple[str, str]]
"""What a check answers: (record id, message) for each record that breaks the rule."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One data-quality rule: what it is called, how bad, of what, the fix, and the check."""

    code: str
    severity: Severity
    record_type: str  # school, person, group, membership
    fix: str
    check: Callable[[Facts], Hits]
    origin: str = ""  # the source whose standard the rule comes from; "" for the engine's

    def findings(self, facts: Facts) -> Iterator[Finding]:
        for record_id, message in self.check(facts):
            yield Finding(
                self.code,
                self.severity,
                self.record_type,
                record_id,
                message,
                self.fix,
                self.origin,
            )


def run_rules(rules: Iterable[Rule], snap: Snapshot) -> list[Finding]:
    """Every rule's findings over one snapshot, rule by rule in table order."""
    facts = Facts(snap)
    return [f for rule in rules for f in rule.findings(facts)]


@dataclass(frozen=True)
class MembershipFacts:
    """What one pass over the memberships found (two million of them in a large municipality:
    judged a group's run at a time, membership by membership only where a run has something to
    report)."""

    teachers: set[str] = field(default_factory=set)  # groups with a current teacher
    dangling: list[tuple[str, str]] = field(default_factory=list)
    dates: list[tuple[str, str]] = field(default_factory=list)
    not_at_school: list[tuple[str, str]] = field(default_factory=list)


class Facts:
    """A snapshot and what several rules need to know of it, each worked out once."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap

    @cached_property
    def roll(
        self,
    ) -> tuple[dict[str, set[str]], set[str], list[tuple[str, str]], list[tuple[str, str]]]:
        """(persons on each school's roll today, persons with a current role, and as (person,
        message): school roles whose dates are reversed, roles at schools the source did not
        deliver)."""
        snap, today = self.snap, self.snap.as_of
        schools, persons = snap.schools, snap.persons
        on_roll: dict[str, set[str]] = defaultdict(set)
        has_role: set[str] = set()
        reversed_dates: list[tuple[str, str]] = []
        unknown: list[tuple[str, str]] = []
        for r in snap.school_roles:
            if r.start and r.end and r.start > r.end:
                reversed_dates.append(
                    (
                        r.person_id,
                        f"a {r.role.value} role at school {r.school_id} ends before it starts",
                    )
                )
                continue
            if r.school_id not in schools:
                unknown.append(
                    (
                        r.person_id,
                        "an enrolment or duty points at a school unit the source did not "
                        f"deliver ({r.school_id})",
                    )
                )
                continue
            if r.person_id not in persons:
                continue
            if (r.start is None or r.start <= today) and (r.end is None or today <= r.end):
                on_roll[r.school_id].add(r.person_id)
                has_role.add(r.person_id)
        return on_roll, has_role, reversed_dates, unknown

    @cached_property
    def memberships(self) -> MembershipFacts:
        snap = self.snap
        persons, groups, refused, today = snap.persons, snap.groups, snap.refused, snap.as_of
        on_roll = self.roll[0]
        out = MembershipFacts()
        student = MemberRole.STUDENT
        known = persons.__contains__
        for run in snap.membership_runs():
            gid = run.group_id
            mg = groups.get(gid)
            if mg is None:
                if gid not in refused.groups:  # a refused group's finding says it all
                    for m in run.memberships:
                        out.dangling.append((f"{gid}/{m.person_id}", "group"))
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
                        out.teachers.add(gid)
                        continue
            # a run with something to report: membership by membership
            for _, pid, role, start, end in run.memberships:
                if pid not in persons:
                    if pid not in refused.persons:
                        out.dangling.append((f"{gid}/{pid}", "person"))
                    continue
                if start is not None and end is not None and start > end:
                    out.dates.append(
                        (
                            f"{gid}/{pid}",
                            f"a membership of group {quoted(mg.name)} ends before it starts",
                        )
                    )
                    continue
                if (start is None or start <= today) and (end is None or today <= end):
                    if role is not student:
                        out.teachers.add(gid)
                    elif pid not in on_roll[mg.school_id]:
                        out.not_at_school.append(
                            (
                                pid,
                                f"is a member of group {quoted(mg.name)} but not enrolled at its "
                                "school",
                            )
                        )
        return out


def quoted(name: str, keep: int = 60) -> str:
    """A name quoted for a message: escaped, and cut short (a source may send megabytes)."""
    return repr(name) if len(name) <= keep else repr(name[:keep]) + "..."
