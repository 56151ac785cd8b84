"""The SIS extension schemas of SS 12000:2018 as EGIL sends them, as SCIM schema and resource
type definitions a SCIM server can load (``/Schemas``, ``/ResourceTypes``).

Written from ../shared/reference/egil-scim.md (resource types, endpoints and the attributes seen
in the EGIL client's expected requests) and the Windermere type model summarised in
../shared/reference/sources.md §3.1. Attribute mutability, returned and uniqueness are not
published for the profile: those given here are RFC 7643's defaults (unverified per receiver).
"""

from __future__ import annotations

from typing import Any

SIS = "urn:scim:schemas:extension:sis:school:1.0"
USER_EXTENSION = f"{SIS}:User"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
SCHEMA_URN = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE_URN = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"

# resource type name -> endpoint, in the order EGIL creates them
ENDPOINTS: dict[str, str] = {
    "Organisation": "/Organisations",
    "SchoolUnitGroup": "/SchoolUnitGroups",
    "SchoolUnit": "/SchoolUnits",
    "User": "/Users",
    "Employment": "/Employments",
    "StudentGroup": "/StudentGroups",
    "Activity": "/Activities",
}


def _attr(name: str, kind: str = "string", *, multi: bool = False, **more: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": name,
        "type": kind,
        "multiValued": multi,
        "required": False,
        "caseExact": False,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none",
    }
    out.update(more)
    return out


def _ref(
    name: str, to: str, *, multi: bool = False, extra: tuple[dict[str, Any], ...] = ()
) -> dict[str, Any]:
    """A reference to a ``to`` resource as EGIL sends it: ``{"value": "<uuid>", "$ref":
    "<Endpoint>/<uuid>"}`` (a relative ``$ref``, so a resource reference, not a URI)."""
    subs = [_attr("value"), _attr("$ref", "reference", referenceTypes=[to]), *extra]
    return _attr(name, "complex", multi=multi, subAttributes=subs)


def _schema(name: str, description: str, attributes: list[dict[str, Any]]) -> dict[str, Any]:
    urn = f"{SIS}:{name}"
    return {
        "schemas": [SCHEMA_URN],
        "id": urn,
        "name": name,
        "description": description,
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": f"/Schemas/{urn}"},
    }


def sis_schemas() -> list[dict[str, Any]]:
    """The SIS schemas: the User extension and the six resources of their own."""
    return [
        _schema(
            "User",
            "SS 12000:2018 extension of the core User",
            [_ref("enrolments", "SchoolUnit", multi=True, extra=(_attr("schoolYear", "integer"),))],
        ),
        _schema("Organisation", "Huvudman", [_attr("displayName", required=True)]),
        _schema("SchoolUnitGroup", "Skolenhetsgrupp", [_attr("displayName", required=True)]),
        _schema(
            "SchoolUnit",
            "Skolenhet",
            [
                _attr("displayName", required=True),
                _attr("schoolUnitCode"),
                _attr("municipalityCode"),
                _ref("organisation", "Organisation"),
                _ref("schoolUnitGroup", "SchoolUnitGroup"),
            ],
        ),
        _schema(
            "Employment",
            "Tjänstgöring",
            [
                _ref("employedAt", "SchoolUnit"),
                _ref("user", "User"),
                _attr("employmentRole"),
                _attr("signature"),
            ],
        ),
        _schema(
            "StudentGroup",
            "Elevgrupp",
            [
                _attr("displayName", required=True),
                _attr("studentGroupType"),
                _ref("owner", "SchoolUnit"),
                _ref("studentMemberships", "User", multi=True),
            ],
        ),
        _schema(
            "Activity",
            "Aktivitet",
            [
                _attr("displayName", required=True),
                _ref("owner", "SchoolUnit"),
                _ref("groups", "StudentGroup", multi=True),
                _ref("teachers", "Employment", multi=True),
            ],
        ),
    ]


def sis_resource_types() -> list[dict[str, Any]]:
    """The resource types of the profile; the User is the core User with the SIS extension."""
    out = []
    for name, endpoint in ENDPOINTS.items():
        kind: dict[str, Any] = {
            "schemas": [RESOURCE_TYPE_URN],
            "id": name,
            "name": name,
            "endpoint": endpoint,
            "description": name,
            "schema": CORE_USER if name == "User" else f"{SIS}:{name}",
            "meta": {"resourceType": "ResourceType", "location": f"/ResourceTypes/{name}"},
        }
        if name == "User":
            kind["schemaExtensions"] = [{"schema": USER_EXTENSION, "required": False}]
        out.append(kind)
    return out
