"""Snapshot -> the desired state of one SCIM service, under the tenant's policy and the
service's scope (schools, roles, group types).

Who is in, in what role and which groups count is the roster's (:mod:`engine.roster`); what
each resource carries is the profile's table (:mod:`adapters.scim.profiles`). The values a
resource is built from are the object's attributes, so a changed value is an update. A
personnummer is never read here, so it cannot reach a request (the EGIL profile's civicNo is
never sent).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.kit.naming import pseudonym
from engine.links import LinkSet
from engine.model import Person, SchoolRoleType, Snapshot
from engine.roster import Role, RosterPolicy, roster
from engine.target import DesiredObject, DesiredState, KindSpec, LinkSpec, attrs_of

from .config import ScimConfig
from .profiles import ENTERPRISE, PROFILES, SIS_USER, ResourceSpec

USER, GROUP, GROUP_MEMBER = "user", "group", "group.member"
CORE_LINKS = (LinkSpec(GROUP_MEMBER, GROUP, USER, rank=1),)
EGIL_ORDER = ("organisation", "school_unit", "user", "employment", "student_group", "activity")
NAMESPACE = uuid.UUID("6f1c3c1e-2b7e-5d0a-9a51-3e55c0a1e550")  # ESS's, for derived UUIDs
REF_ENDPOINTS = {
    "organisation_ref": "Organisations",
    "school_ref": "SchoolUnits",
    "user_ref": "Users",
    "student_refs": "Users",
    "group_refs": "StudentGroups",
    "employment_refs": "Employments",
}
TEACHER_ROLE = "Lärare"


def as_uuid(source_id: str, salt: str = "") -> str:
    """The source's UUID as EGIL sends it; an id that is no UUID (or a derived object, with
    ``salt``) gets a stable version-5 UUID of it."""
    if not salt:
        try:
            return str(uuid.UUID(source_id))
        except ValueError:
            pass
    return str(uuid.uuid5(NAMESPACE, f"{salt}:{source_id}" if salt else source_id))


def kind_specs(profile: str, policy: Any) -> tuple[KindSpec, ...]:
    """``core``: a leaver is made inactive and deleted after the grace period; an ended group
    is deleted (kept with ``class_end = "keep"``). ``egil``: every resource is deleted when it
    goes, as EGIL does; the deletes run after the updates that drop their references."""
    if profile == "egil":
        return tuple(KindSpec(kind, i + 1, retire="delete") for i, kind in enumerate(EGIL_ORDER))
    grace = int(getattr(policy, "suspend_grace_days", 30))
    group_retire = "keep" if str(getattr(policy, "class_end", "archive")) == "keep" else "delete"
    return (
        KindSpec(USER, 1, retire="suspend", grace_days=grace),
        KindSpec(GROUP, 2, retire=group_retire),  # type: ignore[arg-type]
    )


def specs(profile: str) -> Mapping[str, ResourceSpec]:
    return PROFILES[profile]


# ------------------------------------------------------------------ resource bodies
def _ref(field: str, value: str) -> dict[str, str]:
    return {"value": value, "$ref": f"{REF_ENDPOINTS[field]}/{value}"}


def _value(field: str, value: Any) -> Any:
    if field in REF_ENDPOINTS:
        if isinstance(value, tuple | list):
            return [_ref(field, v) for v in value]
        return _ref(field, value)
    if field == "emails":
        return [{"value": e, "type": "work", "primary": i == 0} for i, e in enumerate(value or ())]
    if field == "enrolments":
        out = []
        for school, year in value:
            ref: dict[str, Any] = _ref("school_ref", school)
            if year is not None:
                ref["schoolYear"] = year
            out.append(ref)
        return out
    return value


def resource_body(spec: ResourceSpec, values: Mapping[str, Any]) -> dict[str, Any]:
    """The whole resource of ``spec`` built from its rows over ``values`` (absent values are
    left out)."""
    body: dict[str, Any] = {"schemas": list(spec.schemas)}
    for path, field in spec.rows:
        value = values.get(field)
        if value is None or value == ():
            continue
        if path.startswith("urn:"):
            urn, _, attr = path.rpartition(":")
            body.setdefault(urn, {})[attr] = _value(field, value)
            continue
        head, _, sub = path.partition(".")
        if sub:
            body.setdefault(head, {})[sub] = _value(field, value)
        else:
            body[head] = _value(field, value)
    return body


# ------------------------------------------------------------------ the desired state
@dataclass(frozen=True)
class Scope:
    """What the service receives: which schools, roles and group types."""

    schools: frozenset[str]  # school ids (empty: every school)
    roles: frozenset[str]
    group_types: tuple[str, ...]


def scope_of(snapshot: Snapshot, config: ScimConfig, policy: RosterPolicy) -> Scope:
    wanted = set(config.schools)
    schools = frozenset(
        sid
        for sid, s in snapshot.schools.items()
        if not wanted or sid in wanted or (s.school_unit_code or "") in wanted
    )
    return Scope(schools, frozenset(config.roles), config.group_types or policy.group_types)


def desired_state(
    snapshot: Snapshot, config: ScimConfig, policy: RosterPolicy, name: str
) -> DesiredState:
    scope = scope_of(snapshot, config, policy)
    rpolicy = RosterPolicy(
        protected_identity=policy.protected_identity, group_types=scope.group_types
    )
    r = roster(snapshot, rpolicy)
    schools_of: dict[str, list[str]] = {}
    for sid, pid in sorted(r.school_users):
        if sid in scope.schools:
            schools_of.setdefault(pid, []).append(sid)
    persons = {
        pid: p
        for pid, p in r.persons.items()
        if pid in schools_of and r.roles.get(pid, "student") in scope.roles
    }
    groups = {gid: g for gid, g in r.groups.items() if g.school_id in scope.schools}
    mask = rpolicy.protected_identity == "mask"
    if config.profile == "egil":
        return _egil(snapshot, config, r.roles, persons, schools_of, groups, r, mask, name)
    return _core(snapshot, r.roles, persons, schools_of, groups, r, mask)


def _person_values(p: Person, role: Role, mask: bool) -> dict[str, Any]:
    """Names, login and email of a person; a protected identity under ``mask`` gets a
    pseudonym and no email."""
    if mask and p.is_protected:
        tag = pseudonym(p.id)
        given = "Elev" if role == "student" else "Personal"
        return {
            "user_name": f"u{tag}",
            "given_name": given,
            "family_name": tag,
            "display_name": f"{given} {tag}",
            "emails": (),
        }
    login = (p.eppns or p.emails or (p.id,))[0]
    return {
        "user_name": login,
        "given_name": p.given_name,
        "family_name": p.family_name,
        "display_name": f"{p.given_name} {p.family_name}".strip(),
        "emails": tuple(p.emails[:1]),
    }


def _obj(kind: str, key: str, values: Mapping[str, Any], label: str) -> DesiredObject:
    return DesiredObject(kind, key, attrs_of(dict(values)), label=label)


def _core(
    snapshot: Snapshot,
    roles: Mapping[str, Role],
    persons: Mapping[str, Person],
    schools_of: Mapping[str, list[str]],
    groups: Mapping[str, Any],
    r: Any,
    mask: bool,
) -> DesiredState:
    users: dict[str, DesiredObject] = {}
    for pid, p in persons.items():
        role = roles.get(pid, "student")
        values = _person_values(p, role, mask)
        school = snapshot.schools.get(schools_of[pid][0])
        values.update(
            id=pid,
            role="Student" if role == "student" else "Teacher",
            school_name=school.name if school else None,
        )
        users[pid] = _obj(USER, pid, values, values["display_name"])
    out_groups = {
        gid: _obj(GROUP, gid, {"id": gid, "name": g.name}, g.name) for gid, g in groups.items()
    }
    members = {
        gid: {
            pid for pid in (r.members.get(gid, set()) | r.teachers.get(gid, set())) if pid in users
        }
        for gid in out_groups
    }
    return DesiredState(
        objects={USER: users, GROUP: out_groups},
        links={GROUP_MEMBER: LinkSet.from_groups(members)},
    )


def _egil(
    snapshot: Snapshot,
    config: ScimConfig,
    roles: Mapping[str, Role],
    persons: Mapping[str, Person],
    schools_of: Mapping[str, list[str]],
    groups: Mapping[str, Any],
    r: Any,
    mask: bool,
    name: str,
) -> DesiredState:
    org_key = config.organisation_id or f"organisation:{name}"
    org_uuid = as_uuid(config.organisation_id) if config.organisation_id else as_uuid(name, "org")
    objects: dict[str, dict[str, DesiredObject]] = {k: {} for k in EGIL_ORDER}
    objects["organisation"][org_key] = _obj(
        "organisation",
        org_key,
        {"uuid": org_uuid, "name": config.organisation_name},
        config.organisation_name,
    )
    used_schools = {sid for sids in schools_of.values() for sid in sids} | {
        g.school_id for g in groups.values()
    }
    for sid in sorted(used_schools):
        s = snapshot.schools.get(sid)
        if s is None:
            continue
        objects["school_unit"][sid] = _obj(
            "school_unit",
            sid,
            {
                "uuid": as_uuid(sid),
                "name": s.name,
                "school_unit_code": s.school_unit_code,
                "municipality_code": s.municipality_code,
                "organisation_ref": org_uuid,
            },
            s.name,
        )
    enrolled: dict[str, list[tuple[str, int | None]]] = {}
    employed: dict[tuple[str, str], str] = {}
    for role in snapshot.current_school_roles():
        pid, sid = role.person_id, role.school_id
        if pid not in persons or sid not in objects["school_unit"]:
            continue
        if role.role is SchoolRoleType.STUDENT:
            if roles.get(pid) == "student":
                enrolled.setdefault(pid, []).append((as_uuid(sid), role.school_year))
        elif roles.get(pid) == "teacher":
            employed.setdefault((pid, sid), role.title or TEACHER_ROLE)
    for pid, p in persons.items():
        role_of = roles.get(pid, "student")
        values = _person_values(p, role_of, mask)
        values.update(uuid=as_uuid(pid), enrolments=tuple(sorted(set(enrolled.get(pid, ())))))
        objects["user"][pid] = _obj("user", pid, values, values["display_name"])
    employments_of: dict[str, dict[str, str]] = {}
    for (pid, sid), title in sorted(employed.items()):
        key = f"{pid}@{sid}"
        eid = as_uuid(key, "employment")
        employments_of.setdefault(pid, {})[sid] = eid
        values = {
            "uuid": eid,
            "school_ref": as_uuid(sid),
            "user_ref": as_uuid(pid),
            "title": title,
        }
        objects["employment"][key] = _obj("employment", key, values, title)
    for gid, g in groups.items():
        students = sorted(as_uuid(p) for p in r.members.get(gid, set()) if p in persons)
        objects["student_group"][gid] = _obj(
            "student_group",
            gid,
            {
                "uuid": as_uuid(gid),
                "name": g.name,
                "group_type": g.group_type.value,
                "school_ref": as_uuid(g.school_id),
                "student_refs": tuple(students),
            },
            g.name,
        )
        teaching = sorted(
            _employment(employments_of.get(t, {}), g.school_id)
            for t in r.teachers.get(gid, set())
            if t in persons and employments_of.get(t)
        )
        if teaching:
            objects["activity"][gid] = _obj(
                "activity",
                gid,
                {
                    "uuid": as_uuid(gid, "activity"),
                    "name": g.name,
                    "school_ref": as_uuid(g.school_id),
                    "group_refs": (as_uuid(gid),),
                    "employment_refs": tuple(teaching),
                },
                g.name,
            )
    return DesiredState(objects=objects, links={})


def _employment(by_school: Mapping[str, str], school: str) -> str:
    """The teacher's employment at the group's school, else their first one."""
    return by_school.get(school) or by_school[sorted(by_school)[0]]


def values_of(attrs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    return dict(attrs)


__all__ = ["ENTERPRISE", "SIS_USER", "as_uuid", "desired_state", "kind_specs", "resource_body"]
