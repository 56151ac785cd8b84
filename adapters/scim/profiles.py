"""The two profiles as data: for each object kind, which SCIM attribute carries which value.

``core`` sends RFC 7643 Users (with the enterprise extension) and Groups; ``egil`` sends the SIS
resources of SS 12000:2018 as EGIL does (../shared/reference/egil-scim.md). Each row is
``(SCIM attribute path, source field)``: the mapping builds every resource from its kind's
rows, and docs/targets/scim.md lists the same rows attribute by attribute. A dotted path nests
(``name.givenName``); a path starting with ``urn:`` is an extension, keyed by its schema URN.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

CORE_USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SIS = "urn:scim:schemas:extension:sis:school:1.0"
SIS_USER = f"{SIS}:User"

Row = tuple[str, str]


@dataclass(frozen=True)
class ResourceSpec:
    """One object kind of a profile: its SCIM resource type, endpoint, schemas and rows."""

    kind: str
    resource_type: str
    endpoint: str
    schemas: tuple[str, ...]
    rows: tuple[Row, ...]


CORE: Mapping[str, ResourceSpec] = {
    "user": ResourceSpec(
        "user",
        "User",
        "/Users",
        (CORE_USER_SCHEMA, ENTERPRISE),
        (
            ("externalId", "id"),
            ("userName", "user_name"),
            ("name.givenName", "given_name"),
            ("name.familyName", "family_name"),
            ("displayName", "display_name"),
            ("emails", "emails"),
            ("userType", "role"),
            (f"{ENTERPRISE}:organization", "school_name"),
        ),
    ),
    "group": ResourceSpec(
        "group",
        "Group",
        "/Groups",
        (CORE_GROUP_SCHEMA,),
        (("externalId", "id"), ("displayName", "name")),
    ),
}

EGIL: Mapping[str, ResourceSpec] = {
    "organisation": ResourceSpec(
        "organisation",
        "Organisation",
        "/Organisations",
        (f"{SIS}:Organisation",),
        (("externalId", "uuid"), ("displayName", "name")),
    ),
    "school_unit": ResourceSpec(
        "school_unit",
        "SchoolUnit",
        "/SchoolUnits",
        (f"{SIS}:SchoolUnit",),
        (
            ("externalId", "uuid"),
            ("displayName", "name"),
            ("schoolUnitCode", "school_unit_code"),
            ("municipalityCode", "municipality_code"),
            ("organisation", "organisation_ref"),
        ),
    ),
    "user": ResourceSpec(
        "user",
        "User",
        "/Users",
        (CORE_USER_SCHEMA, SIS_USER),
        (
            ("externalId", "uuid"),
            ("userName", "user_name"),
            ("displayName", "display_name"),
            ("name.givenName", "given_name"),
            ("name.familyName", "family_name"),
            ("emails", "emails"),
            (f"{SIS_USER}:enrolments", "enrolments"),
        ),
    ),
    "employment": ResourceSpec(
        "employment",
        "Employment",
        "/Employments",
        (f"{SIS}:Employment",),
        (
            ("externalId", "uuid"),
            ("employedAt", "school_ref"),
            ("user", "user_ref"),
            ("employmentRole", "title"),
        ),
    ),
    "student_group": ResourceSpec(
        "student_group",
        "StudentGroup",
        "/StudentGroups",
        (f"{SIS}:StudentGroup",),
        (
            ("externalId", "uuid"),
            ("displayName", "name"),
            ("studentGroupType", "group_type"),
            ("owner", "school_ref"),
            ("studentMemberships", "student_refs"),
        ),
    ),
    "activity": ResourceSpec(
        "activity",
        "Activity",
        "/Activities",
        (f"{SIS}:Activity",),
        (
            ("externalId", "uuid"),
            ("displayName", "name"),
            ("owner", "school_ref"),
            ("groups", "group_refs"),
            ("teachers", "employment_refs"),
        ),
    ),
}

PROFILES: Mapping[str, Mapping[str, ResourceSpec]] = {"core": CORE, "egil": EGIL}
