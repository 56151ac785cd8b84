"""The Admin SDK Directory API: users and org units of one customer.

Faithful where ESS depends on it: required fields on insert, one name space for primary emails
and aliases (409 ``duplicate``), ``orgUnitPath`` that must exist (400 ``Invalid Input:
INVALID_OU_ID``), org units that cannot be deleted while they hold children or users (412
``conditionNotMet``), ``users.list`` paging (100 by default, at most 500) and the ``query``
terms ESS uses (``email``, ``externalId``, ``orgUnitPath``, ``isSuspended``). Delete answers 204
with no body.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .errors import ApiError, invalid
from .routing import Call

USER_FIELDS = frozenset(
    {
        "primaryEmail",
        "name",
        "password",
        "hashFunction",
        "suspended",
        "archived",
        "orgUnitPath",
        "externalIds",
        "changePasswordAtNextLogin",
        "includeInGlobalAddressList",
        "customSchemas",
        "recoveryEmail",
        "recoveryPhone",
    }
)
USER_PAGE_DEFAULT = 100
USER_PAGE_MAX = 500


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _not_found(kind: str) -> ApiError:
    return ApiError(404, f"Resource Not Found: {kind}", reason="notFound")


def _digest(password: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 1000)


class Directory:
    """Users and org units of one customer, in memory."""

    def __init__(self, domain: str, customer_id: str) -> None:
        self.domain = domain
        self.customer_id = customer_id
        self._ids = itertools.count(100000000000000000001)
        self._ou_ids = itertools.count(1)
        self.users: dict[str, dict[str, Any]] = {}
        self.created_at: dict[str, float] = {}  # user id -> monotonic time of insert
        # user id -> (salt, hash) of the password inserted in clear (never given back), for
        # the sandbox's sign-in check
        self._passwords: dict[str, tuple[bytes, bytes]] = {}
        self._keys: dict[str, str] = {}  # lower-cased primary email or alias -> user id
        self.orgunits: dict[str, dict[str, Any]] = {}
        self.orgunits["/"] = self._orgunit("/", "", "")
        self.other_addresses: Callable[[str], bool] = lambda email: False  # groups' addresses

    # -- lookups ----------------------------------------------------------------------------

    def user(self, key: str) -> dict[str, Any] | None:
        """A user by primary email, alias or id."""
        uid = key if key in self.users else self._keys.get(key.lower())
        return self.users.get(uid) if uid else None

    def in_domain(self, email: str) -> bool:
        return email.lower().rpartition("@")[2] == self.domain.lower()

    def _orgunit(self, path: str, name: str, parent: str) -> dict[str, Any]:
        return {
            "kind": "admin#directory#orgUnit",
            "orgUnitId": f"id:03ph8a2z{next(self._ou_ids):08d}",
            "orgUnitPath": path,
            "name": name or "/",
            "parentOrgUnitPath": parent,
            "description": "",
        }

    # -- users ------------------------------------------------------------------------------

    def add_admin(self, email: str, given: str, family: str) -> dict[str, Any]:
        """A super admin the service account may impersonate."""
        user = self._insert_user(
            {"primaryEmail": email, "name": {"givenName": given, "familyName": family}}
        )
        user["isAdmin"] = True
        return user

    def _check_ou(self, path: str) -> None:
        if path not in self.orgunits:
            raise invalid("Invalid Input: INVALID_OU_ID")

    def _insert_user(self, body: dict[str, Any]) -> dict[str, Any]:
        email = str(body["primaryEmail"])
        if email.lower() in self._keys or self.other_addresses(email):
            raise ApiError(409, "Entity already exists.", reason="duplicate")
        if not self.in_domain(email):
            raise ApiError(403, "Domain not found.", reason="notFound")
        uid = str(next(self._ids))
        name = dict(body["name"])
        name["fullName"] = f"{name['givenName']} {name['familyName']}"
        user: dict[str, Any] = {
            "kind": "admin#directory#user",
            "id": uid,
            "etag": f'"{uid}-1"',
            "primaryEmail": email,
            "name": name,
            "isAdmin": False,
            "isDelegatedAdmin": False,
            "suspended": bool(body.get("suspended", False)),
            "archived": bool(body.get("archived", False)),
            "orgUnitPath": body.get("orgUnitPath", "/"),
            "customerId": self.customer_id,
            "creationTime": _now(),
            "changePasswordAtNextLogin": bool(body.get("changePasswordAtNextLogin", False)),
            "includeInGlobalAddressList": body.get("includeInGlobalAddressList", True),
        }
        if "externalIds" in body:
            user["externalIds"] = copy.deepcopy(body["externalIds"])
        self.users[uid] = user
        self._keys[email.lower()] = uid
        self.created_at[uid] = time.monotonic()
        if isinstance(body.get("password"), str) and not body.get("hashFunction"):
            salt = os.urandom(16)
            self._passwords[uid] = (salt, _digest(body["password"], salt))
        return user

    def sign_in(self, email: str, password: str) -> str:
        """A password sign-in: "ok", "change" (must change it first) or "refused"."""
        uid = self._keys.get(email.lower())
        kept = self._passwords.get(uid or "")
        if uid is None or kept is None or self.users[uid].get("suspended"):
            return "refused"
        if not hmac.compare_digest(_digest(password, kept[0]), kept[1]):
            return "refused"
        return "change" if self.users[uid].get("changePasswordAtNextLogin") else "ok"

    def insert_user(self, call: Call) -> tuple[int, Any]:
        body = call.body if isinstance(call.body, dict) else {}
        unknown = sorted(set(body) - USER_FIELDS)
        if unknown:
            raise invalid(f"Invalid JSON payload received. Unknown name {unknown[0]!r}")
        name = body.get("name")
        if not body.get("primaryEmail"):
            raise invalid("Invalid Input: primary_user_email")
        if not isinstance(name, dict) or not name.get("givenName"):
            raise ApiError(400, "Invalid Given/Family Name: GivenName", reason="required")
        if not name.get("familyName"):
            raise ApiError(400, "Invalid Given/Family Name: FamilyName", reason="required")
        if not body.get("password"):
            raise ApiError(400, "Invalid Password", reason="required")
        self._check_ou(str(body.get("orgUnitPath", "/")))
        return 200, copy.deepcopy(self._insert_user(body))

    def get_user(self, call: Call) -> tuple[int, Any]:
        user = self.user(call.params["userKey"])
        if user is None:
            raise _not_found("userKey")
        return 200, copy.deepcopy(user)

    def patch_user(self, call: Call) -> tuple[int, Any]:
        user = self.user(call.params["userKey"])
        if user is None:
            raise _not_found("userKey")
        body = call.body if isinstance(call.body, dict) else {}
        unknown = sorted(set(body) - USER_FIELDS)
        if unknown:
            raise invalid(f"Invalid JSON payload received. Unknown name {unknown[0]!r}")
        if "orgUnitPath" in body:
            self._check_ou(str(body["orgUnitPath"]))
        new_email = body.get("primaryEmail")
        if new_email and str(new_email).lower() != user["primaryEmail"].lower():
            if str(new_email).lower() in self._keys:
                raise ApiError(409, "Entity already exists.", reason="duplicate")
            # the old address stays as an alias, as Google keeps it
            self._keys[str(new_email).lower()] = user["id"]
            user.setdefault("aliases", []).append(user["primaryEmail"])
        if isinstance(body.get("password"), str) and not body.get("hashFunction"):
            salt = os.urandom(16)  # an admin's password reset
            self._passwords[user["id"]] = (salt, _digest(body["password"], salt))
        for key, value in body.items():
            if key in ("password", "hashFunction"):
                continue
            if key == "name":
                merged = {**user["name"], **value}
                merged["fullName"] = f"{merged['givenName']} {merged['familyName']}"
                user["name"] = merged
            else:
                user[key] = copy.deepcopy(value)
        version = int(user["etag"].strip('"').rpartition("-")[2]) + 1
        user["etag"] = f'"{user["id"]}-{version}"'
        return 200, copy.deepcopy(user)

    def delete_user(self, call: Call) -> tuple[int, Any]:
        user = self.user(call.params["userKey"])
        if user is None:
            raise _not_found("userKey")
        del self.users[user["id"]]
        self.created_at.pop(user["id"], None)
        for key in [k for k, v in self._keys.items() if v == user["id"]]:
            del self._keys[key]
        return 204, None

    def _matches(self, user: dict[str, Any], query: str) -> bool:
        for term in query.split():
            field, sep, value = term.partition("=")
            if not sep:
                field, sep, value = term.partition(":")
            value = value.strip("'\"")
            if field == "email" and user["primaryEmail"].lower() != value.lower():
                return False
            if field == "externalId" and value not in {
                str(e.get("value")) for e in user.get("externalIds", [])
            }:
                return False
            if field == "orgUnitPath" and user["orgUnitPath"] != value:
                return False
            if field == "isSuspended" and user["suspended"] != (value.lower() == "true"):
                return False
            if field not in ("email", "externalId", "orgUnitPath", "isSuspended"):
                raise invalid("Invalid query")
        return True

    def list_users(self, call: Call) -> tuple[int, Any]:
        q = call.query
        customer = (q.get("customer") or [""])[0]
        domain = (q.get("domain") or [""])[0]
        if customer not in ("my_customer", self.customer_id) and domain != self.domain:
            raise ApiError(400, "Bad Request", reason="badRequest")
        size = int((q.get("maxResults") or [str(USER_PAGE_DEFAULT)])[0])
        if not 1 <= size <= USER_PAGE_MAX:
            raise invalid("Invalid value for maxResults")
        query = (q.get("query") or [""])[0]
        chosen = sorted(
            (u for u in self.users.values() if self._matches(u, query)),
            key=lambda u: str(u["primaryEmail"]).lower(),
        )
        start = int((q.get("pageToken") or ["0"])[0] or 0)
        page = chosen[start : start + size]
        out: dict[str, Any] = {"kind": "admin#directory#users", "users": copy.deepcopy(page)}
        if start + size < len(chosen):
            out["nextPageToken"] = str(start + size)
        return 200, out

    # -- org units --------------------------------------------------------------------------

    def _customer(self, call: Call) -> None:
        if call.params["customerId"] not in ("my_customer", self.customer_id):
            raise ApiError(403, "Not Authorized to access this resource/api", reason="forbidden")

    def insert_orgunit(self, call: Call) -> tuple[int, Any]:
        self._customer(call)
        body = call.body if isinstance(call.body, dict) else {}
        name = str(body.get("name") or "")
        parent = str(body.get("parentOrgUnitPath") or "")
        if not name:
            raise invalid("Invalid Input: name")
        if parent not in self.orgunits:
            raise invalid("Invalid Parent Orgunit Id")
        path = f"{parent.rstrip('/')}/{name}"
        if path in self.orgunits:
            raise ApiError(400, "Invalid Ou Id", reason="invalid")
        unit = self._orgunit(path, name, parent)
        if body.get("description"):
            unit["description"] = str(body["description"])
        self.orgunits[path] = unit
        return 200, copy.deepcopy(unit)

    def _path(self, call: Call) -> str:
        path = "/" + call.params["orgUnitPath"].lstrip("/")
        if path not in self.orgunits:
            raise ApiError(404, "Org unit not found", reason="notFound")
        return path

    def get_orgunit(self, call: Call) -> tuple[int, Any]:
        self._customer(call)
        return 200, copy.deepcopy(self.orgunits[self._path(call)])

    def delete_orgunit(self, call: Call) -> tuple[int, Any]:
        self._customer(call)
        path = self._path(call)
        children = any(u["parentOrgUnitPath"] == path for u in self.orgunits.values())
        holds = any(u["orgUnitPath"] == path for u in self.users.values())
        if children or holds:
            raise ApiError(
                412,
                "Org unit has child orgs or users and cannot be deleted",
                reason="conditionNotMet",
            )
        del self.orgunits[path]
        return 204, None

    def list_orgunits(self, call: Call) -> tuple[int, Any]:
        self._customer(call)
        kind = (call.query.get("type") or ["children"])[0]
        base = "/" + (call.query.get("orgUnitPath") or ["/"])[0].lstrip("/")
        units = [u for p, u in self.orgunits.items() if p != "/"]
        if kind == "children":
            units = [u for u in units if u["parentOrgUnitPath"] == base]
        elif kind in ("all", "allIncludingParent"):
            prefix = base.rstrip("/") + "/"
            units = [u for u in units if u["orgUnitPath"].startswith(prefix)]
            if kind == "allIncludingParent" and base != "/":
                units.insert(0, self.orgunits[base])
        else:
            raise invalid("Invalid value for type")
        return 200, {"kind": "admin#directory#orgUnits", "organizationUnits": copy.deepcopy(units)}

    def state(self) -> dict[str, Any]:
        return {
            "users": sorted(self.users.values(), key=lambda u: str(u["primaryEmail"])),
            "orgunits": sorted(p for p in self.orgunits if p != "/"),
        }
