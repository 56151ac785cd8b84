"""Graph request bodies and look-up URLs built from desired attributes.

Create-only properties (userPrincipalName, mailNickname, externalId, the password) are never
patched: renaming an account or a class group is not something a sync should do behind a
person's back, and it keeps a later namesake from moving anyone.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from engine.first_sign_in import Initial
from engine.plan import Operation

PASSWORD_ALPHABET = string.ascii_letters + string.digits + "!#%+-=?"


def thaw(value: Any) -> Any:
    """Frozen attrs (tuples of pairs) back to JSON: dicts and lists."""
    if isinstance(value, tuple):
        if value and all(
            isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str) for v in value
        ):
            return {k: thaw(v) for k, v in value}
        return [thaw(v) for v in value]
    return value


def attrs(op: Operation) -> dict[str, Any]:
    return {k: thaw(v) for k, v in op.attrs}


def odata_literal(value: str) -> str:
    """A quoted OData string literal, URL-encoded for a query string."""
    return quote("'" + value.replace("'", "''") + "'", safe="'@")


def filter_url(collection: str, prop: str, value: str, select: str = "id") -> str:
    return f"{collection}?$filter={prop}%20eq%20{odata_literal(value)}&$select={select}"


def new_password() -> str:
    """A random initial password that meets Entra's complexity rules; never stored or logged."""
    rng = secrets.SystemRandom()
    chars = [
        rng.choice(string.ascii_uppercase),
        rng.choice(string.ascii_lowercase),
        rng.choice(string.digits),
        rng.choice("!#%+-=?"),
    ] + [rng.choice(PASSWORD_ALPHABET) for _ in range(16)]
    rng.shuffle(chars)
    return "".join(chars)


# schools -----------------------------------------------------------------------------------


def school_body(a: Mapping[str, Any], *, create: bool) -> dict[str, Any]:
    keys = ("displayName", "schoolNumber", "externalSource")
    body = {k: a[k] for k in keys if k in a}
    if create:
        body["externalId"] = a["externalId"]
    return body


# users -------------------------------------------------------------------------------------

USER_PATCHABLE = ("displayName", "givenName", "surname", "usageLocation", "primaryRole")


def role_block(a: Mapping[str, Any]) -> dict[str, Any]:
    """The SIS id goes in student.externalId or teacher.externalId (educationUser has no
    top-level externalId)."""
    role = a.get("primaryRole", "student")
    return {role: {"externalId": a["externalId"]}} if role in ("student", "teacher") else {}


def user_create_body(a: Mapping[str, Any], initial: Initial | None = None) -> dict[str, Any]:
    """``initial`` is the tenant's first sign-in choice (engine.first_sign_in); without it a
    random password is made and forgotten. Graph requires a passwordProfile on every create,
    a federated domain's too (where Entra never checks it)."""
    profile = {"password": new_password(), "forceChangePasswordNextSignIn": True}
    if initial is not None:
        profile = {
            "password": initial.password,
            "forceChangePasswordNextSignIn": initial.change_at_first_sign_in,
        }
    body: dict[str, Any] = {
        "accountEnabled": True,
        "userPrincipalName": a["userPrincipalName"],
        "mailNickname": a["mailNickname"],
        "passwordProfile": profile,
        "externalSource": "sis",
    }
    body.update({k: a[k] for k in USER_PATCHABLE if k in a})
    body.update(role_block(a))
    return body


def user_update_body(a: Mapping[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {k: a[k] for k in USER_PATCHABLE if k in a}
    body["accountEnabled"] = True
    body.update(role_block(a))
    return body


def user_directory_body(a: Mapping[str, Any]) -> dict[str, Any]:
    """Properties only /users takes (not the education view)."""
    return {"employeeId": a["employeeId"]} if "employeeId" in a else {}


def license_body(sku: str) -> dict[str, Any]:
    return {"addLicenses": [{"skuId": sku, "disabledPlans": []}], "removeLicenses": []}


def user_match(a: Mapping[str, Any], match_on: str) -> tuple[str, str] | None:
    """(property, value) to find an existing account by, or None when the record has none."""
    if match_on == "employeeId" and a.get("employeeId"):
        return "employeeId", str(a["employeeId"])
    if match_on == "mail" and a.get("mail"):
        return "mail", str(a["mail"])
    if match_on == "userPrincipalName":
        return "userPrincipalName", str(a["userPrincipalName"])
    return None


USER_SELECT = "id,userPrincipalName,accountEnabled,displayName"


# classes -----------------------------------------------------------------------------------

CLASS_PATCHABLE = ("displayName", "externalName", "classCode", "term", "description")


def class_create_body(a: Mapping[str, Any], nickname: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "displayName": a["displayName"],
        "mailNickname": nickname or a["mailNickname"],
        "externalId": a["externalId"],
        "externalSource": a.get("externalSource", "sis"),
    }
    body.update({k: a[k] for k in CLASS_PATCHABLE if k in a})
    return body


def class_update_body(a: Mapping[str, Any]) -> dict[str, Any]:
    return {k: a[k] for k in CLASS_PATCHABLE if k in a}


CLASS_SELECT = "id,displayName,mailNickname,externalId"
