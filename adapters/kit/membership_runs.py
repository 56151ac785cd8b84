"""A source's memberships gathered by group and handed to the snapshot as runs.

A large municipality has some two million memberships, and most are the pupils of a class
with one role and one span. Gathered as columns (no tuple per membership) and handed over as
:class:`engine.model.MembershipRun`, such a class is kept as its person ids alone, so the
read neither makes nor sorts two million tuples (see :meth:`engine.model.Snapshot.of_runs`).
"""

from __future__ import annotations

from collections.abc import Container, Iterator
from datetime import date
from itertools import compress, repeat
from operator import eq, is_

from engine import model

Day = date | None
_Columns = tuple[list[str], list[model.MemberRole], list[Day], list[Day]]


class GroupLinks:
    """The memberships a source found, by group, in the order it found them."""

    def __init__(self) -> None:
        self._groups: dict[str, _Columns] = {}

    def add(self, gid: str, pid: str, role: model.MemberRole, begin: Day, end: Day) -> None:
        cols = self.of(gid)
        cols[0].append(pid)
        cols[1].append(role)
        cols[2].append(begin)
        cols[3].append(end)

    def of(self, gid: str) -> _Columns:
        """The group's columns (person ids, roles, begins, ends), to append to directly: a
        reader whose rows come group by group keeps them while the group lasts."""
        cols = self._groups.get(gid)
        if cols is None:
            cols = self._groups[gid] = ([], [], [], [])
        return cols

    def __len__(self) -> int:
        return sum(len(cols[0]) for cols in self._groups.values())

    def runs(
        self, persons: Container[str] | None, groups: Container[str] | None = None
    ) -> Iterator[model.MembershipRun]:
        """The memberships of the persons (and groups, when given) kept, in group id order;
        ``persons`` None when the source knows every person it linked is kept (one look-up
        per membership saved: two million at large size).

        A group's memberships come as one run for each role and span shared by several (a
        class's pupils), ordered by person, then one run of the rest (its teachers, say),
        ordered by person and role. Handed over once: the links are empty afterwards."""
        found, self._groups = self._groups, {}
        known = persons.__contains__ if persons is not None else None
        uniform, of = model.MembershipRun.uniform, model.MembershipRun.of
        membership = model.Membership
        for gid in sorted(found):
            pids, roles, begins, ends = found.pop(gid)
            if groups is not None and gid not in groups:
                continue
            if known is not None and not all(map(known, pids)):  # refused after linking
                keep = list(map(known, pids))
                pids, roles = list(compress(pids, keep)), list(compress(roles, keep))
                begins, ends = list(compress(begins, keep)), list(compress(ends, keep))
                if not pids:
                    continue
            parts = _by_span(pids, roles, begins, ends)
            if len(parts) == 1:  # the usual class without its teachers: its pupils alone
                (role, begin, end), ids = parts[0]
                yield uniform(gid, tuple(sorted(ids)), role, begin, end)
                continue
            rest: list[model.Membership] = []
            for (role, begin, end), ids in parts:
                if len(ids) > 1:
                    yield uniform(gid, tuple(sorted(ids)), role, begin, end)
                else:
                    rest.append(membership(gid, ids[0], role, begin, end))
            if rest:
                rest.sort(key=_person_then_role)
                yield of(gid, tuple(rest))


Span = tuple[model.MemberRole, Day, Day]


def _by_span(
    pids: list[str], roles: list[model.MemberRole], begins: list[Day], ends: list[Day]
) -> list[tuple[Span, list[str]]]:
    """The person ids of each distinct (role, begin, end), in order of first appearance.
    A group's memberships mostly share one span and differ in role only (pupils and their
    teacher): that case is sorted out by C-level passes over the columns."""
    n = len(pids)
    begin, end = begins[0], ends[0]
    if begins.count(begin) == n and ends.count(end) == n:
        if roles.count(roles[0]) == n:
            return [((roles[0], begin, end), pids)]
        return [
            ((role, begin, end), list(compress(pids, map(is_, roles, repeat(role)))))
            for role in dict.fromkeys(roles)
        ]
    spans = list(zip(roles, begins, ends, strict=True))
    return [
        (span, list(compress(pids, map(eq, spans, repeat(span))))) for span in dict.fromkeys(spans)
    ]


def _person_then_role(m: model.Membership) -> tuple[str, str]:
    return (m.person_id, m.role.value)
