"""Snapshot -> desired Google Workspace for Education state, under the tenant's policy.

Kinds: ``user`` (a Directory account, in the org unit of its school and role) and ``course``
(a Classroom course, alias ``d:<group id>``, owned by one of the group's teachers). Links:
``course.teacher`` and ``course.student``. Who gets an account, which groups become courses and
who belongs where is the roster's (:mod:`engine.roster`); names and org units are Google's. A
personnummer is never read here, so it cannot reach a request.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from adapters.kit.naming import name_part, pseudonym, render, short_id, unique_names
from adapters.kit.schoolyear import SchoolYear, term_label
from engine.findings import Finding, group_without_teacher
from engine.links import LinkSet
from engine.model import Group, Person, Snapshot
from engine.roster import Role, RosterPolicy, roster
from engine.target import DesiredObject, DesiredState, KindSpec, LinkSpec, Need, attrs_of

from .addresses import local_part
from .config import GoogleConfig
from .school_groups import GROUP_KIND_SPECS, GROUP_LINK_SPECS, school_groups

NO_TEACHER = "a Classroom course needs an owner and is not created until it has one"
FIX = "give the group a teacher in the student administration system"
ORIGIN = "google"
USER, COURSE = "user", "course"
COURSE_TEACHER, COURSE_STUDENT = "course.teacher", "course.student"
ALIAS_PREFIX = "d:"
NAME_PART_LIMIT = 60  # givenName and familyName (Directory users.insert)
COURSE_NAME_LIMIT = 750
SECTION_LIMIT = 2800


LINK_SPECS = (
    LinkSpec(COURSE_TEACHER, COURSE, USER, rank=1),
    LinkSpec(COURSE_STUDENT, COURSE, USER, rank=2),
)


def link_specs(config: GoogleConfig) -> tuple[LinkSpec, ...]:
    return LINK_SPECS + (GROUP_LINK_SPECS if config.school_groups else ())


def kind_specs(policy: Any, config: GoogleConfig | None = None) -> tuple[KindSpec, ...]:
    """Accounts are suspended and deleted after the grace period; a course whose group ends
    is archived, or kept (Google deletes only archived courses, and ESS never does); a
    school's group is deleted when the school leaves the source."""
    grace = int(getattr(policy, "suspend_grace_days", 30))
    class_end = str(getattr(policy, "class_end", "archive"))
    course_retire = "keep" if class_end == "keep" else "archive"
    return (
        KindSpec(USER, 1, retire="suspend", grace_days=grace),
        # a course is created with its owner: it waits for the owner's account being made
        KindSpec(COURSE, 2, retire=course_retire, needs=(Need("owner", USER),)),  # type: ignore[arg-type]
        *(GROUP_KIND_SPECS if config is not None and config.school_groups else ()),
    )


def alias_of(group_id: str) -> str:
    """The course's domain alias: a create that lost its answer cannot make a second course."""
    return ALIAS_PREFIX + group_id


def desired_state(snapshot: Snapshot, config: GoogleConfig, policy: RosterPolicy) -> DesiredState:
    """Map one snapshot to the accounts, courses and rosters this domain should have."""
    r = roster(snapshot, policy)
    schools_of: dict[str, str] = {}
    for sid, person in sorted(r.school_users):
        schools_of.setdefault(person, sid)
    users = _users(snapshot, r.persons, r.roles, schools_of, config, policy)
    findings: list[Finding] = []
    courses: dict[str, DesiredObject] = {}
    teachers: dict[str, set[str]] = {}
    for gid, g in r.groups.items():
        owners = sorted(t for t in r.teachers.get(gid, ()) if t in users)
        if not owners:
            findings.append(group_without_teacher("course", gid, g.name, NO_TEACHER, FIX, ORIGIN))
            continue
        school = snapshot.schools.get(g.school_id)
        courses[gid] = _course(g, school.name if school else "", owners[0], config, r.as_of)
        teachers[gid] = set(owners)
    students = {
        gid: {p for p in kids if p in users} for gid, kids in r.members.items() if gid in courses
    }
    objects: dict[str, Mapping[str, DesiredObject]] = {USER: users, COURSE: courses}
    links = {
        COURSE_TEACHER: LinkSet.from_groups(teachers),
        COURSE_STUDENT: LinkSet.from_groups(students),
    }
    if config.school_groups:
        groups, members = school_groups(snapshot, r.school_users, r.roles, users, config)
        objects.update(groups)
        links.update(members)
    return DesiredState(objects=objects, links=links, findings=tuple(findings))


def org_unit(config: GoogleConfig, school: str, school_code: str, role: Role) -> str:
    """The org unit path of a school's students or staff (created as needed)."""
    role_name = config.student_ou_name if role == "student" else config.teacher_ou_name
    values = {"school": school, "school_code": school_code, "role": role_name}
    parts = [p.strip() for p in render(config.org_unit_template, values).split("/") if p.strip()]
    root = config.org_unit_root.rstrip("/")
    return (root + "".join(f"/{p}" for p in parts)) or "/"


def _users(
    snapshot: Snapshot,
    persons: Mapping[str, Person],
    roles: Mapping[str, Role],
    schools_of: Mapping[str, str],
    config: GoogleConfig,
    policy: RosterPolicy,
) -> dict[str, DesiredObject]:
    mask = policy.protected_identity == "mask"
    wanted: dict[str, str] = {}
    domains: dict[str, str] = {}
    for pid, p in persons.items():
        if mask and p.is_protected:
            wanted[pid], domains[pid] = f"u{pseudonym(pid)}", config.domain.lower()
            continue
        email = render(
            config.email_template,
            {
                "given": name_part(p.given_name),
                "family": name_part(p.family_name),
                "middle": name_part(p.middle_name),
                "domain": config.domain,
                "id8": short_id(pid),
                "id": pid,
            },
        ).replace(" ", "")
        local, _, domain = email.rpartition("@")
        wanted[pid] = local_part(local) or f"u{short_id(pid)}"
        domains[pid] = domain.lower()
    unique = unique_names(wanted)
    out: dict[str, DesiredObject] = {}
    for pid, p in persons.items():
        role = roles.get(pid, "student")
        school = snapshot.schools.get(schools_of.get(pid, ""))
        if mask and p.is_protected:
            given = "Elev" if role == "student" else "Personal"
            family = pseudonym(pid)
        else:
            given, family = p.given_name[:NAME_PART_LIMIT], p.family_name[:NAME_PART_LIMIT]
        attrs = {
            "primaryEmail": f"{unique[pid]}@{domains[pid]}",
            "givenName": given,
            "familyName": family,
            "orgUnitPath": org_unit(
                config,
                school.name if school else "",
                (school.school_unit_code or "") if school else "",
                role,
            ),
            "externalId": pid,
            "role": role,
        }
        out[pid] = DesiredObject(USER, pid, attrs_of(attrs), label=f"{given} {family}")
    return out


def _course(
    g: Group, school_name: str, owner: str, config: GoogleConfig, today: date
) -> DesiredObject:
    start = g.start or today
    year = SchoolYear.of(start)
    values = {
        "name": g.name,
        "school_year": year.label,
        "school_year_short": year.short,
        "term": term_label(start),
        "id8": short_id(g.id),
        "id": g.id,
        "school": school_name,
        "subject": g.subject or "",
        "type": g.group_type.value,
    }
    name = render(config.course_name_template, values)[:COURSE_NAME_LIMIT] or g.id
    section = render(config.course_section_template, values)[:SECTION_LIMIT]
    attrs = {"alias": alias_of(g.id), "name": name, "owner": owner, "section": section}
    return DesiredObject(COURSE, g.id, attrs_of(attrs), label=name)
