"""A OneRoster 1.2 bulk CSV package as the objects of the rostering REST binding.

The sandbox writes the municipality through ESS's own package writer and turns each row into
the object the REST/JSON binding returns for it, so the REST form serves exactly what the CSV
form holds. The shapes follow 1EdTech's OpenAPI file for the rostering service v1p2
(``onerosterv1p2rostersservice_openapi3_v1p0.json``): references are
``{"href", "sourcedId", "type"}``, a user's roles are inside the user, ``userIds`` are
``{"type", "identifier"}`` objects and extension fields live under ``metadata``.

Roles and enrollments get a sourcedId made from what they say (not their line number), so an
enrollment keeps its id from one term to the next and a delta can name it.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from adapters.oneroster.columns import SE

Json = dict[str, Any]
COLLECTIONS = ("orgs", "academicSessions", "courses", "classes", "users", "enrollments")
_USER_ID = re.compile(r"\{([^:{}]*):([^{}]*)\}")


def _rows(folder: Path, name: str) -> Iterator[dict[str, str]]:
    path = folder / name
    if not path.is_file():
        return
    with path.open(encoding="utf-8", newline="") as f:
        yield from csv.DictReader(f)


def _meta(row: dict[str, str]) -> Json:
    """The ``metadata.se.*`` columns as the binding's ``metadata`` object (empty ones left out)."""
    out = {"se." + k.removeprefix(SE): v for k, v in row.items() if k.startswith(SE) and v.strip()}
    return {"metadata": out} if out else {}


def _stable_id(prefix: str, *parts: str) -> str:
    """An id from what a record says, so the same record keeps it across terms."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).hexdigest()
    return f"{prefix}-{digest}"


def _opt(value: str) -> str | None:
    return value or None


class RefMaker:
    """References as the binding writes them: the object's address, its id and its type."""

    def __init__(self, root: str) -> None:
        self.root = root

    def __call__(self, collection: str, kind: str, rid: str) -> Json | None:
        if not rid:
            return None
        return {"href": f"{self.root}/{collection}/{rid}", "sourcedId": rid, "type": kind}


def package_objects(folder: Path, root: str) -> dict[str, dict[str, Json]]:
    """The package in ``folder`` as REST objects by collection and sourcedId (without
    ``status`` and ``dateLastModified``, which the store stamps)."""
    ref = RefMaker(root)
    out: dict[str, dict[str, Json]] = {c: {} for c in COLLECTIONS}
    for r in _rows(folder, "orgs.csv"):
        out["orgs"][r["sourcedId"]] = {
            "sourcedId": r["sourcedId"],
            "name": r["name"],
            "type": r["type"],
            "identifier": r["identifier"],
            "parent": ref("orgs", "org", r["parentSourcedId"]),
            **_meta(r),
        }
    for r in _rows(folder, "academicSessions.csv"):
        out["academicSessions"][r["sourcedId"]] = {
            "sourcedId": r["sourcedId"],
            "title": r["title"],
            "type": r["type"],
            "startDate": r["startDate"],
            "endDate": r["endDate"],
            "schoolYear": r["schoolYear"],
        }
    for r in _rows(folder, "courses.csv"):
        out["courses"][r["sourcedId"]] = {
            "sourcedId": r["sourcedId"],
            "title": r["title"],
            "courseCode": r["courseCode"],
        }
    for r in _rows(folder, "classes.csv"):
        out["classes"][r["sourcedId"]] = {
            "sourcedId": r["sourcedId"],
            "title": r["title"],
            "classType": r["classType"],
            "school": ref("orgs", "org", r["schoolSourcedId"]),
            "course": ref("courses", "course", r["courseSourcedId"]),
            "terms": [
                ref("academicSessions", "academicSession", t)
                for t in r["termSourcedIds"].split(",")
                if t
            ],
            "subjectCodes": [s for s in r["subjectCodes"].split(",") if s],
            **_meta(r),
        }
    roles: dict[str, list[Json]] = {}
    for r in _rows(folder, "roles.csv"):
        roles.setdefault(r["userSourcedId"], []).append(
            {
                "roleType": r["roleType"],
                "role": r["role"],
                "org": ref("orgs", "org", r["orgSourcedId"]),
                "beginDate": _opt(r["beginDate"]),
                "endDate": _opt(r["endDate"]),
                **_meta(r),
            }
        )
    for r in _rows(folder, "users.csv"):
        out["users"][r["sourcedId"]] = {
            "sourcedId": r["sourcedId"],
            "enabledUser": r["enabledUser"] != "false",
            "username": r["username"],
            "userIds": [{"type": t, "identifier": v} for t, v in _USER_ID.findall(r["userIds"])],
            "givenName": r["givenName"],
            "familyName": r["familyName"],
            "middleName": _opt(r["middleName"]),
            "email": _opt(r["email"]),
            "roles": roles.get(r["sourcedId"], []),
            **_meta(r),
        }
    taken: set[str] = set()
    for r in _rows(folder, "enrollments.csv"):
        key = (r["classSourcedId"], r["userSourcedId"], r["role"], r.get(SE + "role", ""))
        rid = _stable_id("enr", *key, r["beginDate"])
        n = 1
        while rid in taken:  # the same membership twice from one day: keep both apart
            n += 1
            rid = _stable_id("enr", *key, r["beginDate"], str(n))
        taken.add(rid)
        out["enrollments"][rid] = {
            "sourcedId": rid,
            "role": r["role"],
            "primary": r["primary"] == "true",
            "class": ref("classes", "class", r["classSourcedId"]),
            "school": ref("orgs", "org", r["schoolSourcedId"]),
            "user": ref("users", "user", r["userSourcedId"]),
            "beginDate": _opt(r["beginDate"]),
            "endDate": _opt(r["endDate"]),
            **_meta(r),
        }
    return out
