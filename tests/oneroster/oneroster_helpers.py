"""Helpers for the OneRoster tests: a small bulk package written by hand, and a read."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path

from adapters.oneroster.config import OneRosterConfig
from adapters.oneroster.source import OneRosterSource
from engine.source import CachedSource, SourceContext, SourceRead

AS_OF = date(2025, 9, 15)


class NoCache:
    async def load(self) -> CachedSource:
        return CachedSource({}, None, None)

    async def save(
        self,
        *,
        upserts: Mapping[str, Mapping[str, bytes]],
        deletes: Mapping[str, Iterable[str]],
        checkpoint: str,
        full: bool,
    ) -> None:
        return None


def read_path(path: Path, today: date = AS_OF) -> SourceRead:
    ctx = SourceContext("t", NoCache(), today)
    return asyncio.run(OneRosterSource(OneRosterConfig(path=str(path))).read(ctx))


FILES: dict[str, list[list[str]]] = {
    "orgs.csv": [
        ["sourcedId", "status", "dateLastModified", "name", "type", "identifier",
         "parentSourcedId"],
        ["D1", "", "", "Ekby kommun", "district", "", ""],
        ["S1", "", "", "Ekskolan", "school", "12345678", "D1"],
    ],
    "academicSessions.csv": [
        ["sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate",
         "parentSourcedId", "schoolYear"],
        ["T1", "", "", "HT25", "term", "2025-08-18", "2026-06-12", "", "2026"],
    ],
    "classes.csv": [
        ["sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId",
         "classCode", "classType", "location", "schoolSourcedId", "termSourcedIds", "subjects",
         "subjectCodes", "periods"],
        ["C1", "", "", "7A", "07", "", "", "homeroom", "", "S1", "T1", "", "", ""],
        ["C2", "", "", "MA7", "07", "", "", "scheduled", "", "S1", "T1", "", "GRGRMAT01", ""],
    ],
    "users.csv": [
        ["sourcedId", "status", "dateLastModified", "enabledUser", "username", "userIds",
         "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone",
         "agentSourcedIds", "grades", "password", "userMasterIdentifier", "resourceSourcedIds",
         "preferredGivenName", "preferredMiddleName", "preferredFamilyName",
         "primaryOrgSourcedId", "pronouns"],
        ["U1", "", "", "true", "ada", "{EPPN:ada@ek.example},{LDAP:ab12}", "Ada", "Berg", "",
         "", "ada@ek.example", "", "", "", "07", "", "", "", "", "", "", "S1", ""],
        ["U2", "", "", "true", "bo", "", "Bo", "Ek", "", "", "", "", "", "", "07", "", "", "",
         "", "", "", "S1", ""],
        ["T1", "", "", "true", "cay", "", "Cay", "Lind", "", "", "cay@ek.example", "", "", "",
         "", "", "", "", "", "", "", "S1", ""],
    ],
    "roles.csv": [
        ["sourcedId", "status", "dateLastModified", "userSourcedId", "roleType", "role",
         "beginDate", "endDate", "orgSourcedId", "userProfileSourcedId"],
        ["R1", "", "", "U1", "primary", "student", "2025-08-18", "", "S1", ""],
        ["R2", "", "", "U2", "primary", "student", "2025-08-18", "", "S1", ""],
        ["R3", "", "", "T1", "primary", "teacher", "", "", "S1", ""],
        ["R4", "", "", "T1", "secondary", "guardian", "", "", "S1", ""],
    ],
    "enrollments.csv": [
        ["sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId",
         "userSourcedId", "role", "primary", "beginDate", "endDate"],
        ["E1", "", "", "C1", "S1", "U1", "student", "false", "", ""],
        ["E2", "", "", "C1", "S1", "U2", "student", "false", "", ""],
        ["E3", "", "", "C1", "S1", "T1", "teacher", "true", "", ""],
        ["E4", "", "", "C2", "S1", "U1", "student", "false", "", ""],
    ],
}  # fmt: skip


def write_package(folder: Path, changes: Mapping[str, list[list[str]] | None] = ()) -> Path:
    """The small package in ``folder``, with whole files replaced (None: left out)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {**FILES, **dict(changes)}
    for name, rows in files.items():
        if rows is None:
            continue
        with (folder / name).open("w", encoding="utf-8", newline="") as f:
            csv.writer(f).writerows(rows)
    return folder


def with_rows(name: str, *rows: list[str]) -> dict[str, list[list[str]]]:
    return {name: FILES[name] + [list(r) for r in rows]}
