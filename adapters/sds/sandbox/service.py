"""What the sandbox keeps: upload sessions and their blobs, validate operations, the records
SDS holds, and industry data runs; and SDS's checks of an uploaded set.

The checks follow the v2.1 file format page and the data-handling rules (../shared/reference/
microsoft.md §6.3): orgs, users and roles are required; headers are case-sensitive, required
headers must be present and unknown ones are refused; values hold no line break; required
values are filled; the set holds the same files as the first upload. A file-level problem is
an error (the operation fails, nothing is taken); a row-level one (a reference to a row not in
the set, an invalid address) is a warning and the row is skipped, as SDS skips failing rows.
[unverified: the exact split of SDS's checks between errors and warnings, and their codes.]

A record missing from a later set is kept, inactive, as SDS does; nothing is ever deleted.
"""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.sds.columns import FILES, row_key

REQUIRED_FILES = ("orgs.csv", "users.csv", "roles.csv")
KNOWN_FILES = {f.name: f for f in FILES}


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Session:
    container_id: str
    signature: str
    expires: float
    files: dict[str, bytes] = field(default_factory=dict)
    operation: str | None = None


@dataclass
class Operation:
    id: str
    container_id: str
    ready_at: float
    status: str = "running"
    errors: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    created: str = field(default_factory=_now)


class Store:
    """The sandbox's data connector and what SDS holds; one lock for all of it."""

    def __init__(self, connector_id: str) -> None:
        self.connector_id = connector_id
        self.lock = threading.RLock()
        self.clear()

    def clear(self) -> None:
        """Forget everything: no session, no record, no run."""
        self.sessions: dict[str, Session] = {}
        self.latest_session: str | None = None
        self.operations: dict[str, Operation] = {}
        self.records: dict[str, dict[str, dict[str, Any]]] = {}  # file -> key -> record
        self.first_files: tuple[str, ...] | None = None
        self.deliveries: list[dict[str, Any]] = []
        self.runs: list[dict[str, Any]] = []
        self.uploads = 0
        self.validations = 0

    def open_session(self, lifetime_s: float) -> Session:
        with self.lock:
            s = Session(
                secrets.token_hex(8), secrets.token_urlsafe(18), time.monotonic() + lifetime_s
            )
            self.sessions[s.container_id] = s
            self.latest_session = s.container_id
            return s

    def put_blob(self, container: str, signature: str, name: str, data: bytes) -> tuple[int, str]:
        with self.lock:
            s = self.sessions.get(container)
            if s is None:
                return 404, "ContainerNotFound"
            if not secrets.compare_digest(signature, s.signature):
                return 403, "AuthenticationFailed"
            if time.monotonic() > s.expires:
                return 403, "AuthenticationFailed"
            if s.operation is not None:
                return 409, "ContainerBeingDeleted"  # finalised: moved on for processing
            s.files[name] = data
            self.uploads += 1
            return 201, ""

    def validate(self, delay_s: float, fail: bool) -> Operation | None:
        """Finalise the newest upload session; a session already finalised answers with its
        own operation again [unverified: Graph's answer to a repeated validate]."""
        with self.lock:
            s = self.sessions.get(self.latest_session or "")
            if s is None or not s.files:
                return None
            if s.operation is not None:
                return self.operations[s.operation]
            op = Operation(secrets.token_hex(8), s.container_id, time.monotonic() + delay_s)
            s.operation = op.id
            self.operations[op.id] = op
            self.validations += 1
            if fail:
                op.status = "failed"
                op.errors.append(
                    {"code": "InternalServiceError", "message": "validation could not run"}
                )
            else:
                self._check(s, op)
            return op

    def operation(self, op_id: str) -> dict[str, Any] | None:
        with self.lock:
            op = self.operations.get(op_id)
            if op is None:
                return None
            status = "running" if time.monotonic() < op.ready_at else op.status
            body: dict[str, Any] = {
                "@odata.type": "#microsoft.graph.industryData.fileValidateOperation",
                "id": op.id,
                "status": status,
                "createdDateTime": op.created,
                "lastActionDateTime": _now(),
                "errors": op.errors if status != "running" else [],
                "warnings": op.warnings if status != "running" else [],
            }
            return body

    # ------------------------------------------------------------------ SDS's checks
    def _check(self, s: Session, op: Operation) -> None:
        names = tuple(sorted(s.files))
        errors, warnings = op.errors, op.warnings
        for name in names:
            if name not in KNOWN_FILES:
                errors.append(
                    {
                        "code": "UnknownFile",
                        "target": name,
                        "message": f"{name} is not an SDS v2.1 file",
                    }
                )
        for name in REQUIRED_FILES:
            if name not in s.files:
                errors.append(
                    {"code": "MissingFile", "target": name, "message": f"{name} is required"}
                )
        if self.first_files is not None and names != self.first_files:
            missing = sorted(set(self.first_files) - set(names))
            if missing:
                warnings.append(
                    {
                        "code": "FileSetChanged",
                        "target": ",".join(missing),
                        "message": "files of the first upload are missing: "
                        "their records become inactive",
                    }
                )
        parsed: dict[str, dict[str, dict[str, str]]] = {}
        for name in names:
            spec = KNOWN_FILES.get(name)
            if spec is None:
                continue
            table = self._parse(name, s.files[name], errors, warnings)
            if table is not None:
                parsed[name] = table
        if errors:
            op.status = "failed"
            return
        self._references(parsed, warnings)
        op.status = "succeeded"
        self._take(s, parsed, bool(warnings))

    def _parse(
        self, name: str, data: bytes, errors: list[dict[str, str]], warnings: list[dict[str, str]]
    ) -> dict[str, dict[str, str]] | None:
        spec = KNOWN_FILES[name]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            errors.append({"code": "InvalidEncoding", "target": name, "message": "not UTF-8"})
            return None
        rows = list(csv.reader(io.StringIO(text, newline="")))
        if not rows:
            errors.append({"code": "MissingHeader", "target": name, "message": "no header row"})
            return None
        header = rows[0]
        unknown = [h for h in header if h not in spec.headers]  # case-sensitive
        missing = [h for h in spec.required if h not in header]
        if unknown or missing:
            errors.append(
                {
                    "code": "InvalidHeader",
                    "target": name,
                    "message": f"unknown headers {unknown}, missing required headers {missing}",
                }
            )
            return None
        table: dict[str, dict[str, str]] = {}
        for n, values in enumerate(rows[1:], start=2):
            where = f"{name} line {n}"
            if len(values) != len(header):
                warnings.append(
                    {"code": "InvalidRow", "target": where, "message": "wrong number of fields"}
                )
                continue
            row = {h: "" for h in spec.headers} | dict(zip(header, values, strict=True))
            if any("\n" in v or "\r" in v for v in values):
                warnings.append(
                    {"code": "LineBreak", "target": where, "message": "a value holds a line break"}
                )
                continue
            empty = [c for c in spec.required if not row[c].strip()]
            if empty:
                warnings.append(
                    {"code": "MissingValue", "target": where, "message": f"empty {empty}"}
                )
                continue
            key = row_key(spec, row)
            if key in table:
                warnings.append({"code": "DuplicateId", "target": where, "message": f"{key} again"})
                continue
            table[key] = row
        return table

    def _references(
        self, parsed: dict[str, dict[str, dict[str, str]]], warnings: list[dict[str, str]]
    ) -> None:
        def ids(name: str) -> set[str]:
            return set(parsed.get(name, {}))

        orgs, users, classes = ids("orgs.csv"), ids("users.csv"), ids("classes.csv")
        checks = (
            ("roles.csv", "userSourcedId", users),
            ("roles.csv", "orgSourcedId", orgs),
            ("classes.csv", "orgSourcedId", orgs),
            ("enrollments.csv", "classSourcedId", classes),
            ("enrollments.csv", "userSourcedId", users),
        )
        for name, column, known in checks:
            table = parsed.get(name, {})
            for key in [k for k, row in table.items() if row[column] not in known]:
                warnings.append(
                    {
                        "code": "UnknownReference",
                        "target": f"{name} {key}",
                        "message": f"{column} not in the set",
                    }
                )
                del table[key]

    def _take(self, s: Session, parsed: dict[str, dict[str, dict[str, str]]], warned: bool) -> None:
        names = tuple(sorted(s.files))
        if self.first_files is None:
            self.first_files = names
        for name in KNOWN_FILES:
            held = self.records.setdefault(name, {})
            fresh = parsed.get(name, {})
            for key, record in held.items():
                record["active"] = key in fresh
            for key, row in fresh.items():
                held[key] = {"row": row, "active": True}
        digest = hashlib.sha256()
        for name in names:
            digest.update(name.encode() + b"\0" + hashlib.sha256(s.files[name]).digest())
        self.deliveries.append(
            {
                "container_id": s.container_id,
                "digest": digest.hexdigest(),
                "rows": {name: len(t) for name, t in parsed.items()},
                "validated": _now(),
            }
        )
        start = datetime.now(UTC)
        self.runs.append(
            {
                "id": secrets.token_hex(8),
                "status": "completedWithWarnings" if warned else "completed",
                "startDateTime": start.isoformat().replace("+00:00", "Z"),
                "endDateTime": (start + timedelta(seconds=1)).isoformat().replace("+00:00", "Z"),
            }
        )

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "data_connector_id": self.connector_id,
                "sessions": len(self.sessions),
                "uploads": self.uploads,
                "validations": self.validations,
                "deliveries": list(self.deliveries),
                "runs": list(self.runs),
                "first_files": list(self.first_files or ()),
                "records": {
                    name: {k: dict(r) for k, r in table.items()}
                    for name, table in self.records.items()
                },
            }
