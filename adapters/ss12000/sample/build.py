"""Constructors for SS 12000 objects, shared by the generator and by ``advance``.

A :class:`Builder` owns the random stream, the id factory and the "now" of one run, and appends
what it makes to its lists. Reference dicts (``{"id": ...}``) are cached and shared between
objects to keep the large municipality small in memory.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from adapters.ss12000.sample.people import Identity, People
from adapters.ss12000.sample.schoolyear import stamp

Obj = dict[str, Any]

_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}

GR_YEARS: dict[str, tuple[int, ...]] = {
    "F-9": tuple(range(10)),
    "F-6": tuple(range(7)),
    "7-9": (7, 8, 9),
}
GY_YEARS = (1, 2, 3)
TEACHING_ROLES = ("Lärare", "Förstelärare")


def new_id(rng: random.Random) -> str:
    """A version-4 UUID string drawn from ``rng`` (deterministic for a seeded stream)."""
    h = rng.randbytes(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


@contextmanager
def bulk() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of acyclic dicts.

    The objects made here hold no cycles, and repeated full collections over a growing heap
    cost a large municipality a good share of its build time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def school_type(kind: str, year: int) -> str:
    """The SS 12000 school type of a school year at a unit of kind GR or GY."""
    if kind == "GY":
        return "GY"
    return "FKLASS" if year == 0 else "GR"


def klass_name(kind: str, year: int, letter: str, programme: str | None = None) -> str:
    """``7B``, ``FA`` (förskoleklass) or ``NA2A`` (gymnasium programme, year, letter)."""
    if kind == "GY":
        return f"{programme or 'GY'}{year}{letter}"
    return f"F{letter}" if year == 0 else f"{year}{letter}"


def birth_year(school_year: int, kind: str, year: int) -> int:
    """Children start förskoleklass the autumn they turn six and gymnasium the year they turn 16."""
    return school_year - (15 if kind == "GY" else 6) - year


@dataclass(slots=True)
class Unit:
    """A school unit (Skolenhet) as the builders see it."""

    id: str
    name: str
    kind: str  # "GR" or "GY"
    years: tuple[int, ...]
    programmes: tuple[tuple[str, str], ...] = ()  # GY: (prefix, educationCode)


@dataclass(slots=True)
class ClassPlan:
    """One Klass about to be made: its letter, pupils and (in gymnasium) programme."""

    letter: str
    pupils: list[str]
    programme: tuple[str, str] | None = None


@dataclass
class Builder:
    """Makes new SS 12000 objects stamped with one moment and appends them to its lists."""

    rng: random.Random
    as_of: date
    domain: str
    persons: list[Obj] = field(default_factory=list)
    duties: list[Obj] = field(default_factory=list)
    groups: list[Obj] = field(default_factory=list)
    activities: list[Obj] = field(default_factory=list)
    people: People = field(init=False)
    _refs: dict[str, Obj] = field(default_factory=dict, init=False)
    _stamp: str = field(init=False)

    def __post_init__(self) -> None:
        self.people = People(self.rng, self.domain)
        self._stamp = stamp(self.as_of)

    def new_id(self) -> str:
        return new_id(self.rng)

    def meta(self) -> Obj:
        return {"created": self._stamp, "modified": self._stamp}

    def ref(self, ident: str) -> Obj:
        """A shared ``{"id": ...}`` reference."""
        r = self._refs.get(ident)
        if r is None:
            r = self._refs[ident] = {"id": ident}
        return r

    def person(self, who: Identity, email_type: str) -> Obj:
        obj: Obj = {"id": self.new_id(), "meta": self.meta(), "givenName": who.given}
        if who.middle:
            obj["middleName"] = who.middle
        obj["familyName"] = who.family
        obj["eduPersonPrincipalNames"] = [who.eppn]
        obj["emails"] = [{"value": who.eppn, "type": email_type}]
        obj["civicNo"] = {"value": who.civic_no, "nationality": "SE"}
        obj["birthDate"] = who.birth.isoformat()
        obj["sex"] = "Kvinna" if who.female else "Man"
        obj["securityMarking"] = who.marking
        obj["personStatus"] = "Aktiv"
        self.persons.append(obj)
        return obj

    def enrolment(
        self, unit: Unit, year: int, programme: tuple[str, str] | None, start: str, end: str
    ) -> Obj:
        obj: Obj = {
            "enroledAt": self.ref(unit.id),
            "schoolType": school_type(unit.kind, year),
            "schoolYear": year,
            "startDate": start,
            "endDate": end,
            "cancelled": False,
        }
        if programme is not None:
            obj["educationCode"] = programme[1]
        return obj

    def pupil(
        self,
        unit: Unit,
        year: int,
        school_year: int,
        programme: tuple[str, str] | None,
        start: str,
        end: str,
    ) -> Obj:
        who = self.people.make(birth_year(school_year, unit.kind, year), child=True)
        obj = self.person(who, "Skola elev")
        obj["enrolments"] = [self.enrolment(unit, year, programme, start, end)]
        return obj

    def duty(
        self, person_id: str, unit_id: str, role: str, signature: str, start: str, percent: int
    ) -> Obj:
        obj: Obj = {
            "id": self.new_id(),
            "meta": self.meta(),
            "person": self.ref(person_id),
            "dutyAt": self.ref(unit_id),
            "dutyRole": role,
            "signature": signature,
            "dutyPercent": percent,
            "startDate": start,
            "assignmentRole": [],
        }
        self.duties.append(obj)
        return obj

    def membership(self, person_id: str, start: str, end: str) -> Obj:
        return {
            "id": self.new_id(),
            "person": self.ref(person_id),
            "startDate": start,
            "endDate": end,
        }

    def group(
        self,
        name: str,
        group_type: str,
        stype: str,
        unit_id: str,
        members: list[str],
        start: str,
        end: str,
    ) -> Obj:
        obj: Obj = {
            "id": self.new_id(),
            "meta": self.meta(),
            "displayName": name,
            "groupType": group_type,
            "schoolType": stype,
            "organisation": self.ref(unit_id),
            "startDate": start,
            "endDate": end,
            "groupMemberships": [
                {"id": new_id(self.rng), "person": self.ref(p), "startDate": start, "endDate": end}
                for p in members
            ],
        }
        self.groups.append(obj)
        return obj

    def activity(
        self, subject: str, group_id: str, unit_id: str, duty_ids: list[str], start: str, end: str
    ) -> Obj:
        obj: Obj = {
            "id": self.new_id(),
            "meta": self.meta(),
            "displayName": subject,
            "activityType": "Undervisning",
            "calendarEventsRequired": False,
            "startDate": start,
            "endDate": end,
            "organisation": self.ref(unit_id),
            "groups": [self.ref(group_id)],
            "teachers": [{"duty": self.ref(d), "startDate": start} for d in duty_ids],
        }
        self.activities.append(obj)
        return obj


def mentor_role(ref: Obj, start: str, end: str) -> Obj:
    """A duty's assignmentRole entry making it the mentor of a group."""
    return {"group": ref, "assignmentRoleType": "Mentor", "startDate": start, "endDate": end}
