"""A bulk package and the delta packages after it, merged into the rows they leave standing.

Each file of each package is taken as its manifest says: ``bulk`` takes the place of what
the packages before it said of that file, ``delta`` changes it row by row (by ``sourcedId``;
a row whose ``status`` is ``tobedeleted`` takes its row away) and ``absent`` leaves it as it
was. A delete of a row no package before holds is a finding and removes nothing; a delta row
whose ``dateLastModified`` is older than the row it would replace is a finding and leaves
the newer row standing. A row listed twice in one file is handed on as a duplicate, so the
mapping refuses it as it does in a bulk package.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from adapters.oneroster.columns import EXTENSIONS, SPEC
from adapters.oneroster.package import Package, Row, Warn, rows
from engine.findings import Finding, Severity

ORIGIN = "oneroster"
FILES = tuple(SPEC)
NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    "roles.csv": ("userSourcedId", "orgSourcedId", "role"),
    "enrollments.csv": ("classSourcedId", "userSourcedId", "role"),
}
"""What identifies a row of a file whose rows may come without a ``sourcedId``."""

Placed = tuple[str, int, Row]  # file, line, row


@dataclass
class Merged:
    """The rows left standing, by file and id, in the order they were first given."""

    tables: dict[str, dict[str, Placed]] = field(default_factory=dict)
    duplicates: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    no_id: list[tuple[str, str, int]] = field(default_factory=list)  # csv name, file, line

    def warn(self, code: str, kind: str, rid: str, message: str, fix: str = "") -> None:
        self.findings.append(Finding(code, Severity.WARNING, kind, rid, message, fix, ORIGIN))


def row_id(name: str, row: Row) -> str:
    """The row's ``sourcedId``, or for roles and enrollments without one their natural key."""
    rid = row.get("sourcedId", "").strip()
    if rid or name not in NATURAL_KEYS:
        return rid
    parts = [row.get(c, "").strip().lower() for c in NATURAL_KEYS[name]]
    return "|".join(parts) if all(parts) else ""


def merge(packages: list[Package], warn: Warn) -> Merged:
    """The packages, in order, merged file by file."""
    out = Merged()
    for n, package in enumerate(packages):
        if n == 0 and package.delta:
            out.warn(
                "oneroster.delta_first",
                "source",
                package.name,
                f"{package.name}: the first package is a delta package; what a bulk package "
                "would hold before it is missing",
                "Put the latest bulk package first (packages are read in name order).",
            )
        for name in FILES:
            mode = package.mode(name)
            if mode == "absent":
                continue
            table = out.tables.setdefault(name, {})
            if mode == "bulk":
                table.clear()
            _apply(out, table, name, package, mode == "delta", warn)
    return out


def _apply(
    out: Merged, table: dict[str, Placed], name: str, package: Package, delta: bool, warn: Warn
) -> None:
    f = package.files[name]
    seen: dict[str, int] = {}
    for line, row in rows(f, None, warn):
        rid = row_id(name, row)
        if not rid:
            out.no_id.append((name, f.name, line))
            continue
        if rid in seen:
            out.duplicates.setdefault((name, rid), [f"{f.name} line {seen[rid]}"]).append(
                f"{f.name} line {line}"
            )
        else:
            seen[rid] = line
            out.duplicates.pop((name, rid), None)  # an earlier file's copies are replaced
        deleted = row.get("status", "").strip().lower() == "tobedeleted"
        old = table.get(rid)
        if delta and old is not None and _older(row, old[2]):
            out.warn(
                "oneroster.stale_row",
                _kind(name),
                rid,
                f"{f.name} line {line}: the row of {rid} was last modified "
                f"{row.get('dateLastModified', '')[:40]}, before the row it would replace "
                f"({old[0]} line {old[1]}, {old[2].get('dateLastModified', '')[:40]}); "
                "the newer row stands",
                "Check that the delta packages are read in the order they were made.",
            )
            continue
        if deleted:
            if old is None:
                if delta:
                    out.warn(
                        "oneroster.delete_unknown",
                        _kind(name),
                        rid,
                        f"{f.name} line {line}: deletes {rid}, which no earlier package "
                        "holds; nothing is removed",
                        "Check that the bulk package the deltas follow is in the folder.",
                    )
                continue
            del table[rid]
            continue
        table[rid] = (f.name, line, row)


def _older(new: Row, old: Row) -> bool:
    a, b = _stamp(new.get("dateLastModified", "")), _stamp(old.get("dateLastModified", ""))
    return a is not None and b is not None and a < b


def _stamp(raw: str) -> datetime | None:
    text = raw.strip()
    if not text:
        return None
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def _kind(name: str) -> str:
    return {
        "orgs.csv": "school",
        "classes.csv": "group",
        "users.csv": "person",
        "roles.csv": "person",
        "enrollments.csv": "membership",
    }.get(name, "source")


class MergedTable:
    """A merged file's rows as :class:`adapters.oneroster.package.Table` gives a file's: plain
    lists under one header, the file and line of the current row at hand for findings."""

    def __init__(self, name: str, placed: dict[str, Placed]) -> None:
        self.header = list(SPEC[name]) + list(EXTENSIONS.get(name, ()))
        self.index = {c: i for i, c in enumerate(self.header)}
        self._placed = placed
        self.name = name
        self.line = 0

    def __enter__(self) -> MergedTable:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def errors(self) -> AbstractContextManager[None]:
        return nullcontext()

    def fit(self, values: list[str]) -> list[str] | None:
        return values

    @property
    def reader(self) -> Iterator[list[str]]:
        header = self.header
        for file, line, row in self._placed.values():
            self.name, self.line = file, line
            yield [row.get(c, "") for c in header]
