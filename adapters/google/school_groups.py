"""Optional Directory groups per school and role (``school_groups = true``): one group of a
school's students and one of its staff, each with its members, so that a school can share a
Drive folder or mail everyone at once.

Each role is its own kind keyed by the school's source id (``student_group``,
``staff_group``), so a school the source refuses is held like any other record and its groups
are never removed for it; a school that leaves the source has its groups deleted, through the
guard. Members are added and removed through the Directory members API, in Directory batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from adapters.kit.naming import name_part, render, unique_names
from engine.links import LinkSet
from engine.model import Snapshot
from engine.roster import Role
from engine.target import DesiredObject, KindSpec, LinkSpec, attrs_of

from .addresses import local_part
from .config import GoogleConfig

STUDENT_GROUP, STAFF_GROUP = "student_group", "staff_group"
GROUP_KINDS: Mapping[Role, str] = {"student": STUDENT_GROUP, "teacher": STAFF_GROUP}
MEMBER_LINKS: Mapping[str, str] = {kind: f"{kind}.member" for kind in GROUP_KINDS.values()}
DESCRIPTION = "Managed by ESS from the student administration system: changes are undone."
GROUP_NAME_LIMIT = 75  # Directory groups.insert: name

GROUP_LINK_SPECS = tuple(
    LinkSpec(link, kind, "user", rank=3) for kind, link in MEMBER_LINKS.items()
)
GROUP_KIND_SPECS = tuple(KindSpec(kind, 3, retire="delete") for kind in GROUP_KINDS.values())


def school_groups(
    snapshot: Snapshot,
    school_users: Iterable[tuple[str, str]],
    roles: Mapping[str, Role],
    users: Mapping[str, DesiredObject],
    config: GoogleConfig,
) -> tuple[dict[str, dict[str, DesiredObject]], dict[str, LinkSet]]:
    """The groups of each school that has users, and their members (accounts ESS manages)."""
    members: dict[str, dict[str, set[str]]] = {kind: {} for kind in GROUP_KINDS.values()}
    for sid, person in school_users:
        if person in users:
            kind = GROUP_KINDS[roles.get(person, "student")]
            members[kind].setdefault(sid, set()).add(person)
    wanted: dict[str, str] = {}
    labels: dict[str, tuple[str, str, str, str]] = {}
    for kind, by_school in members.items():
        role = config.student_ou_name if kind == STUDENT_GROUP else config.teacher_ou_name
        for sid in sorted(by_school):
            school = snapshot.schools.get(sid)
            name, code = (school.name, school.school_unit_code or "") if school else (sid, "")
            values = {
                "school": name_part(name),
                "school_code": name_part(code),
                "role": name_part(role),
                "domain": config.domain,
            }
            local, _, domain = render(config.group_email_template, values).rpartition("@")
            wanted[f"{kind}/{sid}"] = local_part(local) or f"{name_part(role)}-{sid[:8]}"
            shown = {"school": name, "school_code": code, "role": role, "domain": config.domain}
            group_name = render(config.group_name_template, shown)[:GROUP_NAME_LIMIT]
            labels[f"{kind}/{sid}"] = (kind, sid, group_name or f"{name} {role}", domain.lower())
    unique = unique_names(wanted, sep="-")
    objects: dict[str, dict[str, DesiredObject]] = {kind: {} for kind in GROUP_KINDS.values()}
    for ref, (kind, sid, group_name, domain) in labels.items():
        attrs = {
            "email": f"{unique[ref]}@{domain}",
            "name": group_name,
            "description": DESCRIPTION,
        }
        objects[kind][sid] = DesiredObject(kind, sid, attrs_of(attrs), label=group_name)
    links = {MEMBER_LINKS[kind]: LinkSet.from_groups(members[kind]) for kind in members}
    return objects, links
