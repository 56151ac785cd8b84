"""Every Directory and Classroom call ESS makes, as data: method, encoded path, the discovery
document's path template, query parameters and body. The client sends them alone or in a
batch; the tests check each against the discovery documents google-api-python-client ships,
so a call cannot drift from the published API.

Path parameters are percent-encoded whole (an alias ``d:2026/HT MA1`` is one segment), except
``{+orgUnitPath}``, whose slashes stay, as the discovery documents' reserved expansion says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote, urlencode

Api = Literal["classroom", "directory"]
DIR = "admin/directory/v1"
WRITES = frozenset({"POST", "PATCH", "PUT", "DELETE"})
COURSE_PATCHABLE = frozenset(
    {
        "courseState",
        "description",
        "descriptionHeading",
        "name",
        "ownerId",
        "room",
        "section",
        "subject",
    }
)


@dataclass(frozen=True)
class ApiCall:
    api: Api
    method: str
    template: str  # the discovery document's path, e.g. "v1/courses/{id}"
    path: str  # the encoded path, relative to the root URL
    params: tuple[tuple[str, str], ...] = ()
    body: Mapping[str, Any] | None = field(default=None, hash=False, compare=False)

    @property
    def writes(self) -> bool:
        return self.method in WRITES

    @property
    def target(self) -> str:
        """Path and query as a batch part's request line names them."""
        query = urlencode(self.params)
        return "/" + self.path + (f"?{query}" if query else "")


def _seg(value: str) -> str:
    return quote(value, safe="")


def _call(
    api: Api,
    method: str,
    template: str,
    values: Mapping[str, str] | None = None,
    params: Sequence[tuple[str, str]] = (),
    body: Mapping[str, Any] | None = None,
) -> ApiCall:
    path = template
    for name, value in (values or {}).items():
        path = path.replace(f"{{+{name}}}", quote(value.lstrip("/"), safe="/"))
        path = path.replace(f"{{{name}}}", _seg(value))
    return ApiCall(api, method, template, path, tuple(params), body)


# -- Directory ------------------------------------------------------------------------------


def insert_user(body: Mapping[str, Any]) -> ApiCall:
    return _call("directory", "POST", f"{DIR}/users", body=body)


def get_user(key: str) -> ApiCall:
    return _call("directory", "GET", f"{DIR}/users/{{userKey}}", {"userKey": key})


def patch_user(key: str, body: Mapping[str, Any]) -> ApiCall:
    return _call("directory", "PATCH", f"{DIR}/users/{{userKey}}", {"userKey": key}, body=body)


def delete_user(key: str) -> ApiCall:
    return _call("directory", "DELETE", f"{DIR}/users/{{userKey}}", {"userKey": key})


def list_users(
    *, query: str = "", page_token: str = "", page_size: int = 500, fields: str = ""
) -> ApiCall:
    params = [("customer", "my_customer"), ("maxResults", str(page_size))]
    params += [("query", query)] if query else []
    params += [("pageToken", page_token)] if page_token else []
    params += [("fields", fields)] if fields else []
    return _call("directory", "GET", f"{DIR}/users", params=params)


def insert_orgunit(name: str, parent: str) -> ApiCall:
    body = {"name": name, "parentOrgUnitPath": parent}
    return _call(
        "directory",
        "POST",
        f"{DIR}/customer/{{customerId}}/orgunits",
        {"customerId": "my_customer"},
        body=body,
    )


def get_orgunit(path: str) -> ApiCall:
    return _call(
        "directory",
        "GET",
        f"{DIR}/customer/{{customerId}}/orgunits/{{+orgUnitPath}}",
        {"customerId": "my_customer", "orgUnitPath": path},
    )


def list_orgunits() -> ApiCall:
    return _call(
        "directory",
        "GET",
        f"{DIR}/customer/{{customerId}}/orgunits",
        {"customerId": "my_customer"},
        params=[("type", "all")],
    )


def insert_group(email: str, name: str, description: str = "") -> ApiCall:
    body = {"email": email, "name": name, "description": description}
    return _call("directory", "POST", f"{DIR}/groups", body=body)


def get_group(key: str) -> ApiCall:
    return _call("directory", "GET", f"{DIR}/groups/{{groupKey}}", {"groupKey": key})


def patch_group(key: str, body: Mapping[str, Any]) -> ApiCall:
    return _call("directory", "PATCH", f"{DIR}/groups/{{groupKey}}", {"groupKey": key}, body=body)


def list_groups(*, page_token: str = "", fields: str = "") -> ApiCall:
    params = [("customer", "my_customer"), ("maxResults", "200")]
    params += [("pageToken", page_token)] if page_token else []
    params += [("fields", fields)] if fields else []
    return _call("directory", "GET", f"{DIR}/groups", params=params)


def delete_group(key: str) -> ApiCall:
    return _call("directory", "DELETE", f"{DIR}/groups/{{groupKey}}", {"groupKey": key})


def insert_group_member(group: str, member: str) -> ApiCall:
    """``member``: an address, or a user's id (what ESS knows once it made the account)."""
    who = {"email": member} if "@" in member else {"id": member}
    return _call(
        "directory",
        "POST",
        f"{DIR}/groups/{{groupKey}}/members",
        {"groupKey": group},
        body={**who, "role": "MEMBER"},
    )


def list_group_members(group: str, *, page_token: str = "", fields: str = "") -> ApiCall:
    params = [("maxResults", "200")] + ([("pageToken", page_token)] if page_token else [])
    params += [("fields", fields)] if fields else []
    return _call(
        "directory",
        "GET",
        f"{DIR}/groups/{{groupKey}}/members",
        {"groupKey": group},
        params=params,
    )


def delete_group_member(group: str, member: str) -> ApiCall:
    return _call(
        "directory",
        "DELETE",
        f"{DIR}/groups/{{groupKey}}/members/{{memberKey}}",
        {"groupKey": group, "memberKey": member},
    )


# -- Classroom ------------------------------------------------------------------------------


def create_course(body: Mapping[str, Any]) -> ApiCall:
    return _call("classroom", "POST", "v1/courses", body=body)


def get_course(course: str) -> ApiCall:
    return _call("classroom", "GET", "v1/courses/{id}", {"id": course})


def patch_course(course: str, changes: Mapping[str, Any]) -> ApiCall:
    """A patch of ``changes``, its updateMask naming exactly those fields."""
    bad = sorted(set(changes) - COURSE_PATCHABLE)
    if bad:
        raise ValueError(f"courses.patch cannot change {', '.join(bad)}")
    mask = ",".join(sorted(changes))
    return _call(
        "classroom",
        "PATCH",
        "v1/courses/{id}",
        {"id": course},
        params=[("updateMask", mask)],
        body=dict(changes),
    )


def list_courses(*, states: Sequence[str] = (), page_token: str = "", fields: str = "") -> ApiCall:
    params = [("courseStates", s) for s in states] + [("pageSize", "0")]
    params += [("pageToken", page_token)] if page_token else []
    params += [("fields", fields)] if fields else []
    return _call("classroom", "GET", "v1/courses", params=params)


def create_alias(course: str, alias: str) -> ApiCall:
    return _call(
        "classroom",
        "POST",
        "v1/courses/{courseId}/aliases",
        {"courseId": course},
        body={"alias": alias},
    )


def add_member(course: str, role: Literal["teachers", "students"], user: str) -> ApiCall:
    return _call(
        "classroom",
        "POST",
        f"v1/courses/{{courseId}}/{role}",
        {"courseId": course},
        body={"userId": user},
    )


def remove_member(course: str, role: Literal["teachers", "students"], user: str) -> ApiCall:
    return _call(
        "classroom",
        "DELETE",
        f"v1/courses/{{courseId}}/{role}/{{userId}}",
        {"courseId": course, "userId": user},
    )


def list_members(
    course: str, role: Literal["teachers", "students"], *, page_token: str = "", fields: str = ""
) -> ApiCall:
    params = [("pageSize", "0")]
    params += [("pageToken", page_token)] if page_token else []
    params += [("fields", fields)] if fields else []
    return _call(
        "classroom",
        "GET",
        f"v1/courses/{{courseId}}/{role}",
        {"courseId": course},
        params=params,
    )


def create_invitation(
    course: str, role: Literal["STUDENT", "TEACHER", "OWNER"], user: str
) -> ApiCall:
    """The way in for a user the direct-add rule keeps out (another domain)."""
    body = {"courseId": course, "role": role, "userId": user}
    return _call("classroom", "POST", "v1/invitations", body=body)


def list_invitations(course: str, *, page_token: str = "") -> ApiCall:
    params = [("courseId", course)] + ([("pageToken", page_token)] if page_token else [])
    return _call("classroom", "GET", "v1/invitations", params=params)


def delete_invitation(invitation: str) -> ApiCall:
    return _call("classroom", "DELETE", "v1/invitations/{id}", {"id": invitation})
