"""Snapshot -> the rows of the SDS v2.1 set, under the tenant's policy.

One object per CSV row: ``org``, ``session``, ``user``, ``role``, ``class`` and
``enrollment``; an object's attributes are its row, column by column (the header names of
:mod:`adapters.sds.columns`), so the journal's mirror holds the rows last delivered and the
planner's diff is exactly what changed in the files. Who is in and where is the roster's
(:mod:`engine.roster`); docs/targets/sds.md lists every column and where it comes from. A
personnummer is never read here (users.csv has no column for it and demographics.csv, whose
birthDate would come from it, is not written), so it cannot reach a file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from adapters.kit.naming import pseudonym
from adapters.kit.schoolyear import SchoolYear
from engine.model import Person, SchoolRoleType, Snapshot, is_current
from engine.roster import RosterPolicy, roster

from .columns import BY_KIND, CLASS, ENROLLMENT, ORG, ROLE, SESSION, USER, row_key
from .config import SdsConfig

Row = dict[str, str]


@dataclass
class Rows:
    """The set's rows by kind and key, with the source record each row stands for."""

    by_kind: dict[str, dict[str, Row]] = field(default_factory=dict)
    labels: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, kind: str, row: Row, label: str) -> str:
        spec = BY_KIND[kind]
        full = {h: row.get(h, "") for h in spec.headers}
        key = row_key(spec, full)
        self.by_kind.setdefault(kind, {})[key] = full
        self.labels[(kind, key)] = label
        return key


def session_id(year: SchoolYear) -> str:
    """The academic session of a Swedish school year: ``sy-2026-27``."""
    return f"sy-{year.year}-{(year.year + 1) % 100:02d}"


def session_row(year: SchoolYear) -> Row:
    """SDS stores the year as the calendar year it ends in (Aug 2026 - Jun 2027 -> 2027)."""
    return {
        "sourcedId": session_id(year),
        "title": f"Läsår {year.label}",
        "type": "schoolYear",
        "schoolYear": str(year.year + 1),
        "startDate": year.first_day.isoformat(),
        "endDate": year.last_day.isoformat(),
    }


def grade_of(school_year: int | None) -> str:
    """Årskurs as a grade of SDS's default list: F (förskoleklass, 0) is ``KG``, 1-12 are
    ``01``-``12``; anything else is left empty. [The Swedish mapping is ours: SDS's list is the
    US one and can be extended.]"""
    if school_year is None:
        return ""
    if school_year == 0:
        return "KG"
    return f"{school_year:02d}" if 1 <= school_year <= 12 else ""


def username_of(person: Person, config: SdsConfig) -> str:
    """The account's user principal name: the first eppn or email, in the configured order."""
    for source in config.username_from:
        values = person.eppns if source == "eppn" else person.emails
        for value in values:
            if value.strip():
                return value.strip().lower()
    return ""


def build_rows(snapshot: Snapshot, config: SdsConfig, policy: RosterPolicy) -> Rows:
    """Every row the snapshot asks for, before SDS's rules are checked (:mod:`.rules`)."""
    r = roster(snapshot, policy)
    today = snapshot.as_of
    out = Rows()
    mask = policy.protected_identity == "mask"

    parent = config.parent_org_id
    if parent is not None:
        out.add(
            ORG,
            {
                "sourcedId": parent,
                "name": config.parent_org_name or "",
                "type": config.parent_org_type,
            },
            config.parent_org_name or parent,
        )
    schools = {sid: s for sid, s in snapshot.schools.items() if is_current(s.start, s.end, today)}
    for sid, s in schools.items():
        up = s.parent_id if s.parent_id in schools else (parent or "")
        out.add(
            ORG,
            {
                "sourcedId": sid,
                "name": s.name,
                "type": config.school_org_type,
                "parentSourcedId": up,
            },
            s.name,
        )

    now = SchoolYear.of(today)
    sessions = {now.year: now}
    for g in r.groups.values():
        y = SchoolYear.of(g.start or today)
        sessions.setdefault(y.year, y)
    for y in sessions.values():
        out.add(SESSION, session_row(y), y.label)

    for pid, p in r.persons.items():
        role = r.roles.get(pid, "student")
        username = username_of(p, config)
        if mask and p.is_protected:
            given = "Elev" if role == "student" else "Personal"
            family, email = pseudonym(pid), ""
            label = f"{given} {family}"
        else:
            given, family = p.given_name, p.family_name
            email = next((e.strip().lower() for e in p.emails if e.strip()), "")
            label = f"{given} {family}"
        out.add(
            USER,
            {
                "sourcedId": pid,
                "username": username,
                "givenName": given,
                "familyName": family,
                "activeDirectoryMatchId": username if config.match_id == "username" else "",
                "email": email if config.send_email else "",
            },
            label,
        )

    school_role_of: dict[tuple[str, str], tuple[int | None, date | None, date | None]] = {}
    for sr in snapshot.current_school_roles():
        grade = sr.school_year if sr.role is SchoolRoleType.STUDENT else None
        school_role_of.setdefault((sr.school_id, sr.person_id), (grade, sr.start, sr.end))
    primary: dict[str, str] = {}
    for sid, pid in sorted(set(r.school_users)):
        if sid not in schools or pid not in r.persons:
            continue
        primary.setdefault(pid, sid)
        role = "student" if r.roles.get(pid, "student") == "student" else "teacher"
        grade, start, end = school_role_of.get((sid, pid), (None, None, None))
        out.add(
            ROLE,
            {
                "userSourcedId": pid,
                "orgSourcedId": sid,
                "role": role,
                "sessionSourcedId": session_id(now),
                "grade": grade_of(grade) if role == "student" else "",
                "isPrimary": "true" if primary[pid] == sid else "false",
                "roleStartDate": start.isoformat() if start else "",
                "roleEndDate": end.isoformat() if end else "",
            },
            f"{pid} at {schools[sid].name}",
        )

    for gid, g in r.groups.items():
        out.add(
            CLASS,
            {
                "sourcedId": gid,
                "orgSourcedId": g.school_id,
                "title": g.name,
                "sessionSourcedIds": session_id(SchoolYear.of(g.start or today)),
                "courseSourcedId": "",
            },
            g.name,
        )
        for role, people in (
            ("teacher", r.teachers.get(gid, ())),
            ("student", r.members.get(gid, ())),
        ):
            for pid in sorted(people):
                out.add(
                    ENROLLMENT,
                    {"classSourcedId": gid, "userSourcedId": pid, "role": role},
                    f"{role} of {g.name}",
                )
    return out


def refs_of(kind: str, row: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The rows this row points at, as (kind, key): what must be in the set with it."""
    if kind == ORG and row.get("parentSourcedId"):
        return ((ORG, row["parentSourcedId"]),)
    if kind == ROLE:
        return (
            (USER, row["userSourcedId"]),
            (ORG, row["orgSourcedId"]),
            (SESSION, row["sessionSourcedId"]),
        )
    if kind == CLASS:
        refs = [(ORG, row["orgSourcedId"])]
        refs += [(SESSION, s) for s in row["sessionSourcedIds"].split(",") if s]
        return tuple(refs)
    if kind == ENROLLMENT:
        return ((CLASS, row["classSourcedId"]), (USER, row["userSourcedId"]))
    return ()
