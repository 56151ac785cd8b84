"""SS 12000 objects to the canonical model, shared by the HTTP and the folder reads.

Records arrive one by one (any order, any page) through :meth:`Collector.add`, as typed structs
decoded straight from the page (:mod:`adapters.ss12000.records`; a plain JSON object is
converted first). The structs have checked the types; the handlers check what is missing, empty,
outside a code list or not a date, and keep compact tuples of interned ids and cached dates.
:meth:`Collector.finish` resolves the references between entities and builds the
:class:`Snapshot`. Every merge is independent of record order, so an incremental read and a full
read of the same data give the same snapshot.

A record that breaks the schema becomes one blocking :class:`Finding` naming the object and the
field, and is left out; a personnummer never appears in a message. An id listed twice within
one entity keeps both copies out, with a finding naming where each came from.
"""

from __future__ import annotations

import sys
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from itertools import groupby
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple

import msgspec

from adapters.kit.dates import leading_day
from adapters.ss12000 import records as r
from adapters.ss12000 import vocabulary as v
from engine.civic_hash import CivicHash, drop
from engine.findings import Finding, Severity
from engine.model import (
    Group,
    GroupType,
    MemberRole,
    Membership,
    MembershipRun,
    Person,
    Protection,
    Refused,
    School,
    SchoolRole,
    SchoolRoleType,
    Snapshot,
    is_current,
    make_group,
    make_person,
)
from engine.source import MapResult

ORIGIN = "ss12000"
INVALID = "ss12000.invalid_record"
_UNNAMED = "\0"  # heads the key of a finding about a record without a usable id
DUPLICATE = "ss12000.duplicate_id"
_intern = sys.intern
_GROUP_ID = itemgetter(0)  # a membership's group
_UNIT = itemgetter(0)  # an enrolment's school unit ("" when it is cancelled)
_MEMBER_ID = attrgetter("person.id")
_START, _END = attrgetter("start_date"), attrgetter("end_date")

Span = tuple[date | None, date | None]
_Term = tuple[date | None, date | None, int | None]  # an enrolment's start, end and school year
# compact forms kept between add() and finish()
_Org = tuple[
    str, str, str | None, str | None, tuple[str, ...], str | None, date | None, date | None
]
_Enrol = tuple[str, str, int | None, date | None, date | None]
_Assign = tuple[str, str, date | None, date | None]
_Duty = tuple[str, str, str, date | None, date | None, tuple[_Assign, ...]]
_Group = tuple[str, GroupType, str, str | None, date | None, date | None, MembershipRun | None]
_Teacher = tuple[str, date | None, date | None]
_Activity = tuple[str, tuple[str, ...], tuple[_Teacher, ...], date | None, date | None, str | None]
_Refs = tuple[tuple[str, ...], tuple[str, ...]]  # persons and groups a refused record names


def _ids(refs: Any) -> tuple[str, ...]:
    """The ids of a list of references, typed or plain JSON; whatever cannot be read is
    passed over (the record is refused already: this only decides what it holds)."""
    out: list[str] = []
    for ref in refs if isinstance(refs, list) else ():
        rid = ref.get("id") if isinstance(ref, dict) else getattr(ref, "id", None)
        if isinstance(rid, str) and rid:
            out.append(_intern(rid))
    return tuple(out)


def _field(rec: Any, typed: str, camel: str) -> Any:
    return rec.get(camel) if isinstance(rec, dict) else getattr(rec, typed, None)


def _refs(entity: str, rec: Any) -> _Refs:
    """Who and what a refused duty or activity names: while it is refused they are held, for
    the teacher's school role and the groups' teachers rest on it."""
    if entity == "duties":
        assigns = _field(rec, "assignment_role", "assignmentRole")
        groups = _ids(
            [_field(a, "group", "group") for a in assigns] if isinstance(assigns, list) else []
        )
        return _ids([_field(rec, "person", "person")]), groups
    if entity == "activities":
        return (), _ids(_field(rec, "groups", "groups"))
    return (), ()


class _Bad(Exception):
    """One problem with one field of one record."""

    def __init__(self, field: str, problem: str, code: str = INVALID) -> None:
        super().__init__(field, problem)
        self.field = field
        self.problem = problem
        self.code = code


@dataclass(frozen=True)
class CollectorPart:
    """What a collector gathered for some entities, before :meth:`Collector.finish`: handed
    from a read helper process to the collector of the read (see
    :mod:`adapters.ss12000.read_helper`). Entities are independent until ``finish``, so a part
    covers whole entities and takes the place of reading them."""

    entities: tuple[str, ...]
    stores: dict[str, dict[str, Any]]  # entity -> id -> its compact form
    enrolments: dict[str, tuple[_Enrol, ...]]  # with persons only
    findings: dict[tuple[str, str], Finding]
    warnings: tuple[Finding, ...]
    refs: dict[tuple[str, str], _Refs] = field(default_factory=dict)  # of refused records


class _Dates:
    """ISO dates parsed once each: a municipality has few distinct dates and many records."""

    __slots__ = ("seen",)

    def __init__(self) -> None:
        self.seen: dict[str, date] = {}

    def get(self, raw: str | None, field: str) -> date | None:
        if raw is None:
            return None
        hit = self.seen.get(raw)
        if hit is not None:
            return hit
        parsed = leading_day(raw)
        if parsed is None:
            raise _Bad(field, f"is not a date (YYYY-MM-DD): {raw[:40]!r}")
        self.seen[raw] = parsed
        return parsed


def _str(value: str | None, field: str) -> str:
    """A required string: missing and empty are both missing."""
    if not value:
        raise _Bad(field, "is missing")
    return value


def _ref(ref: r.Ref | None, field: str) -> str:
    if ref is None:
        raise _Bad(field, "is missing")
    if not ref.id:
        raise _Bad(field + ".id", "is missing or not a string")
    return _intern(ref.id)


def _enum(value: str | None, allowed: frozenset[str], field: str) -> str:
    if value is None:
        raise _Bad(field, "is missing or not a string")
    if value not in allowed:
        raise _Bad(field, f"has the unknown value {value[:60]!r}", "ss12000.unknown_value")
    return value


def _type_problem(exc: msgspec.ValidationError) -> tuple[str, str]:
    """(field, problem) from msgspec's ``Expected `str | null`, got `int` - at `$.a[0].b```."""
    text = str(exc)
    message, _, path = text.rpartition(" - at `")
    if not message:
        message, path = text, "$`"
    field = path.rstrip("`").removeprefix("$").lstrip(".") or "(record)"
    problem = message.replace(" | null", "").replace("`", "")
    if problem.startswith("Expected "):
        problem = "has the wrong type (" + problem[0].lower() + problem[1:] + ")"
    return field, problem


def _shown(name: str, keep: int = 80) -> str:
    """A name as a message shows it: as it is when short and printable, else escaped and cut
    (a source may send megabytes, or a control character, in a name)."""
    if len(name) <= keep and name.isprintable():
        return name
    return repr(name[:keep])[1:-1] + ("..." if len(name) > keep else "")


def _place(pages: list[tuple[int, str, bool]], starts: list[int], ordinal: int) -> str:
    """Where the record that arrived ``ordinal``-th came from: its page and place on it."""
    start, where, alone = pages[bisect_right(starts, ordinal) - 1]
    return where if alone else f"{where} item {ordinal - start + 1}"


def _merge(a: Span, b: Span) -> Span:
    start = None if a[0] is None or b[0] is None else min(a[0], b[0])
    end = None if a[1] is None or b[1] is None else max(a[1], b[1])
    return start, end


class _Roles(NamedTuple):
    """Schools and school roles, resolved from organisations, persons and duties alone."""

    schools: dict[str, School]
    roles: tuple[SchoolRole, ...]
    units: Callable[[str], tuple[str, ...]]  # an organisation's school units, cached


_Staff = tuple[dict[tuple[str, str, MemberRole], Span], list[Finding]]
"""Teachers' and mentors' spans by (group, person, role), and warnings about missing ones."""

_ROLES_NEED = frozenset({"organisations", "persons", "duties"})
_STAFF_NEED = frozenset({"persons", "duties", "activities"})

# entity -> handler method; looked up per call rather than kept as bound methods on the
# collector, which would make it a reference cycle that only the cyclic collector frees
_HANDLERS = {
    "organisations": "_organisation",
    "persons": "_person",
    "duties": "_duty",
    "groups": "_group",
    "activities": "_activity",
}


class Collector:
    """Gathers SS 12000 records of one read and builds the snapshot from them."""

    def __init__(
        self,
        today: date,
        *,
        activity_name_is_subject: bool = False,
        civic_hash: CivicHash = drop,
    ) -> None:
        self.today = today
        self._civic_hash = civic_hash  # a personnummer is kept only as its keyed hash
        self._subject_from_name = activity_name_is_subject
        self._dates = _Dates()
        self._orgs: dict[str, _Org] = {}
        self._persons: dict[str, Person] = {}
        self._enrolments: dict[str, tuple[_Enrol, ...]] = {}
        self._duties: dict[str, _Duty] = {}
        self._groups: dict[str, _Group] = {}
        self._activities: dict[str, _Activity] = {}
        self._findings: dict[tuple[str, str], Finding] = {}
        self._refs: dict[tuple[str, str], _Refs] = {}  # what refused duties and activities name
        self._warnings: list[Finding] = []
        # where each entity's records came from, to name both copies of a duplicated id: the
        # ids in arrival order ("" for a record without one), and where each page or lone
        # record begins in that order
        self._order: dict[str, list[str]] = {e: [] for e in v.ENTITIES}
        self._pages: dict[str, list[tuple[int, str, bool]]] = {e: [] for e in v.ENTITIES}
        self._dupes: dict[str, set[str]] = {e: set() for e in v.ENTITIES}
        self._ahead: _Roles | None = None  # see resolve_ahead
        self._subjects_ahead: dict[str, str] | None = None
        self._staff_ahead: _Staff | None = None
        self._stores: dict[str, dict[str, Any]] = {
            "organisations": self._orgs,
            "persons": self._persons,
            "duties": self._duties,
            "groups": self._groups,
            "activities": self._activities,
        }

    # -- intake ---------------------------------------------------------------------------

    def add(self, entity: str, rec: Any, where: str) -> str | None:
        """Check and keep one record; returns its id, or None when it was refused.

        ``rec`` is a typed record (:mod:`adapters.ss12000.records`) or a plain JSON value,
        which is converted first. ``where`` says where the record came from (endpoint and
        page, or file) for findings about a record whose id cannot be read.
        """
        self._pages[entity].append((len(self._order[entity]), where, True))
        return self._add_one(entity, rec, where)

    def _add_one(self, entity: str, rec: Any, where: str) -> str | None:
        kind = v.KIND[entity]
        if type(rec) is not r.RECORD_TYPES[entity]:
            if type(rec) is not dict:
                self._order[entity].append("")
                self._refuse(
                    kind,
                    where,
                    "(record)",
                    "is not a JSON object",
                    "ss12000.invalid_record",
                    named=False,
                )
                return None
            raw_id = rec.get("id")
            try:
                rec = r.convert(rec, entity)
            except msgspec.ValidationError as exc:
                field, problem = _type_problem(exc)
                if type(raw_id) is not str or not raw_id:
                    self._order[entity].append("")
                    self._refuse(
                        kind,
                        where,
                        "id",
                        "is missing or not a string",
                        "ss12000.invalid_record",
                        named=False,
                    )
                    return None
                rid = _intern(raw_id)
                if self._seen(entity, kind, rid):
                    return None
                self._drop(entity, rid)
                self._refuse(kind, rid, field, problem, INVALID)
                self._hold_refs(entity, kind, rid, rec)
                return None
        rid = rec.id
        if not rid:
            self._order[entity].append("")
            self._refuse(kind, where, "id", "is missing or not a string", INVALID, named=False)
            return None
        rid = _intern(rid)
        if self._seen(entity, kind, rid):
            return None
        return self._take(entity, kind, getattr(self, _HANDLERS[entity]), rid, rec)

    def _seen(self, entity: str, kind: str, rid: str) -> bool:
        """Note the record's arrival; True when its id came before in this read (kept or
        refused): then neither copy is kept, as which one is right cannot be told."""
        self._order[entity].append(rid)
        if (
            rid in self._stores[entity]
            or rid in self._dupes[entity]
            or (kind, rid) in self._findings
        ):
            self._twice(entity, rid)
            return True
        return False

    def _twice(self, entity: str, rid: str) -> None:
        """Neither copy of an id that came twice is kept (its finding is made at the end)."""
        self._dupes[entity].add(rid)
        self._drop(entity, rid)

    def _take(
        self, entity: str, kind: str, handle: Callable[[str, Any], None], rid: str, rec: Any
    ) -> str | None:
        """Hand a typed record with an id, new to this read (see :meth:`_seen`), to its
        entity's handler."""
        try:
            handle(rid, rec)
        except _Bad as bad:
            self._drop(entity, rid)
            self._refuse(kind, rid, bad.field, bad.problem, bad.code)
            self._hold_refs(entity, kind, rid, rec)
            return None
        # an earlier version of the record may have been refused
        if self._findings and self._findings.pop((kind, rid), None) is not None:
            self._refs.pop((kind, rid), None)
        return rid

    def _hold_refs(self, entity: str, kind: str, rid: str, rec: Any) -> None:
        refs = _refs(entity, rec)
        if refs[0] or refs[1]:
            old = self._refs.get((kind, rid))
            if old is not None:
                refs = (old[0] + refs[0], old[1] + refs[1])
            self._refs[(kind, rid)] = refs

    def hold_last_good(self, entity: str, rid: str, rec: Any) -> None:
        """What the last good copy of a record this read refused names is held too: a duty
        damaged in its ``person`` no longer says whose it is, its stored copy does."""
        kind = v.KIND[entity]
        if (kind, rid) in self._findings:
            self._hold_refs(entity, kind, rid, rec)

    def _drop(self, entity: str, rid: str) -> None:
        self._stores[entity].pop(rid, None)
        if entity == "persons":
            self._enrolments.pop(rid, None)

    def add_all(self, entity: str, records: Iterable[Any], where: str) -> None:
        """:meth:`add` each record; a typed one with an id (all of them, on a page that fit the
        types) goes straight to its handler, the rest the way :meth:`add` takes them."""
        typed, kind, take = r.RECORD_TYPES[entity], v.KIND[entity], self._take
        handle = getattr(self, _HANDLERS[entity])  # a local: kept on self it would be a cycle
        order, store, dupes = self._order[entity], self._stores[entity], self._dupes[entity]
        self._pages[entity].append((len(order), where, False))
        arrive, findings = order.append, self._findings
        for i, rec in enumerate(records, start=1):
            if type(rec) is typed and rec.id:
                rid = _intern(rec.id)
                arrive(rid)
                if rid in store or rid in dupes or (findings and (kind, rid) in findings):
                    self._twice(entity, rid)  # as _seen, inline: this loop reads millions
                    continue
                take(entity, kind, handle, rid, rec)
            else:
                self._add_one(entity, rec, f"{where} item {i}")

    def _settle_duplicates(self, entities: Iterable[str]) -> None:
        """A blocking finding for each id that came more than once, naming where each copy
        came from (a page and the record's place on it); looked for only when there are some.
        """
        for entity in entities:
            dupes = self._dupes[entity]
            if not dupes:
                continue
            kind = v.KIND[entity]
            places: dict[str, list[int]] = {rid: [] for rid in sorted(dupes)}
            for n, rid in enumerate(self._order[entity]):
                if rid in dupes:
                    places[rid].append(n)
            pages = self._pages[entity]
            starts = [p[0] for p in pages]
            for rid, ordinals in places.items():
                shown = [_place(pages, starts, n) for n in ordinals[:4]]
                if len(ordinals) > 4:
                    shown.append(f"and {len(ordinals) - 4} more")
                self._findings[(kind, rid)] = Finding(
                    code=DUPLICATE,
                    severity=Severity.BLOCKING,
                    record_type=kind,
                    record_id=rid,
                    message=(
                        f"{kind} {rid}: the source lists this id {len(ordinals)} times "
                        f"({'; '.join(shown)}); which copy is right cannot be told, so the "
                        f"{kind} is left out"
                    ),
                    fix=f"Give each {kind} an id of its own in the student administration "
                    "system, or remove the copy.",
                    origin=ORIGIN,
                )

    def part(self, entities: Iterable[str]) -> CollectorPart:
        """What was gathered for ``entities`` (all that this collector was given)."""
        chosen = tuple(entities)
        self._settle_duplicates(chosen)
        kinds = {v.KIND[e] for e in chosen}
        return CollectorPart(
            chosen,
            {e: self._stores[e] for e in chosen},
            self._enrolments if "persons" in chosen else {},
            {k: f for k, f in self._findings.items() if k[0] in kinds},
            tuple(self._warnings),
            {k: r for k, r in self._refs.items() if k[0] in kinds},
        )

    def absorb(self, part: CollectorPart) -> None:
        """Take a part in place of reading its entities here (none of them was added here).

        Findings end up in the order a read of every entity here would give them: entity by
        entity, as :data:`~adapters.ss12000.vocabulary.ENTITIES` lists them."""
        for entity in part.entities:
            self._stores[entity].update(part.stores[entity])
        if "persons" in part.entities:  # a helper keeps civic numbers as read: hash them here
            persons = self._persons
            for rid, p in part.stores["persons"].items():
                if p.civic_no is not None:
                    persons[rid] = replace(p, civic_no=self._civic_hash(p.civic_no))
        self._enrolments.update(part.enrolments)
        theirs = {v.KIND[e] for e in part.entities}
        findings: dict[tuple[str, str], Finding] = {}
        for entity in v.ENTITIES:
            kind = v.KIND[entity]
            source = part.findings if kind in theirs else self._findings
            findings.update((k, f) for k, f in source.items() if k[0] == kind)
        self._findings = findings
        self._refs.update(part.refs)
        self._warnings.extend(part.warnings)

    def _refuse(
        self, kind: str, rid: str, field: str, problem: str, code: str, *, named: bool = True
    ) -> None:
        """A blocking finding; ``named=False`` when ``rid`` only says where a record without a
        usable id was found (such a record names nothing ESS could hold)."""
        self._findings[(kind, rid if named else _UNNAMED + rid)] = Finding(
            code=code,
            severity=Severity.BLOCKING,
            record_type=kind,
            record_id=rid,
            message=f"{kind} {rid}: {field} {problem}; the {kind} is left out",
            fix=f"Correct {field} of this {kind} in the student administration system.",
            origin=ORIGIN,
        )

    def _warn(self, code: str, kind: str, rid: str, message: str, fix: str) -> None:
        self._warnings.append(Finding(code, Severity.WARNING, kind, rid, message, fix, ORIGIN))

    # -- one handler per entity -----------------------------------------------------------

    def _organisation(self, rid: str, rec: r.Organisation) -> None:
        name = _str(rec.display_name, "displayName")
        code = rec.school_unit_code or None
        otype = rec.organisation_type
        if otype is None and code is not None:
            otype = v.SKOLENHET  # Skolverket's profile leaves the type out of school units
        otype = _enum(otype, v.ORGANISATION_TYPES, "organisationType")
        types = tuple(_enum(t, v.SCHOOL_TYPES, "schoolTypes") for t in rec.school_types or ())
        d = self._dates
        parent = rec.parent_organisation
        self._orgs[rid] = (
            otype,
            name,
            code,
            None if parent is None else _ref(parent, "parentOrganisation"),
            types,
            rec.municipality_code or None,
            d.get(rec.start_date, "startDate"),
            d.get(rec.end_date, "endDate"),
        )

    def _person(self, rid: str, rec: r.Person) -> None:
        # 170,000 in a large municipality: field names for a finding are made only for one
        given = _str(rec.given_name, "givenName")
        family = _str(rec.family_name, "familyName")
        marking = rec.security_marking
        protection = Protection.NONE
        if marking is not None:
            known = v.PROTECTION.get(marking)
            protection = (
                known or v.PROTECTION[_enum(marking, v.SECURITY_MARKINGS, "securityMarking")]
            )
        civic: str | None = None
        raw: str | None = None
        if rec.civic_no is not None:
            raw = rec.civic_no.value
            if raw is None:
                raise _Bad("civicNo.value", "is missing or not a string")
            civic = self._civic_hash(raw)
        emails: list[str] = []
        for i, e in enumerate(rec.emails or ()):
            if e.value is None:
                raise _Bad(f"emails[{i}].value", "is missing or not a string")
            etype = e.type
            if etype is not None and etype not in v.EMAIL_TYPES:
                _enum(etype, v.EMAIL_TYPES, f"emails[{i}].type")
            if etype != v.PRIVATE_EMAIL:
                emails.append(e.value)
        ext: list[tuple[str, str]] = []
        for i, x in enumerate(rec.external_identifiers or ()):
            value, context = x.value, x.context
            if value is None:
                raise _Bad(f"externalIdentifiers[{i}].value", "is missing or not a string")
            if context is None:
                raise _Bad(f"externalIdentifiers[{i}].context", "is missing or not a string")
            if value == raw or r.holds_civic(value):
                continue  # a personnummer never leaves ESS, whatever field it hides in
            ext.append((context, value))
        enrolments = [self._enrolment(e, i) for i, e in enumerate(rec.enrolments or ())]
        self._persons[rid] = make_person(
            rid,
            given,
            family,
            tuple(emails),
            tuple(rec.edu_person_principal_names or ()),
            civic,
            protection,
            rec.middle_name or None,
            tuple(ext),
        )
        if enrolments:
            self._enrolments[rid] = tuple(filter(_UNIT, enrolments))
        else:
            self._enrolments.pop(rid, None)

    def _enrolment(self, e: r.Enrolment, i: int) -> _Enrol:
        """An enrolment that needs no conversion and has known dates, in one look; any
        other goes through :meth:`_enrolment_checked`, which names what is wrong."""
        unit = e.enroled_at.id if e.enroled_at is not None else None
        stype, year, s, t = e.school_type, e.school_year, e.start_date, e.end_date
        seen = self._dates.seen
        start = None if s is None else seen.get(s)
        end = None if t is None else seen.get(t)
        if (
            not unit
            or stype not in v.SCHOOL_TYPES
            or (year is not None and (type(year) is not int or not 0 <= year <= 13))
            or (start is None and s is not None)
            or (end is None and t is not None)
        ):
            return self._enrolment_checked(e, i)
        return ("" if e.cancelled else _intern(unit), stype, year, start, end)

    def _enrolment_checked(self, e: r.Enrolment, i: int) -> _Enrol:
        where = f"enrolments[{i}]."
        unit = _ref(e.enroled_at, where + "enroledAt")
        stype = _enum(e.school_type, v.SCHOOL_TYPES, where + "schoolType")
        year = e.school_year
        if year is not None:
            if type(year) is float and year.is_integer():
                year = int(year)
            if type(year) is not int or not 0 <= year <= 13:
                raise _Bad(where + "schoolYear", "is not a school year (a whole number 0-13)")
        d = self._dates
        start = d.get(e.start_date, where + "startDate")
        end = d.get(e.end_date, where + "endDate")
        return ("" if e.cancelled else unit, stype, year, start, end)

    def _duty(self, rid: str, rec: r.Duty) -> None:
        person = _ref(rec.person, "person")
        at = _ref(rec.duty_at, "dutyAt")
        role = _enum(rec.duty_role, v.DUTY_ROLES, "dutyRole")
        d = self._dates
        assigns: list[_Assign] = []
        for i, a in enumerate(rec.assignment_role or ()):
            where = f"assignmentRole[{i}]."
            group = _ref(a.group, where + "group")
            atype = _enum(a.assignment_role_type, v.ASSIGNMENT_ROLES, where + "assignmentRoleType")
            assigns.append(
                (
                    group,
                    atype,
                    d.get(a.start_date, where + "startDate"),
                    d.get(a.end_date, where + "endDate"),
                )
            )
        self._duties[rid] = (
            person,
            at,
            role,
            d.get(rec.start_date, "startDate"),
            d.get(rec.end_date, "endDate"),
            tuple(assigns),
        )

    def _group(self, rid: str, rec: r.Group) -> None:
        name = _str(rec.display_name, "displayName")
        gtype = v.GROUP_TYPES[_enum(rec.group_type, v.GROUP_TYPE_NAMES, "groupType")]
        org = _ref(rec.organisation, "organisation")
        stype = rec.school_type
        if stype is not None:
            stype = _enum(stype, v.SCHOOL_TYPES, "schoolType")
        d = self._dates
        self._groups[rid] = (
            name,
            gtype,
            org,
            stype,
            d.get(rec.start_date, "startDate"),
            d.get(rec.end_date, "endDate"),
            self._members(rid, rec, d) if rec.group_memberships else None,
        )

    def _members(self, rid: str, rec: r.Group, d: _Dates) -> MembershipRun:
        """A group's memberships (two million in a large municipality) as one run of students.

        When every membership has a person id and they all share their dates (a class as a
        source lists it), the run is the ids alone, taken in a few C passes; otherwise each
        membership is looked at in turn."""
        gm = rec.group_memberships
        assert gm
        n = len(gm)
        try:
            pids = list(map(_MEMBER_ID, gm))
        except AttributeError:  # a membership without a person
            pids = []
        starts, ends = list(map(_START, gm)), list(map(_END, gm))
        s, e = starts[0], ends[0]
        if len(pids) == n and None not in pids and starts.count(s) == n and ends.count(e) == n:
            where = "groupMemberships[0]."  # the first that has the date, as in the loop below
            start, end = d.get(s, where + "startDate"), d.get(e, where + "endDate")
            return MembershipRun.uniform(
                rid, tuple(map(_intern, pids)), MemberRole.STUDENT, start, end
            )
        seen = d.seen
        members: list[Membership] = []
        append, make, student = members.append, tuple.__new__, MemberRole.STUDENT
        for m in gm:
            person = m.person
            pid = None if person is None else person.id
            s, e = m.start_date, m.end_date
            sd = seen.get(s) if s is not None else None
            ed = seen.get(e) if e is not None else None
            if pid is None or (sd is None and s is not None) or (ed is None and e is not None):
                pid, sd, ed = self._member_slow(rec, m, d)
            append(make(Membership, (rid, _intern(pid), student, sd, ed)))
        return MembershipRun.of(rid, tuple(members))

    @staticmethod
    def _member_slow(
        rec: r.Group, m: r.GroupMembership, d: _Dates
    ) -> tuple[str, date | None, date | None]:
        """A membership the hot loop could not take: a new date, or a problem to name."""
        assert rec.group_memberships is not None
        i = next(i for i, x in enumerate(rec.group_memberships) if x is m)
        where = f"groupMemberships[{i}]."
        if m.person is None or not m.person.id:
            raise _Bad(where + "person.id", "is missing")
        return (
            m.person.id,
            d.get(m.start_date, where + "startDate"),
            d.get(m.end_date, where + "endDate"),
        )

    def _activity(self, rid: str, rec: r.Activity) -> None:
        name = _str(rec.display_name, "displayName")
        if rec.activity_type is not None:
            _enum(rec.activity_type, v.ACTIVITY_TYPES, "activityType")
        if not rec.groups:
            raise _Bad("groups", "is missing or empty (an activity needs at least one group)")
        groups = tuple(_ref(g, f"groups[{i}]") for i, g in enumerate(rec.groups))
        _ref(rec.organisation, "organisation")
        d = self._dates
        teachers: list[_Teacher] = []
        for i, t in enumerate(rec.teachers or ()):
            where = f"teachers[{i}]."
            teachers.append(
                (
                    _ref(t.duty, where + "duty"),
                    d.get(t.start_date, where + "startDate"),
                    d.get(t.end_date, where + "endDate"),
                )
            )
        subject: str | None = None
        syllabus = rec.syllabus
        if type(syllabus) is dict and type(syllabus.get("displayName")) is str:
            subject = syllabus["displayName"]
        elif self._subject_from_name:
            subject = name
        self._activities[rid] = (
            name,
            groups,
            tuple(teachers),
            d.get(rec.start_date, "startDate"),
            d.get(rec.end_date, "endDate"),
            subject,
        )

    # -- resolution -----------------------------------------------------------------------

    def _unit_index(self) -> dict[str, list[str]]:
        children: dict[str, list[str]] = {}
        for oid, o in self._orgs.items():
            if o[0] == v.SKOLENHET and o[3]:
                children.setdefault(o[3], []).append(oid)
        for kids in children.values():
            kids.sort()
        return children

    def _units_for(self, org_id: str, children: dict[str, list[str]]) -> tuple[str, ...]:
        """School units an organisation stands for: the Skolenhet at or above it, else the
        Skolenhet children of the nearest organisation above it that has some (Edlevo hangs
        groups and duties on a Skola, whose units point up to it)."""
        path: list[str] = []
        cur: str | None = org_id
        while cur is not None and cur not in path:
            org = self._orgs.get(cur)
            if org is None:
                break
            if org[0] == v.SKOLENHET:
                return (cur,)
            path.append(cur)
            cur = org[3]
        for oid in path:
            kids = children.get(oid)
            if kids:
                return tuple(kids)
        return ()

    def resolve_ahead(self, pending: str) -> None:
        """Resolve now what needs nothing of the ``pending`` entity, which is still on its way
        (a read helper reads it) while every other entity is in: the schools and school
        roles, which need neither groups nor activities, the teachers and mentors of the groups
        activities and duties name, and the groups' subjects, which need no groups.
        :meth:`finish` uses them as they are, so nothing of the other entities may be added
        after this."""
        if pending not in _ROLES_NEED:
            self._ahead = self._resolve_roles()
        if pending not in _STAFF_NEED:
            self._staff_ahead = self._staff_links(self._persons)
        if pending != "activities":
            self._subjects_ahead = self._subjects()

    def _resolve_roles(self) -> _Roles:
        children = self._unit_index()
        units_cache: dict[str, tuple[str, ...]] = {}

        def units(org_id: str) -> tuple[str, ...]:
            hit = units_cache.get(org_id)
            if hit is None:
                hit = units_cache[org_id] = self._units_for(org_id, children)
            return hit

        schools: dict[str, School] = {}
        for oid, o in self._orgs.items():
            if o[0] != v.SKOLENHET:
                continue
            schools[oid] = School(oid, o[1], o[2], o[3], o[4], o[5], o[6], o[7])
        roles = self._student_roles(units, schools) + self._staff_roles(units, schools)
        return _Roles(schools, roles, units)

    def finish(self) -> MapResult:
        today = self.today
        self._settle_duplicates(v.ENTITIES)
        schools, roles, units = self._resolve_roles() if self._ahead is None else self._ahead
        self._ahead = None
        groups = self._build_groups(units)
        persons = self._persons
        runs = self._memberships(groups, persons)
        snapshot = Snapshot.of_runs(
            schools, dict(persons), groups, runs, roles, today, ORIGIN, self._refused()
        )
        stats = {
            "organisations": len(self._orgs),
            "persons": len(self._persons),
            "duties": len(self._duties),
            "groups": len(self._groups),
            "activities": len(self._activities),
            "blocked": len(self._findings),
        }
        findings = tuple(self._findings.values()) + tuple(self._warnings)
        return MapResult(snapshot, findings, stats)

    def _refused(self) -> Refused:
        """The records the source lists but this read refused, and what rests on them: the
        persons and groups a refused duty or activity names, and the persons whose
        enrolment or duty names a refused organisation (a school role is lost with it)."""
        if not self._findings:
            return Refused()
        schools: set[str] = set()
        persons: set[str] = set()
        groups: set[str] = set()
        by_kind = {"organisation": schools, "person": persons, "group": groups}
        for kind, rid in self._findings:
            got = by_kind.get(kind)
            if got is not None and not rid.startswith(_UNNAMED):
                got.add(rid)
        for held_persons, held_groups in self._refs.values():
            persons.update(held_persons)
            groups.update(held_groups)
        if schools:
            for pid, enrols in self._enrolments.items():
                if any(e[0] in schools for e in enrols):
                    persons.add(pid)
            for duty in self._duties.values():
                if duty[1] in schools:
                    persons.add(duty[0])
        return Refused(frozenset(schools), frozenset(persons), frozenset(groups))

    def _subjects(self) -> dict[str, str]:
        """Each group's subject: that of the activity with the lowest id that names one."""
        subjects: dict[str, str] = {}
        for aid in sorted(self._activities):
            act = self._activities[aid]
            if act[5]:
                for gid in act[1]:
                    subjects.setdefault(gid, act[5])
        return subjects

    def _build_groups(self, units: Any) -> dict[str, Group]:
        subjects = self._subjects() if self._subjects_ahead is None else self._subjects_ahead
        self._subjects_ahead = None
        out: dict[str, Group] = {}
        for gid, g in self._groups.items():
            name, gtype, org, stype, start, end, _ = g
            cands: tuple[str, ...] = units(org)
            if len(cands) > 1 and stype is not None:
                cands = tuple(u for u in cands if stype in self._orgs[u][4]) or cands
            if len(cands) > 1:
                cands = self._by_members(cands, () if g[6] is None else g[6].person_ids, units)
            if len(cands) != 1:
                self._refuse(
                    "group",
                    gid,
                    "organisation",
                    (
                        f"{org} leads to no school unit (Skolenhet)"
                        if not cands
                        else f"{org} has {len(cands)} school units and schoolType "
                        f"{stype or '(none)'} does not single one out"
                    ),
                    "ss12000.unresolved_school",
                )
                continue
            out[gid] = make_group(gid, name, gtype, cands[0], stype, start, end, subjects.get(gid))
        return out

    def _by_members(
        self, cands: tuple[str, ...], members: tuple[str, ...], units: Any
    ) -> tuple[str, ...]:
        """The unit most of a group's students are enrolled at, when its organisation (a Skola)
        has several; ties go to the lowest id so every read chooses alike."""
        votes = dict.fromkeys(cands, 0)
        for pid in members:
            for enrol in self._enrolments.get(pid, ()):
                for unit in units(enrol[0]):
                    if unit in votes:
                        votes[unit] += 1
        top = max(votes.values())
        if top == 0:
            return cands
        return (min(u for u, n in votes.items() if n == top),)

    def _best(self, start: date | None, end: date | None) -> tuple[bool, date, date]:
        return (is_current(start, end, self.today), start or date.min, end or date.max)

    def _rank(
        self, start: date | None, end: date | None, year: int | None
    ) -> tuple[bool, date, date, int]:
        """Which of a pupil's enrolments at one unit gives the school year: a current one,
        then the latest start, the latest end, the highest year."""
        return (*self._best(start, end), -1 if year is None else year)

    def _student_roles(self, units: Any, schools: Mapping[str, School]) -> tuple[SchoolRole, ...]:
        # (unit, person) -> the span of their enrolments there, and the start, end and year of
        # the best of them (ranked only when a second one comes: most pupils have one)
        merged: dict[tuple[str, str], tuple[date | None, date | None, _Term]] = {}
        unresolved: dict[str, str] = {}
        persons = self._persons
        for pid, enrols in self._enrolments.items():
            if pid not in persons:
                continue
            for unit_ref, stype, year, start, end in enrols:
                cands = units(unit_ref)
                if len(cands) > 1:
                    cands = tuple(u for u in cands if stype in self._orgs[u][4]) or cands[:0]
                if len(cands) != 1:
                    unresolved[pid] = unit_ref
                    continue
                key = (cands[0], pid)
                old = merged.get(key)
                if old is None:
                    merged[key] = (start, end, (start, end, year))
                else:
                    best = old[2]
                    if self._rank(start, end, year) > self._rank(*best):
                        best = (start, end, year)
                    merged[key] = (*_merge((old[0], old[1]), (start, end)), best)
        for pid, unit_ref in sorted(unresolved.items()):
            self._warn(
                "ss12000.enrolment_without_school",
                "person",
                pid,
                f"person {pid}: an enrolment names organisation {unit_ref}, which leads to no "
                "single school unit; that enrolment is not used",
                "Check the enrolment's school unit (enroledAt) in the student administration "
                "system.",
            )
        student, make = SchoolRoleType.STUDENT, tuple.__new__
        return tuple(
            make(SchoolRole, (sid, pid, student, start, end, best[2], None))
            for (sid, pid), (start, end, best) in merged.items()
            if sid in schools
        )

    def _staff_roles(self, units: Any, schools: Mapping[str, School]) -> tuple[SchoolRole, ...]:
        merged: dict[
            tuple[str, str, SchoolRoleType], tuple[Span, tuple[bool, date, date], str]
        ] = {}
        for did, duty in sorted(self._duties.items()):
            pid, at, role, start, end, _ = duty
            if pid not in self._persons:
                continue
            cands = units(at)
            if not cands:
                self._warn(
                    "ss12000.duty_without_school",
                    "duty",
                    did,
                    f"duty {did}: dutyAt {at} leads to no school unit; the duty gives no school "
                    "role",
                    "Place the duty at a school unit or a school in the student administration "
                    "system.",
                )
                continue
            rtype = SchoolRoleType.TEACHER if role in v.TEACHER_ROLES else SchoolRoleType.STAFF
            rank = self._best(start, end)
            for sid in cands:
                key = (sid, pid, rtype)
                old = merged.get(key)
                if old is None:
                    merged[key] = ((start, end), rank, role)
                else:
                    title = role if (rank, old[2]) > (old[1], role) else old[2]
                    merged[key] = (_merge(old[0], (start, end)), max(rank, old[1]), title)
        return tuple(
            SchoolRole(sid, pid, rtype, span[0], span[1], title=title)
            for (sid, pid, rtype), (span, _, title) in merged.items()
            if sid in schools
        )

    def _staff_links(self, persons: Mapping[str, Person]) -> _Staff:
        """Teachers (activity -> duty -> person) and mentors (a duty's assignment) of every
        group the activities and duties name, with the span of their dates, and the warnings
        about teachers who are not there. Neither needs the groups themselves, which are only
        looked up afterwards, so a read whose groups are still on their way makes these ahead.
        """
        warnings: list[Finding] = []
        linked: dict[tuple[str, str, MemberRole], Span] = {}
        for aid, act in self._activities.items():
            _, gids, teachers, a_start, a_end, _ = act
            for duty_id, t_start, t_end in teachers:
                duty = self._duties.get(duty_id)
                if duty is None or duty[0] not in persons:
                    warnings.append(
                        Finding(
                            "ss12000.unknown_teacher",
                            Severity.WARNING,
                            "activity",
                            aid,
                            f"activity {aid} ({_shown(act[0])}): teacher duty {duty_id} is not in "
                            "the source (or its person is not); that teacher is left out",
                            "Check the activity's teachers in the student administration system.",
                            ORIGIN,
                        )
                    )
                    continue
                span = (t_start or a_start, t_end or a_end)
                for gid in gids:
                    key = (gid, duty[0], MemberRole.TEACHER)
                    old = linked.get(key)
                    linked[key] = span if old is None else _merge(old, span)
        for duty in self._duties.values():
            pid = duty[0]
            if pid not in persons:
                continue
            for gid, atype, a_start, a_end in duty[5]:
                if atype == v.MENTOR:
                    span = (a_start or duty[3], a_end or duty[4])
                    key = (gid, pid, MemberRole.MENTOR)
                    old = linked.get(key)
                    linked[key] = span if old is None else _merge(old, span)
        return linked, warnings

    def _memberships(
        self, groups: Mapping[str, Group], persons: Mapping[str, Person]
    ) -> list[MembershipRun]:
        """Each group's memberships as one run (students), then the teachers' and mentors'."""
        runs: list[MembershipRun] = []
        student = MemberRole.STUDENT
        refused = {rid for kind, rid in self._findings if kind == "person"}
        known = persons.__contains__
        for gid, g in self._groups.items():
            whole = g[6]
            if whole is None or gid not in groups:
                continue
            run: MembershipRun | None = whole
            pids = whole.person_ids
            missing = 0
            if len(set(pids)) == len(pids):
                if not all(map(known, pids)):
                    kept = tuple(m for m in whole.memberships if m[1] in persons)
                    missing = len(pids) - len(kept)
                    run = MembershipRun.of(gid, kept) if kept else None
            else:
                spans: dict[str, Span] = {}
                for _, pid, _, start, end in whole.memberships:
                    old = spans.get(pid)
                    spans[pid] = (start, end) if old is None else _merge(old, (start, end))
                merged: list[Membership] = []
                for pid, span in spans.items():
                    if pid in persons:
                        merged.append(Membership(gid, pid, student, span[0], span[1]))
                    else:
                        missing += 1
                run = MembershipRun.of(gid, tuple(merged)) if merged else None
            if run is not None:
                runs.append(run)
            if missing and refused:  # a refused person's own finding says it all
                missing = sum(
                    1 for p in dict.fromkeys(pids) if p not in persons and p not in refused
                )
            if missing:
                self._warn(
                    "ss12000.unknown_member",
                    "group",
                    gid,
                    f"group {gid} ({_shown(g[0])}): {missing} membership(s) name persons the "
                    "source did not return; they are left out",
                    "Check that these persons exist and are readable by the integration.",
                )
        ahead = self._staff_ahead
        self._staff_ahead = None
        linked, warnings = self._staff_links(persons) if ahead is None else ahead
        self._warnings.extend(warnings)
        staff = [Membership(g, p, r, s, e) for (g, p, r), (s, e) in linked.items() if g in groups]
        runs.extend(MembershipRun.of(gid, tuple(ms)) for gid, ms in groupby(staff, _GROUP_ID))
        return runs


def map_records(
    records: Mapping[str, Iterable[Any]],
    today: date,
    *,
    activity_name_is_subject: bool = False,
    civic_hash: CivicHash = drop,
) -> MapResult:
    """Map whole lists of SS 12000 objects (as parsed JSON) in one call."""
    c = Collector(today, activity_name_is_subject=activity_name_is_subject, civic_hash=civic_hash)
    for entity in v.ENTITIES:
        c.add_all(entity, records.get(entity, ()), entity)
    return c.finish()
