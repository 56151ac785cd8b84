"""The SDS v2.1 file set as data: each file's exact name, its case-sensitive headers in the
order the published samples give them, the object kind whose rows it holds and which columns
make a row's key.

Source: learn.microsoft.com/schooldatasync/sds-v2.1-csv-file-format and the v2.1 samples
(../shared/specs/sds/v2.1). The optional files (courses, demographics, userFlags,
relationships) are not part of the set: the mapping fills none of them, and once a set is
delivered, its files are always the same (a file missing from a later upload deactivates its
records in SDS).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FileSpec:
    """One CSV of the set: its name, headers, the kind of its rows, the key columns."""

    name: str
    headers: tuple[str, ...]
    kind: str
    key: tuple[str, ...]
    required: tuple[str, ...]


ORG, SESSION, USER, ROLE, CLASS, ENROLLMENT = (
    "org",
    "session",
    "user",
    "role",
    "class",
    "enrollment",
)

FILES: tuple[FileSpec, ...] = (
    FileSpec(
        "orgs.csv",
        ("sourcedId", "name", "type", "parentSourcedId"),
        ORG,
        ("sourcedId",),
        ("sourcedId", "name", "type"),
    ),
    FileSpec(
        "academicSessions.csv",
        ("sourcedId", "title", "type", "schoolYear", "startDate", "endDate"),
        SESSION,
        ("sourcedId",),
        ("sourcedId", "title", "type", "schoolYear", "startDate", "endDate"),
    ),
    FileSpec(
        "users.csv",
        (
            "sourcedId",
            "username",
            "givenName",
            "familyName",
            "password",
            "activeDirectoryMatchId",
            "email",
            "phone",
            "sms",
        ),
        USER,
        ("sourcedId",),
        ("sourcedId", "username"),
    ),
    FileSpec(
        "roles.csv",
        (
            "userSourcedId",
            "orgSourcedId",
            "role",
            "sessionSourcedId",
            "grade",
            "isPrimary",
            "roleStartDate",
            "roleEndDate",
        ),
        ROLE,
        ("userSourcedId", "orgSourcedId", "role"),
        ("userSourcedId", "orgSourcedId", "role"),
    ),
    FileSpec(
        "classes.csv",
        ("sourcedId", "orgSourcedId", "title", "sessionSourcedIds", "courseSourcedId"),
        CLASS,
        ("sourcedId",),
        ("sourcedId", "orgSourcedId", "title", "sessionSourcedIds"),
    ),
    FileSpec(
        "enrollments.csv",
        ("classSourcedId", "userSourcedId", "role"),
        ENROLLMENT,
        ("classSourcedId", "userSourcedId", "role"),
        ("classSourcedId", "userSourcedId", "role"),
    ),
)

BY_KIND = {f.kind: f for f in FILES}
BY_NAME = {f.name: f for f in FILES}
KINDS = tuple(f.kind for f in FILES)
KEY_SEPARATOR = "|"


def row_key(spec: FileSpec, row: dict[str, str]) -> str:
    """The row's key in the journal: its key columns joined (a sourcedId alone, or the
    user, org and role of a role row)."""
    return KEY_SEPARATOR.join(row[c] for c in spec.key)
