"""A snapshot written as IMS Enterprise XML in Tieto's Organization API v12 form.

The sample generator writes the synthetic municipality through this (a complete export,
and a delta export for each step it moves on), so the IMS source is tested on the very
municipality the SS 12000 source reads. What it writes validates against Tieto's
``tieto-edu-organization-v12.xsd`` and reads back to the same snapshot:

- a school is a group of type ``Unit`` (its skolenhetskod in the extension's ``id``), its
  parent an ``Organization`` group whose membership lists it;
- a group is a group of its IMS type (``Class``, ``EducationGroup``, ...), listed in the
  membership of its school;
- a person's school roles are their roles in the unit's membership (``Student`` with the
  school year in a ``placement``, ``Instructor``, or ``Member`` for other staff, the title
  as ``subrole``); memberships are roles in the group's membership.

The personnummer is written as the ``PID`` userid, as the vendors' exports carry it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from lxml import etree

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

NS = "http://open.tieto.com/edu/organization/v12"
_Q = "{%s}" % NS  # noqa: UP031 - a namespace prefix, not a message
GROUP_TYPE_NAMES: dict[GroupType, str] = {
    GroupType.KLASS: "Class",
    GroupType.UNDERVISNING: "EducationGroup",
    GroupType.MENTOR: "MentorGroup",
    GroupType.PROVGRUPP: "ExamGroup",
    GroupType.SCHEMA: "ScheduleGroup",
    GroupType.AVDELNING: "DepartmentGroup",
    GroupType.PERSONALGRUPP: "OtherGroup",
    GroupType.OVRIGT: "OtherGroup",
}
MEMBER_ROLE_NAMES = {
    MemberRole.STUDENT: "Student",
    MemberRole.TEACHER: "Instructor",
    MemberRole.MENTOR: "Mentor",
}
SCHOOL_ROLE_NAMES = {
    SchoolRoleType.STUDENT: "Student",
    SchoolRoleType.TEACHER: "Instructor",
    SchoolRoleType.STAFF: "Member",
}
OPEN_START, OPEN_END = "0001-01-01", "9999-12-31"


def _el(parent: Any, tag: str, text: str | None = None, **attrs: str) -> Any:
    if parent is None:
        el = etree.Element(_Q + tag, attrs, nsmap={None: NS})
    else:
        el = etree.SubElement(parent, _Q + tag, attrs)
    if text is not None:
        el.text = text
    return el


def _sourced(parent: Any, rid: str) -> None:
    sid = _el(parent, "sourcedid")
    _el(sid, "source", "ESS")
    _el(sid, "id", rid)


def _timeframe(parent: Any, start: date | None, end: date | None) -> None:
    if start is None and end is None:
        return
    tf = _el(parent, "timeframe")
    if start is not None:
        _el(tf, "begin", start.isoformat())
    if end is not None:
        _el(tf, "end", end.isoformat())


def person_element(p: Person, recstatus: str | None = None) -> Any:
    el = _el(None, "person", **({"recstatus": recstatus} if recstatus else {}))
    _sourced(el, p.id)
    if p.civic_no:
        _el(el, "userid", p.civic_no, useridtype="PID")
    for eppn in p.eppns:
        _el(el, "userid", eppn, useridtype="EPPN")
    for context, value in p.external_ids:
        _el(el, "userid", value, useridtype=context)
    name = _el(el, "name")
    _el(name, "fn", p.display_name)
    n = _el(name, "n")
    _el(n, "family", p.family_name)
    _el(n, "given", p.given_name)
    if p.middle_name:
        _el(n, "other", p.middle_name)
    for tag, email in zip(("emailworkschool", "emailworkschool2"), p.emails, strict=False):
        _el(el, tag, email)
    ext = _el(el, "extension")
    if p.protection is Protection.NONE:
        _el(ext, "privacy", "false")
    else:
        level = "2" if p.protection is Protection.PROTECTED_REGISTRATION else "1"
        _el(ext, "privacy", "true", level=level)
    return el


def _group_head(
    rid: str, type_name: str, name: str, start: date | None, end: date | None, recstatus: str
) -> Any:
    el = _el(None, "group", **({"recstatus": recstatus} if recstatus else {}))
    _sourced(el, rid)
    gt = _el(el, "grouptype")
    _el(gt, "typevalue", type_name, level="1")
    desc = _el(el, "description")
    _el(desc, "short", name)
    _timeframe(el, start, end)
    return el


def school_element(s: School, recstatus: str = "") -> Any:
    el = _group_head(s.id, "Unit", s.name, s.start, s.end, recstatus)
    if s.school_unit_code or s.municipality_code or s.school_types:
        ext = _el(el, "extension")
        if s.school_unit_code:
            _el(ext, "id", s.school_unit_code)
        if s.municipality_code:
            _el(ext, "municipalitycode", s.municipality_code)
        for t in s.school_types:
            _el(ext, "schooltype", t)
    return el


def organisation_element(rid: str, recstatus: str = "") -> Any:
    return _group_head(rid, "Organization", rid, None, None, recstatus)


def group_element(g: Group, recstatus: str = "") -> Any:
    el = _group_head(g.id, GROUP_TYPE_NAMES[g.group_type], g.name, g.start, g.end, recstatus)
    personal = g.group_type is GroupType.PERSONALGRUPP
    if g.school_type or personal or g.subject:
        ext = _el(el, "extension")
        if g.school_type:
            _el(ext, "schooltype", g.school_type)
        if personal:
            _el(ext, "subgrouptype", "Personalgrupp")
        if g.subject:
            course = _el(ext, "course")
            _el(course, "coursecode", g.subject)
    return el


class Role:
    """One role of one member in a membership, as the writer lays it out."""

    __slots__ = ("begin", "end", "group_member", "member_id", "recstatus", "role", "sub", "year")

    def __init__(
        self,
        member_id: str,
        role: str,
        *,
        group_member: bool = False,
        begin: date | None = None,
        end: date | None = None,
        sub: str | None = None,
        year: int | None = None,
        recstatus: str = "",
    ) -> None:
        self.member_id, self.role, self.group_member = member_id, role, group_member
        self.begin, self.end, self.sub, self.year = begin, end, sub, year
        self.recstatus = recstatus

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.member_id, self.role, self.sub or "")

    def same(self, other: Role) -> bool:
        return (self.begin, self.end, self.year) == (other.begin, other.end, other.year)


def membership_element(group_id: str, roles: Iterable[Role]) -> Any:
    el = _el(None, "membership")
    _sourced(el, group_id)
    for r in roles:
        member = _el(el, "member")
        _sourced(member, r.member_id)
        _el(member, "idtype", "Group" if r.group_member else "Person")
        role = _el(
            member,
            "role",
            roletype=r.role,
            **({"recstatus": r.recstatus} if r.recstatus else {}),
        )
        if r.sub:
            _el(role, "subrole", r.sub)
        _el(role, "status", "1")
        _timeframe(role, r.begin, r.end)
        if r.year is not None:
            ext = _el(role, "extension")
            placement = _el(ext, "placement")
            _el(placement, "schoolyear", str(r.year))
            _el(placement, "begin", r.begin.isoformat() if r.begin else OPEN_START)
            _el(placement, "end", r.end.isoformat() if r.end else OPEN_END)
            _el(placement, "timestamp", (r.begin or date(2000, 1, 1)).isoformat())
    return el


def roles_by_group(snap: Snapshot) -> dict[str, dict[tuple[str, str, str], Role]]:
    """Every membership of the export, by the group (or unit) that lists it."""
    out: dict[str, dict[tuple[str, str, str], Role]] = {}

    def put(group_id: str, role: Role) -> None:
        out.setdefault(group_id, {})[role.key] = role

    for s in snap.schools.values():
        if s.parent_id and s.parent_id != s.id:
            put(s.parent_id, Role(s.id, "Unit", group_member=True))
    for g in snap.groups.values():
        put(g.school_id, Role(g.id, GROUP_TYPE_NAMES[g.group_type], group_member=True))
    for r in snap.school_roles:
        put(r.school_id, _school_role(r))
    for m in snap.memberships:
        put(m.group_id, _member_role(m))
    return out


def _school_role(r: SchoolRole) -> Role:
    return Role(
        r.person_id,
        SCHOOL_ROLE_NAMES[r.role],
        begin=r.start,
        end=r.end,
        sub=r.title,
        year=r.school_year if r.role is SchoolRoleType.STUDENT else None,
    )


def _member_role(m: Membership) -> Role:
    return Role(m.person_id, MEMBER_ROLE_NAMES[m.role], begin=m.start, end=m.end)


def organisations(snap: Snapshot) -> set[str]:
    """The parents of schools that are no school themselves: written as organisations."""
    return {
        s.parent_id
        for s in snap.schools.values()
        if s.parent_id and s.parent_id not in snap.schools
    }


def _properties(kind: str, as_of: date) -> Any:
    props = _el(None, "properties")
    _el(props, "schooltype", "GR")
    _el(props, "datasource", "ESS sample")
    _el(props, "type", kind)
    tf = _el(props, "timeframe")
    _el(tf, "start", f"{as_of.isoformat()}T00:00:00")
    _el(props, "datetime", f"{as_of.isoformat()} 00:00:00")
    return props


def _write(path: Path, kind: str, as_of: date, records: Iterator[Any]) -> None:
    with etree.xmlfile(str(path), encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element(_Q + "enterprise", nsmap={None: NS}):
            xf.write(_properties(kind, as_of), pretty_print=True)
            for el in records:
                xf.write(el, pretty_print=True)


def write_complete(snap: Snapshot, path: Path) -> None:
    """The whole snapshot as one complete export."""

    def records() -> Iterator[Any]:
        for p in snap.persons.values():
            yield person_element(p)
        for oid in sorted(organisations(snap)):
            yield organisation_element(oid)
        for s in snap.schools.values():
            yield school_element(s)
        for g in snap.groups.values():
            yield group_element(g)
        for gid, roles in roles_by_group(snap).items():
            yield membership_element(gid, roles.values())

    _write(path, "CompleteOrganization", snap.as_of, records())


def write_delta(before: Snapshot, after: Snapshot, path: Path) -> dict[str, int]:
    """What changed from ``before`` to ``after`` as one delta export (recstatus 1 add,
    2 update, 3 delete); returns how many records of each kind it holds."""
    counts = {"added": 0, "updated": 0, "deleted": 0}

    def status(old: object, new: object) -> str | None:
        if old is None:
            counts["added"] += 1
            return "1"
        if old != new:
            counts["updated"] += 1
            return "2"
        return None

    def records() -> Iterator[Any]:  # in the schema's order: persons, groups, memberships
        for pid, p in after.persons.items():
            if (rs := status(before.persons.get(pid), p)) is not None:
                yield person_element(p, rs)
        for pid, p in before.persons.items():
            if pid not in after.persons:
                counts["deleted"] += 1
                yield person_element(p, "3")
        old_orgs, new_orgs = organisations(before), organisations(after)
        for oid in sorted(new_orgs - old_orgs):
            counts["added"] += 1
            yield organisation_element(oid, "1")
        for oid in sorted(old_orgs - new_orgs):
            counts["deleted"] += 1
            yield organisation_element(oid, "3")
        for sid, s in after.schools.items():
            if (rs := status(before.schools.get(sid), s)) is not None:
                yield school_element(s, rs)
        for sid, s in before.schools.items():
            if sid not in after.schools:
                counts["deleted"] += 1
                yield school_element(s, "3")
        for gid, g in after.groups.items():
            if (rs := status(before.groups.get(gid), g)) is not None:
                yield group_element(g, rs)
        for gid, g in before.groups.items():
            if gid not in after.groups:
                counts["deleted"] += 1
                yield group_element(g, "3")
        yield from _membership_changes(before, after, counts)

    _write(path, "DeltaOrganization", after.as_of, records())
    return counts


def _membership_changes(before: Snapshot, after: Snapshot, counts: dict[str, int]) -> Iterator[Any]:
    old, new = roles_by_group(before), roles_by_group(after)
    for gid in sorted(set(old) | set(new)):
        was, now = old.get(gid, {}), new.get(gid, {})
        changed: list[Role] = []
        for key, role in now.items():
            prev = was.get(key)
            if prev is None:
                role.recstatus = "1"
                counts["added"] += 1
            elif not prev.same(role):
                role.recstatus = "2"
                counts["updated"] += 1
            else:
                continue
            changed.append(role)
        for key, role in was.items():
            if key not in now:
                role.recstatus = "3"
                counts["deleted"] += 1
                changed.append(role)
        if changed:
            yield membership_element(gid, changed)
