"""SDS's published rules for v2.1 rows, checked before anything is delivered.

A row SDS would reject is refused here, with a finding on its source record: it is left out
of the set when it was never delivered and keeps its last delivered row when it was (the target
reports it as waiting, so nothing is planned for it, neither a change nor a removal). Rows that
point at a refused row wait with it. A rule over a whole file (more rows than SDS takes) holds
the whole set: nothing is delivered until it is fixed.

Rules (learn.microsoft.com/schooldatasync "data handling" and the v2.1 file format pages):
required columns filled; no line break inside a value; ids unique (case-sensitive, which keys
already are); usernames and emails RFC 5322 addresses (lower-cased); dates ISO 8601, a start
not after its end; every reference to a row of the set.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from engine.findings import Finding, Severity

from .columns import BY_KIND, CLASS, ENROLLMENT, FILES, ORG, ROLE, SESSION, USER
from .mapping import Row, Rows, refs_of

ORIGIN = "sds"
# an addr-spec of RFC 5322 as SDS takes it: a dot-atom local part and a dotted domain
_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}"
)
RECORD_TYPE = {
    ORG: "school",
    USER: "person",
    ROLE: "school_role",
    CLASS: "group",
    ENROLLMENT: "membership",
    SESSION: "source",
}
FIX = {
    "sds.required": "fill the field in the student administration system",
    "sds.line_break": "remove the line break from the field in the student administration system",
    "sds.username": "give the person an eduPersonPrincipalName or email that is a valid address",
    "sds.email": "correct the person's email address in the student administration system",
    "sds.username_shared": "give each person an address of their own",
    "sds.dates": "correct the dates in the student administration system",
    "sds.too_many_rows": "split the tenant or raise max_rows_per_file if SDS allows it",
}


def record_id(kind: str, row: Row) -> str:
    """The source record a row stands for, never a personnummer."""
    if kind == ROLE:
        return row["userSourcedId"]
    if kind == ENROLLMENT:
        return row["classSourcedId"]
    return row["sourcedId"]


@dataclass
class Checked:
    """The rows SDS takes, the keys refused by kind, the findings, and whether the whole set
    is held."""

    rows: Rows
    refused: dict[str, set[str]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    held: bool = False


def is_address(text: str) -> bool:
    return bool(_ADDRESS.fullmatch(text)) and len(text) <= 254


def _iso(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _row_problems(kind: str, row: Row) -> Iterator[tuple[str, str]]:
    spec = BY_KIND[kind]
    for column, value in row.items():
        if "\n" in value or "\r" in value:
            yield "sds.line_break", f"{spec.name} column {column} holds a line break"
    for column in spec.required:
        if not row.get(column, "").strip():
            yield "sds.required", f"{spec.name} needs {column}, and it is empty"
    if kind == USER:
        if row["username"] and not is_address(row["username"]):
            yield "sds.username", "the username is not an email-style address"
        if row["email"] and not is_address(row["email"]):
            yield "sds.email", "the email is not a valid address"
        if not row["givenName"].strip() or not row["familyName"].strip():
            yield "sds.required", "users.csv needs givenName and familyName to create the user"
    for start_col, end_col in (("startDate", "endDate"), ("roleStartDate", "roleEndDate")):
        if start_col not in row:
            continue
        start, end = row[start_col], row[end_col]
        s, e = _iso(start) if start else None, _iso(end) if end else None
        if (start and s is None) or (end and e is None):
            yield "sds.dates", f"{spec.name} {start_col}/{end_col} are not ISO 8601 dates"
        elif s and e and s > e:
            yield "sds.dates", f"{spec.name} {start_col} {start} is after {end_col} {end}"


def check(rows: Rows, max_rows_per_file: int) -> Checked:
    """Apply SDS's rules to every row; refused rows and those that point at them leave
    ``rows``."""
    out = Checked(rows)
    refused = out.refused
    for kind, table in rows.by_kind.items():
        for key, row in table.items():
            for code, message in _row_problems(kind, row):
                out.findings.append(
                    _finding(code, kind, row, message, rows.labels.get((kind, key)))
                )
                refused.setdefault(kind, set()).add(key)
    _shared_usernames(rows, out)
    for kind in (ORG, SESSION, USER, CLASS, ROLE, ENROLLMENT):  # referenced kinds first
        for key, row in rows.by_kind.get(kind, {}).items():
            for ref_kind, ref in refs_of(kind, row):
                if ref in refused.get(ref_kind, ()) or ref not in rows.by_kind.get(ref_kind, {}):
                    refused.setdefault(kind, set()).add(key)
    for kind, keys in refused.items():
        table = rows.by_kind.get(kind, {})
        for key in keys:
            table.pop(key, None)
    for spec in FILES:
        n = len(rows.by_kind.get(spec.kind, {}))
        if n > max_rows_per_file:
            out.held = True
            out.findings.append(
                Finding(
                    "sds.too_many_rows",
                    Severity.BLOCKING,
                    "source",
                    spec.name,
                    f"{spec.name} would hold {n} rows, more than the {max_rows_per_file} SDS "
                    "takes in one file; the whole set is held",
                    FIX["sds.too_many_rows"],
                    ORIGIN,
                )
            )
    return out


def _shared_usernames(rows: Rows, out: Checked) -> None:
    holders: dict[str, list[str]] = {}
    for key, row in rows.by_kind.get(USER, {}).items():
        if row["username"]:
            holders.setdefault(row["username"].lower(), []).append(key)
    for keys in holders.values():
        if len(keys) < 2:
            continue
        for key in keys:
            row = rows.by_kind[USER][key]
            message = f"the username is shared by {len(keys)} users"
            out.findings.append(_finding("sds.username_shared", USER, row, message, None))
            out.refused.setdefault(USER, set()).add(key)


def _finding(code: str, kind: str, row: Row, message: str, label: str | None) -> Finding:
    what = f"{label}: " if label else ""
    return Finding(
        code,
        Severity.BLOCKING,
        RECORD_TYPE[kind],
        record_id(kind, row),
        f"{what}{message}; SDS would reject the row, so it is not sent "
        "(a row delivered before stays as it was)",
        FIX.get(code, ""),
        ORIGIN,
    )
