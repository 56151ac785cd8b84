"""IMS Enterprise records to the canonical model.

:class:`ImsState` takes the records of one file after another: a complete export takes the
place of everything read before it; a delta export adds, updates and deletes by ``recstatus``
(1 add, 2 update, 3 delete; none: add or update). :meth:`ImsState.finish` resolves what the
records say of each other and builds the :class:`Snapshot`:

- a group of type ``Unit`` is a school unit; its parent is the group (``Organization`` or
  another unit) whose membership lists it;
- classes, teaching groups and the other group types are groups; their school is the unit
  whose membership lists them;
- a person's role in a group is a membership; a person's role in a unit is a school role.

Anything the file does not say, or says in a way the model cannot hold, is a finding on the
record: a record ESS cannot use is refused and held (never removed), a reference to what the
file does not hold is a warning, and a personnummer never appears in a message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from adapters.ims.records import DELETE, FileHead, RawGroup, RawMember, RawPerson, Where
from adapters.kit.dates import leading_day
from adapters.kit.membership_runs import GroupLinks
from engine import model
from engine.findings import Finding, Severity
from engine.source import MapResult

ORIGIN = "ims"
SCHOOL_TYPES = frozenset({"unit", "skolenhet", "schoolunit"})
CONTAINER_TYPES = frozenset({"organization", "trustee", "huvudman", "department"})
IGNORED_TYPES = frozenset({"contactgroup", "course", "gradeauthority", "principal"})
GROUP_TYPES: dict[str, model.GroupType] = {
    "class": model.GroupType.KLASS,
    "klass": model.GroupType.KLASS,
    "educationgroup": model.GroupType.UNDERVISNING,
    "undervisning": model.GroupType.UNDERVISNING,
    "mentorgroup": model.GroupType.MENTOR,
    "mentor": model.GroupType.MENTOR,
    "examgroup": model.GroupType.PROVGRUPP,
    "provgrupp": model.GroupType.PROVGRUPP,
    "schedulegroup": model.GroupType.SCHEMA,
    "schema": model.GroupType.SCHEMA,
    "departmentgroup": model.GroupType.AVDELNING,
    "avdelning": model.GroupType.AVDELNING,
    "othergroup": model.GroupType.OVRIGT,
    "övrigt": model.GroupType.OVRIGT,
    "personalgrupp": model.GroupType.PERSONALGRUPP,
}
PERSONALGRUPP = "personalgrupp"  # an OtherGroup whose subgrouptype says so
STUDENT_ROLES = frozenset({"learner", "student", "01", "child"})
TEACHER_ROLES = frozenset({"instructor", "02", "faculty", "teachingassistant", "08"})
MENTOR_ROLES = frozenset({"mentor", "06"})
STAFF_ROLES = frozenset(
    {"administrator", "07", "member", "04", "manager", "05", "principal", "staff", "03"}
    | {"contentdeveloper"}
)
OTHER_ROLES = frozenset({"guardian", "otherresponsible", "contact", "trustee"})
INACTIVE = frozenset({"0", "inactive", "false"})
OPEN_DATES = frozenset({date(1, 1, 1), date(9999, 12, 31)})  # Tieto's "no start", "no end"
_CIVIC_LIKE = re.compile(r"^\d{6}(\d{2})?[-+]?[0-9A-Z]{4}$")
PROTECTION_TEXT: dict[str, model.Protection] = {p.value.lower(): p for p in model.Protection}
PROTECTION_TEXT.update(
    {
        "none": model.Protection.NONE,
        "false": model.Protection.NONE,
        "0": model.Protection.NONE,
        "": model.Protection.NONE,
        "confidential": model.Protection.CONFIDENTIAL,
        "protectedregistration": model.Protection.PROTECTED_REGISTRATION,
    }
)


class _Bad(Exception):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(field, problem)
        self.field, self.problem = field, problem


def parse_date(raw: str, field: str) -> date | None:
    """An IMS date (``YYYY-MM-DD``, a time after it allowed); empty and Tieto's open-end
    dates are None."""
    if not raw:
        return None
    day = leading_day(raw)
    if day is None:
        raise _Bad(field, f"is not a date (YYYY-MM-DD): {raw[:40]!r}")
    return None if day in OPEN_DATES else day


def protection_of(raw: RawPerson) -> model.Protection:
    """TK450 ``privacy`` (None, Sekretessmarkering, ...) or Tieto's boolean with a level
    (1 confidential, 2 protected registration); anything else is read as protected."""
    text = raw.privacy.strip().lower()
    if text in ("true", "1"):
        if raw.privacy_level == "2":
            return model.Protection.PROTECTED_REGISTRATION
        return model.Protection.CONFIDENTIAL
    known = PROTECTION_TEXT.get(text)
    if known is None:
        raise _Bad("extension/privacy", f"has the unknown value {raw.privacy[:40]!r}")
    return known


class ImsState:
    """What the files read so far say, record by record, before it is resolved."""

    def __init__(self) -> None:
        self.persons: dict[str, RawPerson] = {}
        self.groups: dict[str, RawGroup] = {}
        self.members: dict[tuple[str, str, str, str], RawMember] = {}
        self.deleted_persons: set[str] = set()
        self.deleted_groups: set[str] = set()
        self._warnings: list[Finding] = []
        self._seen: dict[tuple[str, str], Where] = {}
        self.duplicates: dict[tuple[str, str], list[Where]] = {}
        self.files = 0
        self.deletes = 0

    # -- reading --------------------------------------------------------------------------

    def warn(self, code: str, kind: str, rid: str, message: str, fix: str = "") -> None:
        self._warnings.append(Finding(code, Severity.WARNING, kind, rid, message, fix, ORIGIN))

    def begin_file(self, head: FileHead | None, file: str, *, part: bool = False) -> None:
        """A new file: a complete export starts afresh; the first file is always taken as
        complete, and a file that does not say is a delta after it (with a warning). A
        ``part`` is a further document of the same export (the HTTPS form's Person and
        Personnel APIs beside the Organization API): added to what is read, whatever its
        type says."""
        if part and self.files:
            self._seen.clear()
            self.files += 1
            return
        kind = head.kind if head is not None else "unknown"
        if kind == "unknown" and self.files:
            self.warn(
                "ims.unknown_file_type",
                "source",
                file,
                f"{file}: <properties><type> is {head.type if head else 'missing'!r}; "
                "the file is read as a delta export",
                "Export complete files with type Complete and deltas with type Delta.",
            )
        if kind == "delta" and not self.files:
            self.warn(
                "ims.delta_first",
                "source",
                file,
                f"{file}: the first file is a delta export; what a complete export would "
                "hold before it is missing",
                "Put the latest complete export first (files are read in name order).",
            )
        if kind == "complete" or not self.files:
            self.persons.clear()
            self.groups.clear()
            self.members.clear()
            self.deleted_persons.clear()
            self.deleted_groups.clear()
        self._seen.clear()
        self.files += 1

    def _once(self, kind: str, rid: str, where: Where) -> None:
        """An id listed twice in one file: which copy is right cannot be told, so the record
        is refused (see :meth:`finish`); a later file may list it again, as deltas do."""
        key = (kind, rid)
        first = self._seen.setdefault(key, where)
        if first is where:  # this file's copy takes the place of an earlier file's copies
            self.duplicates.pop(key, None)
        else:
            self.duplicates.setdefault(key, [first]).append(where)

    def add_person(self, rec: RawPerson) -> None:
        self._add("person", rec, self.persons, self.deleted_persons)

    def add_group(self, rec: RawGroup) -> None:
        self._add("group", rec, self.groups, self.deleted_groups)

    def _add(self, kind: str, rec: Any, store: dict[str, Any], deleted: set[str]) -> None:
        """A person or group record of a file: kept, or taken away by a delete (recstatus 3),
        whose id is remembered as deleted; a record without an id is left out with a warning."""
        if not rec.id:
            self.warn(
                "ims.no_id",
                kind,
                str(rec.where),
                f"a {kind} without a sourcedid id at {rec.where} is left out",
                f"Give every {kind} a sourcedid.",
            )
            return
        self._once(kind, rec.id, rec.where)
        if rec.recstatus == DELETE:
            self.deletes += 1
            if store.pop(rec.id, None) is None:
                self._unknown_delete(kind, rec.id, rec.where)
            deleted.add(rec.id)
            return
        deleted.discard(rec.id)
        store[rec.id] = rec

    def add_member(self, rec: RawMember) -> None:
        if not rec.group_id or not rec.member_id:
            self.warn(
                "ims.no_id",
                "membership",
                str(rec.where),
                f"a membership at {rec.where} names no "
                + ("group" if not rec.group_id else "member")
                + " (sourcedid id); it is left out",
                "Give the membership and each member a sourcedid.",
            )
            return
        if rec.role_type.startswith("?idtype:"):
            self.warn(
                "ims.unknown_idtype",
                "membership",
                f"{rec.group_id}/{rec.member_id}",
                f"member {rec.member_id} of {rec.group_id} at {rec.where} has the idtype "
                f"{rec.role_type.removeprefix('?idtype:')!r} (expected Person or Group); "
                "it is left out",
                "Set idtype to Person or Group.",
            )
            return
        if rec.recstatus == DELETE:
            self.deletes += 1
            if self.members.pop(rec.key, None) is None:
                self._unknown_delete("membership", f"{rec.group_id}/{rec.member_id}", rec.where)
            return
        self.members[rec.key] = rec

    def _unknown_delete(self, kind: str, rid: str, where: Where) -> None:
        self.warn(
            "ims.delete_unknown",
            kind,
            rid,
            f"{where}: deletes {kind} {rid}, which no earlier file holds; nothing is removed",
            "Check that the complete export the deltas follow is in the folder.",
        )

    # -- resolving ------------------------------------------------------------------------

    def finish(self, today: date) -> MapResult:
        """The snapshot and findings of what was read. It consumes the memberships read
        (a large municipality's two million raw roles make way for the snapshot's runs
        as they are linked), so it is called once, after the last file."""
        return _Resolver(self, today).run()

    @property
    def warnings(self) -> list[Finding]:
        return self._warnings


class _Resolver:
    """One pass from the state to a snapshot, with its findings."""

    def __init__(self, state: ImsState, today: date) -> None:
        self.s = state
        self.today = today
        self.blocking: dict[tuple[str, str], Finding] = {}
        self.warnings: list[Finding] = list(state.warnings)
        self.held_persons: set[str] = set()
        self.held_groups: set[str] = set()

    def block(self, kind: str, rid: str, message: str, fix: str) -> None:
        self.blocking.setdefault(
            (kind, rid),
            Finding("ims.invalid_record", Severity.BLOCKING, kind, rid, message, fix, ORIGIN),
        )

    def warn(self, code: str, kind: str, rid: str, message: str, fix: str = "") -> None:
        self.warnings.append(Finding(code, Severity.WARNING, kind, rid, message, fix, ORIGIN))

    def run(self) -> MapResult:
        s = self.s
        self._duplicates()
        units = {k: g for k, g in s.groups.items() if g.type_value.lower() in SCHOOL_TYPES}
        schools: dict[str, model.School] = {}
        parents = self._parents(units)
        for gid, g in units.items():
            school = self._school(g, parents.get(gid))
            if school is not None:
                schools[gid] = school
        group_school = self._group_schools(units)
        groups: dict[str, model.Group] = {}
        ignored = 0
        for gid, g in s.groups.items():
            if gid in units:
                continue
            low = g.type_value.lower()
            if low in CONTAINER_TYPES or low in IGNORED_TYPES:
                ignored += 1
                continue
            group = self._group(g, group_school.get(gid), units, schools)
            if group is not None:
                groups[gid] = group
        persons: dict[str, model.Person] = {}
        for pid, p in s.persons.items():
            person = self._person(p)
            if person is not None:
                persons[pid] = person
        member_roles = len(s.members)
        links, roles = self._links(units, schools, groups, persons)
        refused = self._refused(schools, groups)
        for kind, rid in self.blocking:
            if kind == "person":
                persons.pop(rid, None)  # held persons of a refused school stay
        roles = [r for r in roles if r.person_id in persons]
        roles.sort(key=_role_order)
        snapshot = model.Snapshot.of_runs(
            schools, persons, groups, links.runs(persons), tuple(roles), self.today, ORIGIN, refused
        )
        stats = {
            "files": s.files,
            "persons": len(s.persons),
            "groups": len(s.groups),
            "memberships": member_roles,
            "deletes": s.deletes,
            "ignored_groups": ignored,
            "blocked": len(self.blocking),
        }
        return MapResult(snapshot, tuple(self.blocking.values()) + tuple(self.warnings), stats)

    def _duplicates(self) -> None:
        for (kind, rid), places in self.s.duplicates.items():
            raw = self.s.groups.get(rid) if kind == "group" else None
            if raw is not None and raw.type_value.lower() in SCHOOL_TYPES:
                kind = "school"
            shown = "; ".join(str(w) for w in places[:4])
            more = f" and {len(places) - 4} more" if len(places) > 4 else ""
            self.blocking[(kind, rid)] = Finding(
                "ims.duplicate_id",
                Severity.BLOCKING,
                kind,
                rid,
                f"{kind} {rid}: the export lists this id {len(places)} times ({shown}{more}); "
                f"which copy is right cannot be told, so the {kind} is left out",
                f"Give each {kind} an id of its own in the student administration system, "
                "or remove the copy.",
                ORIGIN,
            )

    # -- schools --------------------------------------------------------------------------

    def _parents(self, units: dict[str, RawGroup]) -> dict[str, str]:
        """Each unit's parent: the organisation or unit whose membership lists it."""
        parents: dict[str, str] = {}
        for m in self.s.members.values():
            if m.member_is_group and m.member_id in units and m.group_id != m.member_id:
                container = self.s.groups.get(m.group_id)
                if container is not None and (
                    container.type_value.lower() in CONTAINER_TYPES | SCHOOL_TYPES
                ):
                    parents.setdefault(m.member_id, m.group_id)
        return parents

    def _school(self, g: RawGroup, parent: str | None) -> model.School | None:
        if ("school", g.id) in self.blocking:
            return None
        try:
            if not g.name:
                raise _Bad("description/short", "is missing")
            start = parse_date(g.begin, "timeframe/begin")
            end = parse_date(g.end, "timeframe/end")
        except _Bad as bad:
            self.block(
                "school",
                g.id,
                f"school unit {g.id} at {g.where}: {bad.field} {bad.problem}",
                "Correct the unit in the student administration system and export again.",
            )
            return None
        return model.School(
            g.id,
            g.name,
            g.school_unit_code or None,
            parent,
            g.school_types,
            g.municipality_code or None,
            start,
            end,
        )

    # -- groups ---------------------------------------------------------------------------

    def _group_schools(self, units: dict[str, RawGroup]) -> dict[str, str]:
        found: dict[str, set[str]] = {}
        for m in self.s.members.values():
            if m.member_is_group and m.group_id in units and m.member_id not in units:
                found.setdefault(m.member_id, set()).add(m.group_id)
        out: dict[str, str] = {}
        for gid, unit_ids in found.items():
            ordered = sorted(unit_ids)
            if len(ordered) > 1:
                self.warn(
                    "ims.group_in_two_units",
                    "group",
                    gid,
                    f"group {gid} is listed by {len(ordered)} school units "
                    f"({', '.join(ordered[:3])}); it is placed in {ordered[0]}",
                    "List each group in the membership of one school unit.",
                )
            out[gid] = ordered[0]
        return out

    def _group(
        self,
        g: RawGroup,
        school_id: str | None,
        units: dict[str, RawGroup],
        schools: dict[str, model.School],
    ) -> model.Group | None:
        if ("group", g.id) in self.blocking:
            return None
        low = g.type_value.lower()
        gtype = GROUP_TYPES.get(low)
        if gtype is model.GroupType.OVRIGT and g.sub_type.lower() == PERSONALGRUPP:
            gtype = model.GroupType.PERSONALGRUPP
        try:
            if gtype is None:
                raise _Bad(
                    "grouptype/typevalue",
                    f"has the unknown value {g.type_value[:60]!r}"
                    if g.type_value
                    else "is missing",
                )
            if not g.name:
                raise _Bad("description/short", "is missing")
            if school_id is None:
                raise _Bad("(membership)", "is listed by no school unit (Unit group) in the file")
            start = parse_date(g.begin, "timeframe/begin")
            end = parse_date(g.end, "timeframe/end")
        except _Bad as bad:
            self.block(
                "group",
                g.id,
                f"group {g.id} ({g.name or 'no name'}) at {g.where}: {bad.field} {bad.problem}",
                "Correct the group in the student administration system and export again.",
            )
            return None
        if school_id not in schools:
            self.held_groups.add(g.id)  # its school is refused: held with it
            return None
        return model.Group(
            g.id,
            g.name,
            gtype,
            school_id,
            g.school_types[0] if g.school_types else None,
            start,
            end,
            g.course_code or None,
        )

    # -- persons --------------------------------------------------------------------------

    def _person(self, p: RawPerson) -> model.Person | None:
        if ("person", p.id) in self.blocking:
            return None
        given, family = p.given, p.family
        if (not given or not family) and p.full_name:
            first, _, last = p.full_name.rpartition(" ")
            given = given or first or last
            family = family or (last if first else "")
        try:
            if not given:
                raise _Bad("name/n/given", "is missing")
            if not family:
                raise _Bad("name/n/family", "is missing")
            protection = protection_of(p)
        except _Bad as bad:
            self.block(
                "person",
                p.id,
                f"person {p.id} at {p.where}: {bad.field} {bad.problem}",
                "Correct the person in the student administration system and export again.",
            )
            return None
        civic = p.civic_no
        external = tuple(
            (c, v) for c, v in p.external_ids if v != civic and not _CIVIC_LIKE.match(v)
        )
        return model.Person(
            p.id,
            given,
            family,
            p.emails,
            p.eppns,
            civic,
            protection,
            p.middle or None,
            external,
        )

    # -- memberships and school roles ----------------------------------------------------

    def _links(
        self,
        units: dict[str, RawGroup],
        schools: dict[str, model.School],
        groups: dict[str, model.Group],
        persons: dict[str, model.Person],
    ) -> tuple[GroupLinks, list[model.SchoolRole]]:
        s = self.s
        memberships = GroupLinks()
        day = _DayCache().day
        roles: list[model.SchoolRole] = []
        members = s.members
        for key in list(members):
            m = members.pop(key)  # taken as it is linked: the raw roles make way for the runs
            if m.member_is_group or m.status.lower() in INACTIVE:
                continue
            gid, pid = m.group_id, m.member_id
            container = s.groups.get(gid)
            if container is None:
                if gid not in s.deleted_groups:
                    self._dangling(m, "group", gid)
                continue
            if pid not in s.persons:
                if pid not in s.deleted_persons:
                    self._dangling(m, "person", pid)
                continue
            if pid not in persons:
                continue  # a refused person: its finding says it
            role = m.role_type.lower()
            try:
                begin = day(m.begin, "role/timeframe/begin")
                end = day(m.end, "role/timeframe/end")
            except _Bad as bad:
                self._refuse_link(m, gid in units, bad)
                continue
            if gid in units:
                if gid not in schools:
                    self.held_persons.add(pid)
                    continue
                role_type = _school_role(role)
                if role_type is None:
                    self._role_unknown(m, role)
                    continue
                try:
                    year = (
                        _school_year(m.school_year)
                        if role_type is model.SchoolRoleType.STUDENT
                        else None
                    )
                except _Bad as bad:
                    self._refuse_link(m, True, bad)
                    continue
                title = m.sub_role or None
                roles.append(model.SchoolRole(gid, pid, role_type, begin, end, year, title))
                continue
            if gid not in groups:
                if gid in self.held_groups or ("group", gid) in self.blocking:
                    continue
                continue  # a contact group, course or organisation: not synced
            member_role = _member_role(role)
            if member_role is None:
                self._role_unknown(m, role)
                continue
            memberships.add(gid, pid, member_role, begin, end)
        return memberships, roles

    def _dangling(self, m: RawMember, kind: str, rid: str) -> None:
        self.warn(
            "ims.dangling_reference",
            "membership",
            f"{m.group_id}/{m.member_id}",
            f"a membership at {m.where} names {kind} {rid}, which the file does not hold; "
            "it is left out",
            f"Export the {kind} with its memberships, or remove the membership.",
        )

    def _role_unknown(self, m: RawMember, role: str) -> None:
        """A role type ESS does not know may be a pupil or a teacher under another name:
        the group (or, in a unit, the person) is held rather than changed without it."""
        if role in OTHER_ROLES or (role in MENTOR_ROLES | STAFF_ROLES):
            return  # guardians, contacts, staff roles in groups: not synced
        self._refuse_link(
            m,
            m.group_id in self.s.groups
            and self.s.groups[m.group_id].type_value.lower() in SCHOOL_TYPES,
            _Bad("role/@roletype", f"has the unknown value {m.role_type[:40]!r}"),
        )

    def _refuse_link(self, m: RawMember, in_unit: bool, bad: _Bad) -> None:
        """A membership ESS cannot read holds what it would change: a school role, the
        person; a group membership, the group."""
        if in_unit:
            kind, rid = "person", m.member_id
            self.held_persons.add(rid)
        else:
            kind, rid = "group", m.group_id
            self.held_groups.add(rid)
        self.block(
            kind,
            rid,
            f"the membership of {m.member_id} in {m.group_id} at {m.where}: {bad.field} "
            f"{bad.problem}",
            "Correct the membership in the student administration system and export again.",
        )

    def _refused(
        self, schools: dict[str, model.School], groups: dict[str, model.Group]
    ) -> model.Refused:
        by_kind: dict[str, set[str]] = {"school": set(), "person": set(), "group": set()}
        for kind, rid in self.blocking:
            if kind in by_kind:
                by_kind[kind].add(rid)
        by_kind["person"].update(self.held_persons)
        by_kind["group"].update(self.held_groups)
        for gid in by_kind["group"]:
            groups.pop(gid, None)
        if not any(by_kind.values()):
            return model.Refused()
        return model.Refused(
            frozenset(by_kind["school"]), frozenset(by_kind["person"]), frozenset(by_kind["group"])
        )


def _school_role(role: str) -> model.SchoolRoleType | None:
    if role in STUDENT_ROLES:
        return model.SchoolRoleType.STUDENT
    if role in TEACHER_ROLES:
        return model.SchoolRoleType.TEACHER
    if role in STAFF_ROLES:
        return model.SchoolRoleType.STAFF
    return None


def _member_role(role: str) -> model.MemberRole | None:
    if role in STUDENT_ROLES:
        return model.MemberRole.STUDENT
    if role in TEACHER_ROLES:
        return model.MemberRole.TEACHER
    if role in MENTOR_ROLES:
        return model.MemberRole.MENTOR
    return None


def _school_year(raw: str) -> int | None:
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise _Bad("extension/schoolyear", f"is not a number: {raw[:20]!r}") from None


class _DayCache:
    """Each distinct date text parsed once: a municipality's memberships share a few dates."""

    def __init__(self) -> None:
        self._days: dict[tuple[str, str], date | None] = {}

    def day(self, raw: str, field: str) -> date | None:
        key = (raw, field)
        try:
            return self._days[key]
        except KeyError:
            pass
        value = parse_date(raw, field)  # a bad date raises, and is not kept
        if len(self._days) < 100_000:
            self._days[key] = value
        return value


def _role_order(r: model.SchoolRole) -> tuple[str, str, str]:
    return (r.school_id, r.person_id, r.role.value)


def apply(state: ImsState, records: Iterable[object], file: str, *, part: bool = False) -> None:
    """Feed one file's records (as :func:`adapters.ims.parse.read_records` yields them):
    its ``<properties>`` come first and say whether it is complete or a delta."""
    add_person, add_group, add_member = state.add_person, state.add_group, state.add_member
    begun = False
    for rec in records:
        if not begun:
            begun = True
            state.begin_file(rec if isinstance(rec, FileHead) else None, file, part=part)
        if isinstance(rec, RawMember):
            add_member(rec)
        elif isinstance(rec, RawPerson):
            add_person(rec)
        elif isinstance(rec, RawGroup):
            add_group(rec)
    if not begun:
        state.begin_file(None, file, part=part)
