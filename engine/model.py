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
from typing import Any, NamedTuple


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


@dataclass(frozen=True, slots=True, repr=False)
class Snapshot:
    """Everything a source says at one moment, keyed by the source's ids.

    ``as_of`` is the day against which memberships and roles are judged current. Its repr
    gives counts only: a whole municipality's names have no place in a log line or a
    traceback (and a full repr of two million records takes minutes).
    """

    schools: Mapping[str, School]
    persons: Mapping[str, Person]
    groups: Mapping[str, Group]
    memberships: tuple[Membership, ...]
    school_roles: tuple[SchoolRole, ...]
    as_of: date
    source: str = ""

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={v}" for k, v in self.counts().items())
        return f"Snapshot({self.source or 'source'} as of {self.as_of}: {counts})"

    def counts(self) -> dict[str, int]:
        return {
            "schools": len(self.schools),
            "persons": len(self.persons),
            "groups": len(self.groups),
            "memberships": len(self.memberships),
            "school_roles": len(self.school_roles),
        }

    def current_memberships(self) -> Iterator[Membership]:
        today = self.as_of
        for m in self.memberships:
            if is_current(m.start, m.end, today):
                yield m

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
        """A copy with the named records (and everything that hangs on them) left out.

        Validation uses this to keep blocked records out of the desired state.
        """
        drop_s, drop_p, drop_g = set(schools), set(persons), set(groups)
        if not (drop_s or drop_p or drop_g):
            return self
        kept_groups = {
            k: g for k, g in self.groups.items() if k not in drop_g and g.school_id not in drop_s
        }
        kept_schools = {k: s for k, s in self.schools.items() if k not in drop_s}
        kept_persons = {k: p for k, p in self.persons.items() if k not in drop_p}
        return Snapshot(
            schools=kept_schools,
            persons=kept_persons,
            groups=kept_groups,
            memberships=tuple(
                m
                for m in self.memberships
                if m.group_id in kept_groups and m.person_id in kept_persons
            ),
            school_roles=tuple(
                r
                for r in self.school_roles
                if r.school_id in kept_schools and r.person_id in kept_persons
            ),
            as_of=self.as_of,
            source=self.source,
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
