"""A snapshot as a JSON file, for the memory source double."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import orjson

from engine.model import (
    Group,
    GroupType,
    MemberRole,
    Membership,
    Person,
    Protection,
    Refused,
    School,
    SchoolRole,
    SchoolRoleType,
    Snapshot,
)


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _s(value: date | None) -> str | None:
    return value.isoformat() if value else None


def snapshot_to_json(s: Snapshot) -> dict[str, Any]:
    return {
        "as_of": s.as_of.isoformat(),
        "schools": [
            {
                "id": x.id,
                "name": x.name,
                "code": x.school_unit_code,
                "parent": x.parent_id,
                "start": _s(x.start),
                "end": _s(x.end),
            }
            for x in s.schools.values()
        ],
        "persons": [
            {
                "id": p.id,
                "given": p.given_name,
                "family": p.family_name,
                "emails": list(p.emails),
                "eppns": list(p.eppns),
                "civic_no": p.civic_no,
                "protection": p.protection.value,
            }
            for p in s.persons.values()
        ],
        "groups": [
            {
                "id": g.id,
                "name": g.name,
                "type": g.group_type.value,
                "school": g.school_id,
                "start": _s(g.start),
                "end": _s(g.end),
            }
            for g in s.groups.values()
        ],
        "memberships": [
            [m.group_id, m.person_id, m.role.value, _s(m.start), _s(m.end)] for m in s.memberships
        ],
        "school_roles": [
            [r.school_id, r.person_id, r.role.value, _s(r.start), _s(r.end), r.school_year]
            for r in s.school_roles
        ],
        "refused": {
            "schools": sorted(s.refused.schools),
            "persons": sorted(s.refused.persons),
            "groups": sorted(s.refused.groups),
        },
    }


def snapshot_from_json(data: dict[str, Any], as_of: date | None = None) -> Snapshot:
    refused = data.get("refused", {})
    return Snapshot(
        schools={
            x["id"]: School(
                x["id"],
                x["name"],
                x.get("code"),
                x.get("parent"),
                start=_d(x.get("start")),
                end=_d(x.get("end")),
            )
            for x in data.get("schools", [])
        },
        persons={
            p["id"]: Person(
                p["id"],
                p["given"],
                p["family"],
                tuple(p.get("emails", ())),
                tuple(p.get("eppns", ())),
                p.get("civic_no"),
                Protection(p.get("protection", "Ingen")),
            )
            for p in data.get("persons", [])
        },
        groups={
            g["id"]: Group(
                g["id"],
                g["name"],
                GroupType(g["type"]),
                g["school"],
                start=_d(g.get("start")),
                end=_d(g.get("end")),
            )
            for g in data.get("groups", [])
        },
        memberships=tuple(
            Membership(m[0], m[1], MemberRole(m[2]), _d(m[3]), _d(m[4]))
            for m in data.get("memberships", [])
        ),
        school_roles=tuple(
            SchoolRole(r[0], r[1], SchoolRoleType(r[2]), _d(r[3]), _d(r[4]), r[5])
            for r in data.get("school_roles", [])
        ),
        as_of=as_of or date.fromisoformat(data["as_of"]),
        source="memory",
        refused=Refused(
            frozenset(refused.get("schools", ())),
            frozenset(refused.get("persons", ())),
            frozenset(refused.get("groups", ())),
        ),
    )


def write_snapshot(snapshot: Snapshot, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(orjson.dumps(snapshot_to_json(snapshot)))
    tmp.replace(path)


def read_snapshot(path: Path, as_of: date | None = None) -> Snapshot:
    return snapshot_from_json(orjson.loads(path.read_bytes()), as_of)
