"""Snapshot -> desired Microsoft 365 Education state, under the tenant's policy.

Kinds: ``school`` (educationSchool), ``user`` (educationUser), ``class`` (educationClass, the
class group) and ``team`` (its class team, same key as the class). Links: ``school.user``,
``school.class``, ``class.member`` (students) and ``class.teacher`` (teachers and mentors: group
owners and members). A personnummer is never read here, so it cannot reach a payload.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from engine.findings import Finding, Severity
from engine.model import (
    Group,
    MemberRole,
    Person,
    SchoolRoleType,
    Snapshot,
    is_current,
)
from engine.target import DesiredObject, DesiredState, attrs_of

from .config import MicrosoftConfig
from .naming import (
    SchoolYear,
    clean_local,
    clean_nickname,
    name_part,
    pseudonym,
    render,
    short_id,
    unique_names,
)

ORIGIN = "microsoft"

SCHOOL, USER, CLASS, TEAM = "school", "user", "class", "team"
SCHOOL_USER, SCHOOL_CLASS = "school.user", "school.class"
CLASS_MEMBER, CLASS_TEACHER = "class.member", "class.teacher"


@dataclass(frozen=True)
class MappingPolicy:
    """The parts of the tenant policy the mapping reads."""

    protected_identity: str = "exclude"  # exclude | mask | include
    group_types: tuple[str, ...] = ("Klass", "Undervisning")

    @classmethod
    def of(cls, policy: Any) -> MappingPolicy:
        if policy is None:
            return cls()
        return cls(
            protected_identity=str(getattr(policy, "protected_identity", "exclude")),
            group_types=tuple(getattr(policy, "group_types", cls.group_types)),
        )


def desired_state(
    snapshot: Snapshot, config: MicrosoftConfig, policy: MappingPolicy
) -> DesiredState:
    """Map one snapshot to the objects and links this tenant should have."""
    findings: list[Finding] = []
    today = snapshot.as_of

    persons = {
        pid: p
        for pid, p in snapshot.persons.items()
        if not (p.is_protected and policy.protected_identity == "exclude")
    }
    groups = {
        gid: g
        for gid, g in snapshot.groups.items()
        if g.group_type.value in policy.group_types and is_current(g.start, g.end, today)
    }

    roles: dict[str, set[str]] = {}
    school_users: set[tuple[str, str]] = set()
    for r in snapshot.current_school_roles():
        if r.person_id not in persons:
            continue
        roles.setdefault(r.person_id, set()).add(
            "student" if r.role is SchoolRoleType.STUDENT else "teacher"
        )
        if r.school_id in snapshot.schools:
            school_users.add((r.school_id, r.person_id))

    members: set[tuple[str, str]] = set()
    teachers: set[tuple[str, str]] = set()
    for m in snapshot.current_memberships():
        if m.group_id not in groups or m.person_id not in persons:
            continue
        if m.role is MemberRole.STUDENT:
            members.add((m.group_id, m.person_id))
            roles.setdefault(m.person_id, set()).add("student")
        else:
            teachers.add((m.group_id, m.person_id))
            roles.setdefault(m.person_id, set()).add("teacher")
    members -= teachers  # a teacher of a class is linked once, as teacher (owner and member)

    users = _users({pid: persons[pid] for pid in roles}, roles, config, policy)

    schools = {
        sid: DesiredObject(
            SCHOOL,
            sid,
            attrs_of(
                _drop_none(
                    {
                        "displayName": s.name,
                        "externalId": sid,
                        "schoolNumber": s.school_unit_code,
                        "externalSource": "sis",
                    }
                )
            ),
            label=s.name,
        )
        for sid, s in snapshot.schools.items()
    }

    classes: dict[str, DesiredObject] = {}
    teams: dict[str, DesiredObject] = {}
    taught = {gid for gid, _ in teachers}
    for gid, g in groups.items():
        school = snapshot.schools.get(g.school_id)
        classes[gid] = _class(g, school.name if school else "", school, config, today)
        if not config.create_teams:
            continue
        teams[gid] = DesiredObject(
            TEAM, gid, attrs_of({"template": "educationClass"}), label=classes[gid].label
        )
        if gid not in taught:
            findings.append(
                Finding(
                    code="class_without_teacher",
                    severity=Severity.WARNING,
                    record_type="group",
                    record_id=gid,
                    message=f"group {g.name!r} has no teacher; a class team needs an owner and "
                    "cannot be created until it has one",
                    fix="give the group a teacher or mentor in the student administration system",
                    origin=ORIGIN,
                )
            )

    classes = _unique_nicknames(classes)
    links = {
        SCHOOL_USER: frozenset(school_users),
        SCHOOL_CLASS: frozenset(
            (g.school_id, gid) for gid, g in groups.items() if g.school_id in schools
        ),
        CLASS_MEMBER: frozenset(members),
        CLASS_TEACHER: frozenset(teachers),
    }
    objects = {SCHOOL: schools, USER: users, CLASS: classes}
    if config.create_teams:
        objects[TEAM] = teams
    return DesiredState(objects=objects, links=links, findings=tuple(findings))


def primary_role(roles: Iterable[str]) -> str:
    """Teacher wins: a member of staff who also studies is managed as staff."""
    return "teacher" if "teacher" in set(roles) else "student"


def _users(
    persons: dict[str, Person],
    roles: dict[str, set[str]],
    config: MicrosoftConfig,
    policy: MappingPolicy,
) -> dict[str, DesiredObject]:
    masked = {
        pid for pid, p in persons.items() if p.is_protected and policy.protected_identity == "mask"
    }
    locals_wanted: dict[str, str] = {}
    domains: dict[str, str] = {}
    for pid, p in persons.items():
        if pid in masked:
            upn = f"u{pseudonym(pid)}@{config.domain}"
        else:
            upn = render(
                config.upn_template,
                {
                    "given": name_part(p.given_name),
                    "family": name_part(p.family_name),
                    "middle": name_part(p.middle_name),
                    "domain": config.domain,
                    "id8": short_id(pid),
                    "id": pid,
                },
            ).replace(" ", "")
        local, _, domain = upn.rpartition("@")
        locals_wanted[pid] = clean_local(local) or f"u{short_id(pid)}"
        domains[pid] = domain.lower()
    unique = unique_names(locals_wanted)

    out: dict[str, DesiredObject] = {}
    for pid, p in persons.items():
        role = primary_role(roles.get(pid, ()))
        local = unique[pid]
        if pid in masked:
            tag = pseudonym(pid)
            display = f"{'Elev' if role == 'student' else 'Personal'} {tag}"
            given: str | None = None
            family: str | None = None
        else:
            display, given, family = p.display_name, p.given_name, p.family_name
        attrs: dict[str, Any] = {
            "userPrincipalName": f"{local}@{domains[pid]}",
            "mailNickname": clean_nickname(local),
            "displayName": display,
            "givenName": given,
            "surname": family,
            "usageLocation": config.usage_location,
            "primaryRole": role,
            "externalId": pid,
            "accountEnabled": True,
        }
        sku = config.student_license_sku if role == "student" else config.teacher_license_sku
        if sku:
            attrs["licenseSku"] = sku
        if config.match_on == "employeeId":
            attrs["employeeId"] = _employee_id(p, config)
        elif config.match_on == "mail" and p.emails and pid not in masked:
            attrs["mail"] = p.emails[0].lower()
        out[pid] = DesiredObject(USER, pid, attrs_of(_drop_none(attrs)), label=display)
    return out


def _employee_id(p: Person, config: MicrosoftConfig) -> str:
    """The value matched against employeeId: a configured external id, else the source id."""
    if config.employee_id_context:
        for context, value in p.external_ids:
            if context == config.employee_id_context and value:
                return value
    return p.id


def _class(
    g: Group, school_name: str, school: Any, config: MicrosoftConfig, today: Any
) -> DesiredObject:
    year = SchoolYear.of(g.start or today)
    values = {
        "name": g.name,
        "school_year": year.label,
        "school_year_short": year.short,
        "term": year.term,
        "id8": short_id(g.id),
        "id": g.id,
        "school": school_name,
        "school_code": (school.school_unit_code or "") if school else "",
        "subject": g.subject or "",
        "type": g.group_type.value,
    }
    display = render(config.class_name_template, values)[:256]
    term: dict[str, Any] = {
        "displayName": year.label,
        "externalId": year.short,
        "startDate": (g.start or year.first_day).isoformat(),
        "endDate": (g.end or year.last_day).isoformat(),
    }
    attrs = _drop_none(
        {
            "displayName": display,
            "mailNickname": clean_nickname(render(config.class_mail_template, values)),
            "externalId": g.id,
            "externalName": g.name,
            "externalSource": "sis",
            "classCode": g.subject,
            "term": term,
        }
    )
    return DesiredObject(CLASS, g.id, attrs_of(attrs), label=display)


def _unique_nicknames(classes: dict[str, DesiredObject]) -> dict[str, DesiredObject]:
    """Two classes of one snapshot never share a mailNickname (the lowest id keeps it)."""
    wanted = {key: str(dict(c.attrs)["mailNickname"]) for key, c in classes.items()}
    unique = unique_names(wanted, sep="-")
    out = {}
    for key, c in classes.items():
        if unique[key] == wanted[key]:
            out[key] = c
            continue
        attrs = dict(c.attrs)
        attrs["mailNickname"] = unique[key]
        out[key] = DesiredObject(CLASS, key, attrs_of(attrs), label=c.label)
    return out


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
