"""Snapshot -> desired Microsoft 365 Education state, under the tenant's policy.

Kinds: ``school`` (educationSchool), ``user`` (educationUser), ``class`` (educationClass, the
class group) and ``team`` (its class team, same key as the class). Links: ``school.user``,
``school.class``, ``class.member`` (students) and ``class.teacher`` (teachers and mentors: group
owners and members). A personnummer is never read here, so it cannot reach a payload.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from typing import Any

from adapters.kit.naming import (
    name_part,
    pseudonym,
    render,
    short_id,
    template_fields,
    unique_names,
)
from adapters.kit.schoolyear import SchoolYear, term_label
from engine.findings import Finding, group_without_teacher
from engine.links import LinkSet
from engine.model import Group, Person, Snapshot
from engine.roster import Role, RosterPolicy, roster
from engine.target import (
    Attrs,
    DesiredObject,
    DesiredState,
    attrs_fingerprint,
    attrs_of,
    desired_object,
)

from .config import MicrosoftConfig
from .naming import clean_local, clean_nickname, nickname_of_local

NO_TEACHER = "a class team needs an owner and cannot be created until it has one"
FIX = "give the group a teacher or mentor in the student administration system"
ORIGIN = "microsoft"

SCHOOL, USER, CLASS, TEAM = "school", "user", "class", "team"
SCHOOL_USER, SCHOOL_CLASS = "school.user", "school.class"
CLASS_MEMBER, CLASS_TEACHER = "class.member", "class.teacher"
TEAM_ATTRS = attrs_of({"template": "educationClass"})
TEAM_FINGERPRINT = attrs_fingerprint(TEAM_ATTRS)


def desired_state(
    snapshot: Snapshot, config: MicrosoftConfig, policy: RosterPolicy
) -> DesiredState:
    """Map one snapshot to the objects and links this tenant should have."""
    findings: list[Finding] = []
    today = snapshot.as_of
    r = roster(snapshot, policy)
    groups, members, teachers = r.groups, r.members, r.teachers
    users = _users(r.persons, r.roles, config, policy)

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
    nicknames: dict[str, str] = {}
    teams: dict[str, DesiredObject] = {}
    untaught: set[str] = set()  # their teams wait for an owner: neither made nor removed
    taught = {gid for gid, owners in teachers.items() if owners}
    for gid, g in groups.items():
        school = snapshot.schools.get(g.school_id)
        classes[gid], nicknames[gid] = _class(
            g, school.name if school else "", school, config, today
        )
        if not config.create_teams:
            continue
        if gid in taught:
            teams[gid] = desired_object(TEAM, gid, TEAM_ATTRS, classes[gid].label, TEAM_FINGERPRINT)
        else:
            untaught.add(gid)
            findings.append(group_without_teacher("class", gid, g.name, NO_TEACHER, FIX, ORIGIN))

    classes = _unique_nicknames(classes, nicknames)
    links = {
        SCHOOL_USER: LinkSet(r.school_users),
        SCHOOL_CLASS: LinkSet(
            (g.school_id, gid) for gid, g in groups.items() if g.school_id in schools
        ),
        CLASS_MEMBER: LinkSet.from_groups(members),
        CLASS_TEACHER: LinkSet.from_groups(teachers),
    }
    objects = {SCHOOL: schools, USER: users, CLASS: classes}
    if config.create_teams:
        objects[TEAM] = teams
    waiting = {TEAM: frozenset(untaught)} if untaught else {}
    return DesiredState(objects=objects, links=links, findings=tuple(findings), waiting=waiting)


def _users(
    persons: Mapping[str, Person],
    roles: Mapping[str, Role],
    config: MicrosoftConfig,
    policy: RosterPolicy,
) -> dict[str, DesiredObject]:
    """Accounts for the persons who have a role; two passes, as account names are unique
    across the whole snapshot. Written for the large municipality's 170,000 people: the
    second pass walks the first pass's rows rather than looking each person up again."""
    mask = policy.protected_identity == "mask"
    locals_wanted: dict[str, str] = {}
    rows: list[tuple[str, Person, bool, str]] = []  # pid, person, masked, domain
    template, domain_value = config.upn_template, config.domain
    used = template_fields(template)
    by_id = bool(used & {"id", "id8"})  # otherwise namesakes share the work: names repeat a lot
    made: dict[tuple[str, str | None, str], tuple[str, str]] = {}
    for pid, p in persons.items():
        if mask and p.is_protected:
            locals_wanted[pid] = f"u{pseudonym(pid)}"
            rows.append((pid, p, True, domain_value.lower()))
            continue
        names = (p.given_name, p.middle_name, p.family_name)
        hit = None if by_id else made.get(names)
        if hit is None:
            upn = render(
                template,
                {
                    "given": name_part(p.given_name),
                    "family": name_part(p.family_name),
                    "middle": name_part(p.middle_name),
                    "domain": domain_value,
                    "id8": short_id(pid) if "id8" in used else "",
                    "id": pid,
                },
            ).replace(" ", "")
            local, _, domain = upn.rpartition("@")
            hit = (clean_local(local), domain.lower())
            if not by_id:
                made[names] = hit
        locals_wanted[pid] = hit[0] or f"u{short_id(pid)}"
        rows.append((pid, p, False, hit[1]))
    unique = unique_names(locals_wanted)  # same keys, same order

    out: dict[str, DesiredObject] = {}
    # pairs whose value depends on the role or the config alone are made once, not per user
    usage = None if config.usage_location is None else ("usageLocation", config.usage_location)
    skus = {"student": config.student_license_sku, "teacher": config.teacher_license_sku}
    sku_pairs = {role: ("licenseSku", sku) for role, sku in skus.items() if sku}
    role_pairs = {role: ("primaryRole", role) for role in ("student", "teacher")}
    match_on, roles_get = config.match_on, roles.get
    for (pid, p, masked, domain), local in zip(rows, unique.values(), strict=True):
        role = roles_get(pid, "student")
        if masked:
            display = f"{'Elev' if role == 'student' else 'Personal'} {pseudonym(pid)}"
            given: str | None = None
            family: str | None = None
        else:
            given, family = p.given_name, p.family_name
            display = f"{given} {family}"
        employee = mail = None
        if match_on == "employeeId":
            employee = _employee_id(p, config)
        elif match_on == "mail" and p.emails and not masked:
            mail = p.emails[0].lower()
        # the frozen attribute map (see attrs_of), written out in key order: no dict, no sort
        pairs: list[tuple[str, Any]] = [_ENABLED, ("displayName", display)]
        if employee is not None:
            pairs.append(("employeeId", employee))
        pairs.append(("externalId", pid))
        if given is not None:
            pairs.append(("givenName", given))
        sku = sku_pairs.get(role)
        if sku is not None:
            pairs.append(sku)
        if mail is not None:
            pairs.append(("mail", mail))
        pairs.append(("mailNickname", nickname_of_local(local)))
        pairs.append(role_pairs.get(role) or ("primaryRole", role))
        if family is not None:
            pairs.append(("surname", family))
        if usage is not None:
            pairs.append(usage)
        pairs.append(("userPrincipalName", f"{local}@{domain}"))
        out[pid] = desired_object(USER, pid, tuple(pairs), display)
    return out


_ENABLED = ("accountEnabled", True)


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
    term_name = term_label(start or today)
    values = {"school_year": year.label, "school_year_short": year.short, "term": term_name}
    return values, attrs_of(term)


def _class(
    g: Group, school_name: str, school: Any, config: MicrosoftConfig, today: date
) -> tuple[DesiredObject, str]:
    """The class and the mailNickname it asks for."""
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
    nickname = clean_nickname(render(config.class_mail_template, values))
    # the frozen attribute map (see attrs_of), written out in key order: no dict, no sort
    head = [] if g.subject is None else [("classCode", g.subject)]
    attrs = (
        *head,
        ("displayName", display),
        ("externalId", g.id),
        ("externalName", g.name),
        _SIS,
        ("mailNickname", nickname),
        ("term", term),
    )
    return desired_object(CLASS, g.id, attrs, display), nickname


_SIS = ("externalSource", "sis")


def _unique_nicknames(
    classes: dict[str, DesiredObject], wanted: dict[str, str]
) -> dict[str, DesiredObject]:
    """Two classes of one snapshot never share a mailNickname (the lowest id keeps it);
    ``wanted`` holds the nickname each class asks for, in the same order."""
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
