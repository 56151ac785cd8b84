"""Directory groups and their members: one name space of addresses with users (409
``duplicate``), members by email or id with a role (OWNER, MANAGER, MEMBER), 409 for a member
added twice, paging of 200 at most."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from .directory import Directory
from .errors import ApiError, invalid
from .routing import Call

GROUP_FIELDS = frozenset({"email", "name", "description", "externalIds"})
PAGE_DEFAULT = 200
PAGE_MAX = 200
ROLES = ("OWNER", "MANAGER", "MEMBER")


def _not_found(kind: str) -> ApiError:
    return ApiError(404, f"Resource Not Found: {kind}", reason="notFound")


class Groups:
    """Groups of one customer, over the Directory's users."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self._ids = itertools.count(1)
        self.groups: dict[str, dict[str, Any]] = {}
        self.members: dict[str, dict[str, dict[str, Any]]] = {}  # group id -> user id -> member
        directory.other_addresses = lambda email: self.group(email) is not None

    def group(self, key: str) -> dict[str, Any] | None:
        if key in self.groups:
            return self.groups[key]
        lowered = key.lower()
        for group in self.groups.values():
            if group["email"].lower() == lowered:
                return group
            if lowered in (a.lower() for a in group.get("aliases", ())):
                return group
        return None

    def _taken(self, email: str) -> bool:
        return self.directory.user(email) is not None or self.group(email) is not None

    def insert_raw(self, email: str, name: str) -> str:
        """A group made in the Admin console (tests and the demo); returns its id."""
        _, group = self.insert(Call("POST", {}, {}, {"email": email, "name": name}, ""))
        return str(group["id"])

    def insert(self, call: Call) -> tuple[int, Any]:
        body = call.body if isinstance(call.body, dict) else {}
        unknown = sorted(set(body) - GROUP_FIELDS)
        if unknown:
            raise invalid(f"Invalid JSON payload received. Unknown name {unknown[0]!r}")
        email = str(body.get("email") or "")
        if not email:
            raise invalid("Missing required field: email")
        if not self.directory.in_domain(email):
            raise ApiError(403, "Domain not found.", reason="notFound")
        if self._taken(email):
            raise ApiError(409, "Entity already exists.", reason="duplicate")
        gid = f"0{next(self._ids):015x}"
        group = {
            "kind": "admin#directory#group",
            "id": gid,
            "email": email,
            "name": str(body.get("name") or email.partition("@")[0]),
            "description": str(body.get("description") or ""),
            "directMembersCount": "0",
            "adminCreated": True,
        }
        if "externalIds" in body:
            group["externalIds"] = copy.deepcopy(body["externalIds"])
        self.groups[gid] = group
        self.members[gid] = {}
        return 200, copy.deepcopy(group)

    def _find(self, call: Call) -> dict[str, Any]:
        group = self.group(call.params["groupKey"])
        if group is None:
            raise _not_found("groupKey")
        return group

    def get(self, call: Call) -> tuple[int, Any]:
        return 200, copy.deepcopy(self._find(call))

    def patch(self, call: Call) -> tuple[int, Any]:
        """Name, description or a new address (which must be free, as on insert; the old one
        stays an alias)."""
        group = self._find(call)
        body = call.body if isinstance(call.body, dict) else {}
        unknown = sorted(set(body) - GROUP_FIELDS)
        if unknown:
            raise invalid(f"Invalid JSON payload received. Unknown name {unknown[0]!r}")
        email = str(body.get("email") or group["email"])
        if email.lower() != group["email"].lower():
            if not self.directory.in_domain(email):
                raise ApiError(403, "Domain not found.", reason="notFound")
            if self._taken(email):
                raise ApiError(409, "Entity already exists.", reason="duplicate")
            # Google keeps the old address as an alias of the group
            group.setdefault("aliases", []).append(group["email"])
        for key in ("email", "name", "description", "externalIds"):
            if key in body:
                group[key] = copy.deepcopy(body[key])
        return 200, copy.deepcopy(group)

    def delete(self, call: Call) -> tuple[int, Any]:
        group = self._find(call)
        del self.groups[group["id"]]
        del self.members[group["id"]]
        return 204, None

    def list(self, call: Call) -> tuple[int, Any]:
        q = call.query
        customer = (q.get("customer") or [""])[0]
        domain = (q.get("domain") or [""])[0]
        if customer not in ("my_customer", self.directory.customer_id) and (
            domain != self.directory.domain
        ):
            raise ApiError(400, "Bad Request", reason="badRequest")
        groups = sorted(self.groups.values(), key=lambda g: str(g["email"]).lower())
        return 200, _paged(q, "groups", "admin#directory#groups", groups)

    def insert_member(self, call: Call) -> tuple[int, Any]:
        group = self._find(call)
        body = call.body if isinstance(call.body, dict) else {}
        role = str(body.get("role") or "MEMBER")
        if role not in ROLES:
            raise invalid("Invalid role")
        key = str(body.get("email") or body.get("id") or "")
        user = self.directory.user(key) if key else None
        if user is None:
            raise _not_found("memberKey")
        members = self.members[group["id"]]
        if user["id"] in members:
            raise ApiError(409, "Member already exists.", reason="duplicate")
        member = {
            "kind": "admin#directory#member",
            "id": user["id"],
            "email": user["primaryEmail"],
            "role": role,
            "type": "USER",
            "status": "SUSPENDED" if user.get("suspended") else "ACTIVE",
        }
        members[user["id"]] = member
        group["directMembersCount"] = str(len(members))
        return 200, dict(member)

    def list_members(self, call: Call) -> tuple[int, Any]:
        group = self._find(call)
        roles = {r for v in call.query.get("roles", []) for r in v.split(",") if r}
        chosen = [
            dict(m) for m in self.members[group["id"]].values() if not roles or m["role"] in roles
        ]
        return 200, _paged(call.query, "members", "admin#directory#members", chosen)

    def delete_member(self, call: Call) -> tuple[int, Any]:
        group = self._find(call)
        user = self.directory.user(call.params["memberKey"])
        members = self.members[group["id"]]
        if user is None or user["id"] not in members:
            raise _not_found("memberKey")
        del members[user["id"]]
        group["directMembersCount"] = str(len(members))
        return 204, None

    def state(self) -> dict[str, Any]:
        return {
            "groups": [
                {**g, "members": sorted(m["email"] for m in self.members[g["id"]].values())}
                for g in sorted(self.groups.values(), key=lambda g: str(g["email"]))
            ]
        }


def _paged(
    query: dict[str, list[str]], name: str, kind: str, items: list[dict[str, Any]]
) -> dict[str, Any]:
    size = int((query.get("maxResults") or [str(PAGE_DEFAULT)])[0])
    if not 1 <= size <= PAGE_MAX:
        raise invalid("Invalid value for maxResults")
    start = int((query.get("pageToken") or ["0"])[0] or 0)
    page = items[start : start + size]
    out: dict[str, Any] = {"kind": kind}
    if page:
        out[name] = copy.deepcopy(page)
    if start + size < len(items):
        out["nextPageToken"] = str(start + size)
    return out
