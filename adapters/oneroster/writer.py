"""A snapshot written as a OneRoster 1.2 bulk CSV package, with ESS's Swedish extension
columns (``metadata.se.*``) for what OneRoster has no field for, so the package reads back to
the same snapshot. The sample generator writes the synthetic municipality through this."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path

from adapters.oneroster.columns import EXTENSIONS, SPEC
from engine.model import GroupType, MemberRole, Person, Protection, SchoolRoleType, Snapshot

CLASS_TYPE = {GroupType.KLASS: "homeroom"}  # every other type: scheduled
ROLE_NAME = {
    SchoolRoleType.STUDENT: "student",
    SchoolRoleType.TEACHER: "teacher",
    SchoolRoleType.STAFF: "administrator",
}


def _d(day: date | None) -> str:
    return day.isoformat() if day else ""


def _first(values: tuple[str, ...]) -> str:
    return values[0] if values else ""


def _user_ids(p: Person) -> str:
    """OneRoster's ``{type:identifier}`` list: eduPersonPrincipalNames and external ids."""
    ids = [f"{{EPPN:{e}}}" for e in p.eppns] + [f"{{{c}:{v}}}" for c, v in p.external_ids]
    return ",".join(ids)


def _write(folder: Path, name: str, rows: Iterable[Sequence[str]]) -> int:
    columns = SPEC[name] + EXTENSIONS.get(name, ())
    count = 0
    with (folder / name).open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\r\n")
        out.writerow(columns)
        for row in rows:
            assert len(row) == len(columns), (name, row)
            out.writerow(row)
            count += 1
    return count


def write_package(snap: Snapshot, folder: Path) -> dict[str, int]:
    """The snapshot as a bulk package in ``folder``; returns rows per file."""
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    parents = sorted(
        {s.parent_id for s in snap.schools.values() if s.parent_id} - set(snap.schools)
    )
    counts["orgs"] = _write(
        folder,
        "orgs.csv",
        [
            *([p, "", "", p, "district", "", "", "", "", "", ""] for p in parents),
            *(
                [
                    s.id, "", "", s.name, "school", s.school_unit_code or "", s.parent_id or "",
                    ",".join(s.school_types), s.municipality_code or "", _d(s.start), _d(s.end),
                ]
                for s in snap.schools.values()
            ),
        ],
    )  # fmt: skip
    terms: dict[tuple[date | None, date | None], str] = {}
    for g in snap.groups.values():
        if g.start is not None or g.end is not None:
            terms.setdefault((g.start, g.end), f"term-{len(terms) + 1}")
    counts["academicSessions"] = _write(
        folder,
        "academicSessions.csv",
        (
            [tid, "", "", tid, "term", _d(s), _d(e), "", str((e or s or date.today()).year)]
            for (s, e), tid in terms.items()
        ),
    )
    counts["classes"] = _write(
        folder,
        "classes.csv",
        (
            [
                g.id, "", "", g.name, "", "", "", CLASS_TYPE.get(g.group_type, "scheduled"), "",
                g.school_id, terms.get((g.start, g.end), "") if (g.start or g.end) else "",
                "", g.subject or "", "", g.group_type.value, g.school_type or "",
            ]
            for g in snap.groups.values()
        ),
    )  # fmt: skip
    counts["users"] = _write(
        folder,
        "users.csv",
        (
            [
                p.id, "", "", "true", (p.eppns or p.emails or (p.id,))[0], _user_ids(p),
                p.given_name, p.family_name, p.middle_name or "", "", _first(p.emails),
                "", "", "", "", "", "", "", "", "", "", "", "",
                "" if p.protection is Protection.NONE else p.protection.value, p.civic_no or "",
            ]
            for p in snap.persons.values()
        ),
    )  # fmt: skip
    counts["roles"] = _write(
        folder,
        "roles.csv",
        (
            [
                f"r{i}", "", "", r.person_id, "primary", ROLE_NAME[r.role], _d(r.start), _d(r.end),
                r.school_id, "", "" if r.school_year is None else str(r.school_year), r.title or "",
            ]
            for i, r in enumerate(snap.school_roles, 1)
        ),
    )  # fmt: skip
    school_of = {gid: g.school_id for gid, g in snap.groups.items()}
    counts["enrollments"] = _write(
        folder,
        "enrollments.csv",
        (
            [
                f"e{i}", "", "", m.group_id, school_of.get(m.group_id, ""),
                m.person_id, "student" if m.role is MemberRole.STUDENT else "teacher", "false",
                _d(m.start), _d(m.end), "mentor" if m.role is MemberRole.MENTOR else "",
            ]
            for i, m in enumerate(snap.memberships, 1)
        ),
    )  # fmt: skip
    with (folder / "manifest.csv").open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, lineterminator="\r\n")
        out.writerow(("propertyName", "value"))
        out.writerow(("manifest.version", "1.0"))
        out.writerow(("oneroster.version", "1.2"))
        for name in SPEC:
            base = name.removesuffix(".csv")
            out.writerow((f"file.{base}", "absent" if name == "courses.csv" else "bulk"))
        out.writerow(("file.demographics", "absent"))
        out.writerow(("source.systemName", "ESS sample"))
    return counts
