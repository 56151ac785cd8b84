"""JSON views of stored objects: the same record seen as a user, an education user, a group, a
class, a school, a team or an async operation (reference §1.1, §1.3, §2.4)."""

from __future__ import annotations

from typing import Any

from .store import Group, Operation, School, Team, User

# Graph v1.0 returns this set from /users when no $select is given [memory].
USER_DEFAULT_PROPS = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
)
USER_DEFAULTS: dict[str, Any] = {"businessPhones": []}

# educationUser properties (reference §1.1, from the CSDL).
EDU_USER_PROPS = (
    "accountEnabled",
    "assignedLicenses",
    "assignedPlans",
    "businessPhones",
    "createdBy",
    "department",
    "displayName",
    "externalSource",
    "externalSourceDetail",
    "givenName",
    "mail",
    "mailingAddress",
    "mailNickname",
    "middleName",
    "mobilePhone",
    "officeLocation",
    "onPremisesInfo",
    "passwordPolicies",
    "preferredLanguage",
    "primaryRole",
    "provisionedPlans",
    "refreshTokensValidFromDateTime",
    "relatedContacts",
    "residenceAddress",
    "showInAddressList",
    "student",
    "surname",
    "teacher",
    "usageLocation",
    "userPrincipalName",
    "userType",
)
# Only the education view shows these.
EDU_ONLY_PROPS = frozenset(
    {
        "primaryRole",
        "student",
        "teacher",
        "externalSource",
        "externalSourceDetail",
        "relatedContacts",
        "mailingAddress",
        "residenceAddress",
        "middleName",
        "onPremisesInfo",
        "createdBy",
    }
)
CLASS_SHARED_PROPS = ("displayName", "description", "mailNickname")
CLASS_EDU_PROPS = (
    "classCode",
    "externalId",
    "externalName",
    "externalSource",
    "externalSourceDetail",
    "grade",
    "term",
    "course",
    "createdBy",
)


def user_full(user: User) -> dict[str, Any]:
    """Every /users property of the record (what $select and $filter see)."""
    out: dict[str, Any] = {"id": user.id}
    out.update(USER_DEFAULTS)
    out.update({k: v for k, v in user.props.items() if k not in EDU_ONLY_PROPS})
    return out


def user_view(user: User, select: list[str] | None) -> dict[str, Any]:
    full = user_full(user)
    names = USER_DEFAULT_PROPS if select is None else select
    out: dict[str, Any] = {"id": user.id}
    for name in names:
        out[name] = full.get(name)
    return out


def edu_user_view(user: User) -> dict[str, Any]:
    props = user.props
    out: dict[str, Any] = {"id": user.id}
    for name in EDU_USER_PROPS:
        if name in props:
            out[name] = props[name]
    out.setdefault("primaryRole", "none")
    out.setdefault("businessPhones", [])
    out["onPremisesInfo"] = {"immutableId": props.get("onPremisesImmutableId")}
    return out


def filter_view_user(user: User) -> dict[str, Any]:
    """What $filter sees for a user: both views merged."""
    return {"id": user.id, **user.props}


def group_view(group: Group) -> dict[str, Any]:
    return {"id": group.id, **group.props}


def class_view(group: Group) -> dict[str, Any]:
    out: dict[str, Any] = {"id": group.id}
    for name in CLASS_SHARED_PROPS:
        out[name] = group.props.get(name)
    out.update(group.edu or {})
    return out


def filter_view_group(group: Group) -> dict[str, Any]:
    return {"id": group.id, **group.props, **(group.edu or {})}


def school_view(school: School) -> dict[str, Any]:
    return {"id": school.id, **school.props}


def team_view(team: Team, group: Group | None) -> dict[str, Any]:
    props = group.props if group is not None else {}
    return {
        "id": team.id,
        "displayName": props.get("displayName"),
        "description": props.get("description"),
        "internalId": f"19:{team.id.replace('-', '')}@thread.tacv2",
        "classification": None,
        "specialization": "educationClass" if team.template == "educationClass" else "none",
        "visibility": "hiddenMembership" if team.template == "educationClass" else "private",
        "webUrl": f"https://teams.microsoft.com/l/team/19%3a{team.id.replace('-', '')}"
        "%40thread.tacv2/conversations?groupId=" + team.id,
        "isArchived": team.archived,
        **team.props,
    }


def operation_view(operation: Operation, now: float) -> dict[str, Any]:
    status = operation.status(now)
    return {
        "id": operation.id,
        "operationType": operation.operation_type,
        "createdDateTime": operation.created_iso,
        "status": status,
        "lastActionDateTime": operation.created_iso,
        "attemptsCount": 1,
        "targetResourceId": operation.team_id,
        "targetResourceLocation": f"/teams('{operation.team_id}')",
        "error": None,
    }
