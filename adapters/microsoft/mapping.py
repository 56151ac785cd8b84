"""Snapshot -> desired Microsoft 365 Education state, under the tenant's policy.

Kinds: ``school`` (educationSchool), ``user`` (educationUser), ``class`` (educationClass, the
class group) and ``team`` (its class team, same key as the class). Links: ``school.user``,
``school.class``, ``class.member`` (students) and ``class.teacher`` (teachers and mentors: group
owners and members). A personnummer is never read here, so it cannot reach a payload.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from engine.findings import Finding, Severity
from engine.links import LinkSet
from engine.model import (
    Group,
    MemberRole,
    Person,
    SchoolRoleType,
    Snapshot,
    is_current,
)
from engine.target import Attrs, DesiredObject, DesiredState, attrs_fingerprint, attrs_of

from .config import MicrosoftConfig, template_fields
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
TEAM_ATTRS = attrs_of({"template": "educationClass"})
TEAM_FINGERPRINT = attrs_fingerprint(TEAM_ATTRS)


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

    # Who teaches and who studies: roles from the school roles and the memberships.
    teaching: set[str] = set()
    studying: set[str] = set()
    school_users: list[tuple[str, str]] = []
    for r in snapshot.current_school_roles():
        if r.person_id not in persons:
            continue
        (studying if r.role is SchoolRoleType.STUDENT else teaching).add(r.person_id)
        if r.school_id in snapshot.schools:
            school_users.append((r.school_id, r.person_id))

    # Two million memberships in a large municipality: one pass, grouped by class as we go.
    members: dict[str, set[str]] = {}
    teachers: dict[str, set[str]] = {}
    student = MemberRole.STUDENT
    for m in snapshot.memberships:
        gid, pid = m.group_id, m.person_id
        if gid not in groups or pid not in persons:
            continue
        start, end = m.start, m.end
        if (start is not None and start > today) or (end is not None and end < today):
            continue
        if m.role is student:
            into, who = members, studying
        else:
            into, who = teachers, teaching
        kids = into.get(gid)
        if kids is None:
            into[gid] = {pid}
        else:
            kids.add(pid)
        who.add(pid)
    for gid, owners in teachers.items():  # a teacher of a class is linked once, as teacher
        kids = members.get(gid)
        if kids is not None:
            kids -= owners
    roles = {pid: "student" for pid in studying if pid not in teaching}
    roles.update(dict.fromkeys(teaching, "teacher"))

    users = _users({pid: p for pid, p in persons.items() if pid in roles}, roles, config, policy)

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
    taught = teachers.keys()
    for gid, g in groups.items():
        school = snapshot.schools.get(g.school_id)
        classes[gid] = _class(g, school.name if school else "", school, config, today)
        if not config.create_teams:
            continue
        teams[gid] = DesiredObject(
            TEAM, gid, TEAM_ATTRS, label=classes[gid].label, fingerprint=TEAM_FINGERPRINT
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
        SCHOOL_USER: LinkSet(school_users),
        SCHOOL_CLASS: LinkSet(
            (g.school_id, gid) for gid, g in groups.items() if g.school_id in schools
        ),
        CLASS_MEMBER: LinkSet.from_groups(members),
        CLASS_TEACHER: LinkSet.from_groups(teachers),
    }
    objects = {SCHOOL: schools, USER: users, CLASS: classes}
    if config.create_teams:
        objects[TEAM] = teams
    return DesiredState(objects=objects, links=links, findings=tuple(findings))


def _users(
    persons: dict[str, Person],
    roles: dict[str, str],
    config: MicrosoftConfig,
    policy: MappingPolicy,
) -> dict[str, DesiredObject]:
    masked = {
        pid for pid, p in persons.items() if p.is_protected and policy.protected_identity == "mask"
    }
    locals_wanted: dict[str, str] = {}
    domains: dict[str, str] = {}
    template, domain_value = config.upn_template, config.domain
    wants_id8 = "id8" in template_fields(template)  # a regex per person only when used
    for pid, p in persons.items():
        if pid in masked:
            upn = f"u{pseudonym(pid)}@{domain_value}"
        else:
            upn = render(
                template,
                {
                    "given": name_part(p.given_name),
                    "family": name_part(p.family_name),
                    "middle": name_part(p.middle_name),
                    "domain": domain_value,
                    "id8": short_id(pid) if wants_id8 else "",
                    "id": pid,
                },
            ).replace(" ", "")
        local, _, domain = upn.rpartition("@")
        locals_wanted[pid] = clean_local(local) or f"u{short_id(pid)}"
        domains[pid] = domain.lower()
    unique = unique_names(locals_wanted)

    out: dict[str, DesiredObject] = {}
    for pid, p in persons.items():
        role = roles.get(pid, "student")
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
        # every value is a scalar: sorted pairs are the frozen form (see attrs_of)
        frozen = tuple(sorted((k, v) for k, v in attrs.items() if v is not None))
        out[pid] = DesiredObject(USER, pid, frozen, label=display)
    return out


def _employee_id(p: Person, config: MicrosoftConfig) -> str:
    """The value matched against employeeId: a configured external id, else the source id."""
    if config.employee_id_context:
        for context, value in p.external_ids:
            if context == config.employee_id_context and value:
                return value
    return p.id


@lru_cache(maxsize=4096)
def _term(start: date | None, end: date | None, today: date) -> tuple[dict[str, str], Attrs]:
    """A class's school-year template values and its frozen term: a municipality has a
    handful of distinct date pairs among tens of thousands of classes."""
    year = SchoolYear.of(start or today)
    term = {
        "displayName": year.label,
        "externalId": year.short,
        "startDate": (start or year.first_day).isoformat(),
        "endDate": (end or year.last_day).isoformat(),
    }
    values = {"school_year": year.label, "school_year_short": year.short, "term": year.term}
    return values, attrs_of(term)


def _class(
    g: Group, school_name: str, school: Any, config: MicrosoftConfig, today: date
) -> DesiredObject:
    year_values, term = _term(g.start, g.end, today)
    values = {
        **year_values,
        "name": g.name,
        "id8": short_id(g.id),
        "id": g.id,
        "school": school_name,
        "school_code": (school.school_unit_code or "") if school else "",
        "subject": g.subject or "",
        "type": g.group_type.value,
    }
    display = render(config.class_name_template, values)[:256]
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
    return DesiredObject(CLASS, g.id, tuple(sorted(attrs.items())), label=display)


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
