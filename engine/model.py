"""The canonical model every source maps into and every target maps from.

Records are frozen, slotted dataclasses keyed by the source's stable ids (SS 12000 UUIDs), small
enough that the large municipality (about two million memberships) fits comfortably in memory.
School, Person and Group carry a content fingerprint computed once; Membership and SchoolRole are
small enough that their content is their fingerprint, and numerous enough to be NamedTuples.

A personnummer (``Person.civic_no``) is held for identity matching only: it is left out of
``repr`` and of every fingerprint, and no code outside identity matching may read it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from itertools import chain, groupby
from operator import itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple


class GroupType(StrEnum):
    """SS 12000:2020 group types (Group.groupType)."""

    KLASS = "Klass"
    UNDERVISNING = "Undervisning"
    MENTOR = "Mentor"
    PROVGRUPP = "Provgrupp"
    SCHEMA = "Schema"
    AVDELNING = "Avdelning"
    PERSONALGRUPP = "Personalgrupp"
    OVRIGT = "Övrigt"


class MemberRole(StrEnum):
    """A person's role in a group."""

    STUDENT = "student"
    TEACHER = "teacher"
    MENTOR = "mentor"


class SchoolRoleType(StrEnum):
    """A person's role at a school unit."""

    STUDENT = "student"
    TEACHER = "teacher"
    STAFF = "staff"


class Protection(StrEnum):
    """Protected identity as the source marks it (SS 12000 securityMarking)."""

    NONE = "Ingen"
    CONFIDENTIAL = "Sekretessmarkering"
    PROTECTED_REGISTRATION = "Skyddad folkbokföring"


def fingerprint(*parts: object) -> str:
    """A stable 16-hex-digit content hash (blake2b), the same in every process."""
    h = hashlib.blake2b(digest_size=8)
    h.update("\x1f".join("" if p is None else str(p) for p in parts).encode())
    return h.hexdigest()


def is_current(start: date | None, end: date | None, today: date) -> bool:
    """True when ``today`` lies within [start, end]; open ends are unbounded."""
    return (start is None or start <= today) and (end is None or today <= end)


@dataclass(frozen=True, slots=True)
class School:
    """A school unit (SS 12000 Organisation of type Skolenhet)."""

    id: str
    name: str
    school_unit_code: str | None
    parent_id: str | None = None
    school_types: tuple[str, ...] = ()
    municipality_code: str | None = None
    start: date | None = None
    end: date | None = None
    _fingerprint: str = field(default="", init=False, repr=False, compare=False)

    @property
    def fingerprint(self) -> str:
        """The content hash, made on first use (most records of a read never need it)."""
        if not self._fingerprint:
            object.__setattr__(
                self,
                "_fingerprint",
                fingerprint(
                    self.name,
                    self.school_unit_code,
                    self.parent_id,
                    ",".join(self.school_types),
                    self.municipality_code,
                    self.start,
                    self.end,
                ),
            )
        return self._fingerprint


@dataclass(frozen=True, slots=True)
class Person:
    """A pupil or a member of staff; which one follows from their school roles."""

    id: str
    given_name: str
    family_name: str
    emails: tuple[str, ...] = ()
    eppns: tuple[str, ...] = ()
    civic_no: str | None = field(default=None, repr=False)
    protection: Protection = Protection.NONE
    middle_name: str | None = None
    external_ids: tuple[tuple[str, str], ...] = ()  # (context, value); never a personnummer
    _fingerprint: str = field(default="", init=False, repr=False, compare=False)

    @property
    def fingerprint(self) -> str:
        """The content hash, made on first use (most records of a read never need it)."""
        if not self._fingerprint:
            object.__setattr__(
                self,
                "_fingerprint",
                fingerprint(
                    self.given_name,
                    self.middle_name,
                    self.family_name,
                    ",".join(self.emails),
                    ",".join(self.eppns),
                    self.protection.value,
                    ",".join(f"{c}={v}" for c, v in self.external_ids),
                ),
            )
        return self._fingerprint

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def is_protected(self) -> bool:
        return self.protection is not Protection.NONE


# Person's slots, set straight through their descriptors by make_person
(_id, _given, _family, _emails, _eppns, _civic, _protection, _middle, _external, _fp) = (
    Person.__dict__[name].__set__ for name in Person.__slots__
)
_new_object = object.__new__


def make_person(
    id: str,
    given_name: str,
    family_name: str,
    emails: tuple[str, ...],
    eppns: tuple[str, ...],
    civic_no: str | None,
    protection: Protection,
    middle_name: str | None,
    external_ids: tuple[tuple[str, str], ...],
) -> Person:
    """``Person(...)`` with every field given, made twice as quickly, for a source that reads a
    whole municipality: a frozen dataclass's ``__init__`` sets each field through
    ``object.__setattr__``, this sets the slots straight through their descriptors."""
    p = _new_object(Person)
    _id(p, id)
    _given(p, given_name)
    _family(p, family_name)
    _emails(p, emails)
    _eppns(p, eppns)
    _civic(p, civic_no)
    _protection(p, protection)
    _middle(p, middle_name)
    _external(p, external_ids)
    _fp(p, "")
    return p


@dataclass(frozen=True, slots=True)
class Group:
    """A class (Klass), teaching group (Undervisning) or any other SS 12000 group."""

    id: str
    name: str
    group_type: GroupType
    school_id: str
    school_type: str | None = None
    start: date | None = None
    end: date | None = None
    subject: str | None = None  # subject or course code, for naming
    _fingerprint: str = field(default="", init=False, repr=False, compare=False)

    @property
    def fingerprint(self) -> str:
        """The content hash, made on first use (most records of a read never need it)."""
        if not self._fingerprint:
            object.__setattr__(
                self,
                "_fingerprint",
                fingerprint(
                    self.name,
                    self.group_type.value,
                    self.school_id,
                    self.school_type,
                    self.start,
                    self.end,
                    self.subject,
                ),
            )
        return self._fingerprint


# Group's slots, set straight through their descriptors by make_group
(_gid, _gname, _gtype, _gschool, _gstype, _gstart, _gend, _gsubject, _gfp) = (
    Group.__dict__[name].__set__ for name in Group.__slots__
)


def make_group(
    id: str,
    name: str,
    group_type: GroupType,
    school_id: str,
    school_type: str | None,
    start: date | None,
    end: date | None,
    subject: str | None,
) -> Group:
    """``Group(...)`` with every field given, made as :func:`make_person` makes a person."""
    g = _new_object(Group)
    _gid(g, id)
    _gname(g, name)
    _gtype(g, group_type)
    _gschool(g, school_id)
    _gstype(g, school_type)
    _gstart(g, start)
    _gend(g, end)
    _gsubject(g, subject)
    _gfp(g, "")
    return g


class Membership(NamedTuple):
    """A person in a group as student, teacher or mentor, with dates.

    Immutable like the other records, but a NamedTuple: a large municipality has about two
    million of these, and a tuple is several times quicker to make than a frozen dataclass
    (whose ``__init__`` sets each field through ``object.__setattr__``).
    """

    group_id: str
    person_id: str
    role: MemberRole
    start: date | None = None
    end: date | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.group_id, self.person_id, self.role.value)

    @property
    def fingerprint(self) -> str:
        return f"{self.start or ''}|{self.end or ''}"


class SchoolRole(NamedTuple):
    """A person at a school unit as student, teacher or other staff, with dates (a NamedTuple
    for the same reason as :class:`Membership`)."""

    school_id: str
    person_id: str
    role: SchoolRoleType
    start: date | None = None
    end: date | None = None
    school_year: int | None = None  # årskurs, for pupils
    title: str | None = None  # duty role, for staff (e.g. "Lärare", "Rektor")

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.school_id, self.person_id, self.role.value)

    @property
    def fingerprint(self) -> str:
        return f"{self.start or ''}|{self.end or ''}|{self.school_year or ''}|{self.title or ''}"


class MembershipRun(NamedTuple):
    """Memberships of one group that stand together in :attr:`Snapshot.memberships`, summed up
    so that a long run can be judged whole (see :meth:`Snapshot.membership_runs`).

    The summary comes from the run's distinct roles and dates, found in a few C-level passes:
    where it is sure (every membership current, none current, none ending before it starts)
    the run's memberships need no look one by one.

    A uniform run (one role, one start, one end: a class as a source usually lists it) is kept
    as its person ids alone, and its :attr:`memberships` are made when asked for: validation
    and a target's desired state take such a run whole from its summary, so a large
    municipality's two million membership tuples are mostly never made.
    """

    group_id: str
    person_ids: tuple[str, ...]  # in the memberships' order, repeats kept
    students: bool  # a student membership is among them
    staff: bool  # a teacher's or mentor's is
    first_start: date | None  # None when some membership has no start
    last_start: date | None  # the latest start given (None when none is)
    first_end: date | None  # the earliest end given (None when none is)
    last_end: date | None  # None when some membership has no end
    listed: tuple[Membership, ...] | None  # None: made from the ids and ``role`` (uniform)
    role: MemberRole | None  # the role of every membership of a uniform run

    @classmethod
    def uniform(
        cls,
        group_id: str,
        person_ids: tuple[str, ...],
        role: MemberRole,
        start: date | None,
        end: date | None,
    ) -> MembershipRun:
        """The run of ``person_ids`` (at least one) in ``group_id``, all in ``role`` from
        ``start`` to ``end``, without making their memberships."""
        students = role is MemberRole.STUDENT
        return cls(group_id, person_ids, students, not students, start, start, end, end, None, role)

    @classmethod
    def of(cls, group_id: str, memberships: tuple[Membership, ...]) -> MembershipRun:
        """The run of these memberships (all of ``group_id``; at least one)."""
        student = MemberRole.STUDENT
        if len(memberships) == 1:  # a teacher or mentor on their own, as they often are
            _, pid, role, start, end = memberships[0]
            students = role is student
            return cls(
                group_id, (pid,), students, not students, start, start, end, end, memberships, role
            )
        _, pids, roles, starts, ends = zip(*memberships, strict=True)  # one pass, in C
        n, role, start, end = len(pids), roles[0], starts[0], ends[0]
        if roles.count(role) == starts.count(start) == ends.count(end) == n:  # the usual case
            students = role is student
            return cls(
                group_id, pids, students, not students, start, start, end, end, memberships, role
            )
        role_set, start_set, end_set = set(roles), set(starts), set(ends)
        open_start, open_end = None in start_set, None in end_set
        start_set.discard(None)
        end_set.discard(None)
        return cls(
            group_id,
            pids,
            any(r is student for r in role_set),
            any(r is not student for r in role_set),
            None if open_start else min(start_set),
            max(start_set, default=None),
            min(end_set, default=None),
            None if open_end else max(end_set),
            memberships,
            None,
        )

    @property
    def memberships(self) -> tuple[Membership, ...]:
        """The run's memberships, in order (made afresh each time for a uniform run)."""
        listed = self.listed
        if listed is not None:
            return listed
        gid, role, start, end = self.group_id, self.role, self.first_start, self.first_end
        assert role is not None
        return tuple(Membership(gid, pid, role, start, end) for pid in self.person_ids)

    @property
    def ordered(self) -> bool:
        """True when no membership of the run ends before it starts (False: some may)."""
        last_start, first_end = self.last_start, self.first_end
        return last_start is None or first_end is None or last_start <= first_end

    def current(self, today: date) -> bool | None:
        """True when every membership of the run is current on ``today``, False when none is,
        None when that takes a look at each."""
        if (self.last_start is None or self.last_start <= today) and (
            self.first_end is None or today <= self.first_end
        ):
            return True
        if (self.first_start is not None and self.first_start > today) or (
            self.last_end is not None and self.last_end < today
        ):
            return False
        return None


_GROUP_ID = itemgetter(0)


@dataclass(frozen=True, slots=True)
class Refused:
    """Records the source still lists but ESS refused (a field it cannot use, a reference it
    cannot resolve), or that rest on one: they are *unknown*, not *gone*.

    Nothing is planned that removes them (no suspension, archive or deletion, no link removal
    where they are parent or child) and nothing updates them from the refused data: their
    last good state stays until the source delivers a copy ESS can take.
    """

    schools: frozenset[str] = frozenset()
    persons: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.schools or self.persons or self.groups)

    def of(self, record_type: str) -> frozenset[str]:
        """The refused ids of one record type (``school``, ``person`` or ``group``)."""
        if record_type == "person":
            return self.persons
        if record_type == "group":
            return self.groups
        if record_type == "school":
            return self.schools
        return frozenset()

    def with_ids(
        self,
        *,
        schools: Iterable[str] = (),
        persons: Iterable[str] = (),
        groups: Iterable[str] = (),
    ) -> Refused:
        """These refused ids and the given ones together."""
        return Refused(
            self.schools.union(schools), self.persons.union(persons), self.groups.union(groups)
        )

    def counts(self) -> str:
        return f"{len(self.schools)} school(s), {len(self.persons)} person(s), " + (
            f"{len(self.groups)} group(s)"
        )


NOTHING_REFUSED = Refused()


@dataclass(frozen=True, slots=True, repr=False)
class Snapshot:
    """Everything a source says at one moment, keyed by the source's ids.

    ``as_of`` is the day against which memberships and roles are judged current. Its repr
    gives counts only: a whole municipality's names have no place in a log line or a
    traceback (and a full repr of two million records takes minutes).

    A snapshot made by :meth:`of_runs` joins its ``memberships`` from the runs on first use:
    the plan itself reads the runs, and most of them keep no membership tuples to join.

    ``refused`` names the records the source lists but that are not here (or not whole):
    refused by the source's mapping or by validation (see :class:`Refused`).
    """

    schools: Mapping[str, School]
    persons: Mapping[str, Person]
    groups: Mapping[str, Group]
    memberships: tuple[Membership, ...]
    school_roles: tuple[SchoolRole, ...]
    as_of: date
    source: str = ""
    refused: Refused = NOTHING_REFUSED
    _runs: tuple[MembershipRun, ...] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={v}" for k, v in self.counts().items())
        return f"Snapshot({self.source or 'source'} as of {self.as_of}: {counts})"

    if not TYPE_CHECKING:  # to the type checker ``memberships`` is a plain field

        def __getattr__(self, name: str) -> Any:
            """``memberships`` of a snapshot made by :meth:`of_runs`, joined on first use."""
            runs = self._runs
            if name != "memberships" or runs is None:
                raise AttributeError(name)
            memberships = tuple(chain.from_iterable(r.memberships for r in runs))
            object.__setattr__(self, "memberships", memberships)
            return memberships

    def counts(self) -> dict[str, int]:
        runs = self._runs
        return {
            "schools": len(self.schools),
            "persons": len(self.persons),
            "groups": len(self.groups),
            "memberships": (
                len(self.memberships) if runs is None else sum(len(r.person_ids) for r in runs)
            ),
            "school_roles": len(self.school_roles),
        }

    def current_memberships(self) -> Iterator[Membership]:
        today = self.as_of
        for m in self.memberships:
            if is_current(m.start, m.end, today):
                yield m

    @classmethod
    def of_runs(
        cls,
        schools: Mapping[str, School],
        persons: Mapping[str, Person],
        groups: Mapping[str, Group],
        runs: Iterable[MembershipRun],
        school_roles: tuple[SchoolRole, ...],
        as_of: date,
        source: str = "",
        refused: Refused = NOTHING_REFUSED,
    ) -> Snapshot:
        """A snapshot whose memberships are those of ``runs``, in order; the runs are kept as
        its :meth:`membership_runs` (for a source that has its memberships by group anyway),
        and ``memberships`` is joined from them when first asked for."""
        snap = cls(schools, persons, groups, (), school_roles, as_of, source, refused)
        object.__delattr__(snap, "memberships")  # left unset: see __getattr__
        object.__setattr__(snap, "_runs", tuple(runs))
        return snap

    def membership_runs(self) -> tuple[MembershipRun, ...]:
        """``memberships`` as runs of one group id each, in order.

        A source lists a group's memberships together, so most of a group's memberships form
        one long run (teachers and mentors may stand apart in short runs of their own). Code
        that judges memberships a group at a time (validation, a target's desired state) takes
        a long run whole from its summary instead of one Python step per membership. Made on
        first use and kept (or handed over by :meth:`of_runs`).
        """
        runs = self._runs
        if runs is None:
            of = MembershipRun.of
            runs = tuple(of(gid, tuple(ms)) for gid, ms in groupby(self.memberships, _GROUP_ID))
            object.__setattr__(self, "_runs", runs)
        return runs

    def current_school_roles(self) -> Iterator[SchoolRole]:
        today = self.as_of
        for r in self.school_roles:
            if is_current(r.start, r.end, today):
                yield r

    def without(
        self,
        *,
        schools: Iterable[str] = (),
        persons: Iterable[str] = (),
        groups: Iterable[str] = (),
    ) -> Snapshot:
        """A copy with the named records (and everything that hangs on them) left out, as if
        the source no longer had them (validation uses :meth:`refusing` instead)."""
        drop_s, drop_p, drop_g = set(schools), set(persons), set(groups)
        if not (drop_s or drop_p or drop_g):
            return self
        return self._left_out(drop_s, drop_p, drop_g, self.refused)

    def refusing(
        self,
        *,
        schools: Iterable[str] = (),
        persons: Iterable[str] = (),
        groups: Iterable[str] = (),
    ) -> Snapshot:
        """:meth:`without` these records, which the source lists but ESS refused: they are
        unknown, not gone. The copy's ``refused`` names them, the groups of a refused school
        and the persons who lose a school role with it (they stay, with their other roles), so
        that nothing removes any of them while the source's data is unusable."""
        drop_s, drop_p, drop_g = set(schools), set(persons), set(groups)
        if not (drop_s or drop_p or drop_g):
            return self
        held_p = set(drop_p)
        if drop_s:
            drop_g.update(k for k, g in self.groups.items() if g.school_id in drop_s)
            held_p.update(r.person_id for r in self.school_roles if r.school_id in drop_s)
        refused = self.refused.with_ids(schools=drop_s, persons=held_p, groups=drop_g)
        return self._left_out(drop_s, drop_p, drop_g, refused)

    def _left_out(
        self, drop_s: set[str], drop_p: set[str], drop_g: set[str], refused: Refused
    ) -> Snapshot:
        kept_groups = {
            k: g for k, g in self.groups.items() if k not in drop_g and g.school_id not in drop_s
        }
        kept_schools = {k: s for k, s in self.schools.items() if k not in drop_s}
        kept_persons = {k: p for k, p in self.persons.items() if k not in drop_p}
        known = kept_persons.__contains__
        runs: list[MembershipRun] = []
        for run in self.membership_runs():  # a run whole when all its persons stay
            if run.group_id not in kept_groups:
                continue
            if all(map(known, run.person_ids)):
                runs.append(run)
                continue
            kept = tuple(m for m in run.memberships if m.person_id in kept_persons)
            if kept:
                runs.append(MembershipRun.of(run.group_id, kept))
        return Snapshot.of_runs(
            kept_schools,
            kept_persons,
            kept_groups,
            runs,
            tuple(
                r
                for r in self.school_roles
                if r.school_id in kept_schools and r.person_id in kept_persons
            ),
            self.as_of,
            self.source,
            refused,
        )


def empty_snapshot(as_of: date, source: str = "") -> Snapshot:
    return Snapshot({}, {}, {}, (), (), as_of=as_of, source=source)


def freeze(value: Any) -> Any:
    """Turn dicts and lists into hashable tuples, for attribute maps inside frozen records."""
    if isinstance(value, Mapping):
        return tuple(sorted((k, freeze(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value
