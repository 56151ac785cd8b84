"""OneRoster 1.2 rows to the canonical model, as the SS 12000 source maps its records.

- ``orgs.csv``: an org of type ``school`` is a school unit (``identifier``: the
  skolenhetskod); a district or other org is only a parent;
- ``classes.csv``: a class (``homeroom``: Klass, ``scheduled``: Undervisning, or the SS 12000
  type in ``metadata.se.groupType``) at its school, its dates those of its terms
  (``academicSessions.csv``), its subject the first subject code (or its course's code);
- ``users.csv``: a person; ``userIds`` of type ``EPPN`` are eduPersonPrincipalNames, other
  types external ids; ``metadata.se.civicNo`` the personnummer (kept for matching only) and
  ``metadata.se.protection`` the protected identity;
- ``roles.csv``: a person's role at a school: student, teacher, or staff
  (``administrator``, ``principal``, ``aide``, ...); guardians and parents are left out;
- ``enrollments.csv``: a person in a class as student or teacher (``metadata.se.role``
  ``mentor``: a mentor).

A row ESS cannot use is a finding naming the file, the line and the column; a record with a
blocking finding is refused and held, never removed; a reference to what the package does not
hold is a warning. A personnummer never appears in a message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date
from operator import itemgetter
from typing import Any

from adapters.kit.membership_runs import GroupLinks
from adapters.oneroster.columns import SE
from adapters.oneroster.delta import Merged, MergedTable, Placed, merge
from adapters.oneroster.package import Package, Row, Table, table
from engine import model
from engine.findings import Finding, Severity

ORIGIN = "oneroster"
STAFF = frozenset(
    {
        "administrator",
        "aide",
        "counselor",
        "districtadministrator",
        "principal",
        "proctor",
        "siteadministrator",
        "systemadministrator",
    }
)
NOT_SYNCED = frozenset({"guardian", "parent", "relative"})
CLASS_TYPES = {"homeroom": model.GroupType.KLASS, "scheduled": model.GroupType.UNDERVISNING}
PROTECTION = {p.value.lower(): p for p in model.Protection} | {"": model.Protection.NONE}
_FIRST_THREE = itemgetter(0, 1, 2)  # a membership's or role's group or school, person, role
# the columns the mapping reads from the large files (besides status): a row of users.csv has
# 25 values, and a dict of the nine read is made in a third of the time of one of all
_READ: dict[str, tuple[str, ...]] = {
    "users.csv": (
        "sourcedId", "givenName", "familyName", "middleName", "email", "userIds",
        SE + "protection", SE + "civicNo",
    ),
    "roles.csv": (
        "userSourcedId", "orgSourcedId", "role", "beginDate", "endDate", SE + "schoolYear",
        SE + "title",
    ),
    "classes.csv": (
        "sourcedId", "title", "classType", "schoolSourcedId", "termSourcedIds", "subjectCodes",
        "courseSourcedId", SE + "schoolType", SE + "groupType",
    ),
}  # fmt: skip
_USER_ID = re.compile(r"\{([^:{}]+):([^{}]*)\}")
_CIVIC_LIKE = re.compile(r"^\d{6}(\d{2})?[-+]?[0-9A-Z]{4}$")


def _nothing(_: object) -> None:
    return None


class _Bad(Exception):
    def __init__(self, column: str, problem: str) -> None:
        super().__init__(column, problem)
        self.column, self.problem = column, problem


_DATES: dict[str, date] = {}  # a package has few distinct dates and many rows


def _date(row: Row, column: str) -> date | None:
    raw = row.get(column, "")
    return _day(raw, column) if raw else None


def _day(raw: str, column: str) -> date:
    """A non-empty date column's day (parsed once for each distinct text)."""
    hit = _DATES.get(raw)
    if hit is not None:
        return hit
    try:
        day = date.fromisoformat(raw.strip()[:10])
    except ValueError:
        raise _Bad(column, f"is not a date (YYYY-MM-DD): {raw[:40]!r}") from None
    if len(_DATES) < 100_000:
        _DATES[raw] = day
    return day


def _need(row: Row, column: str) -> str:
    value = row.get(column, "").strip()
    if not value:
        raise _Bad(column, "is empty")
    return value


class Mapper:
    """One read of one package."""

    def __init__(self, packages: Package | list[Package] | Merged, today: date) -> None:
        """``packages``: the CSV packages read (one bulk package is read file by file), or
        the rows the REST form fetched, as merged rows."""
        given = packages
        packages = (
            [] if isinstance(given, Merged) else given if isinstance(given, list) else [given]
        )
        self.p = packages[-1] if packages else Package({}, {})
        self.today = today
        self.blocking: dict[tuple[str, str], Finding] = {}
        self.warnings: list[Finding] = []
        self.held_persons: set[str] = set()
        self.held_groups: set[str] = set()
        self.stats: dict[str, int] = {}
        self.merged: Merged | None = None  # None: one bulk package, read file by file
        if isinstance(given, Merged):
            self.merged = given
            self.warnings.extend(given.findings)
        elif len(packages) > 1 or packages[0].delta:
            self.merged = merge(packages, self._header_warning)
            self.warnings.extend(self.merged.findings)
            self.stats["packages"] = len(packages)

    def warn(self, code: str, kind: str, rid: str, message: str, fix: str = "") -> None:
        self.warnings.append(Finding(code, Severity.WARNING, kind, rid, message, fix, ORIGIN))

    def block(self, kind: str, rid: str, message: str, fix: str) -> None:
        self.blocking.setdefault(
            (kind, rid),
            Finding("oneroster.invalid_row", Severity.BLOCKING, kind, rid, message, fix, ORIGIN),
        )

    def _header_warning(self, file: str, message: str) -> None:
        self.warn("oneroster.header", "source", file, f"{file}: {message}")

    def _rows(self, name: str) -> Iterable[tuple[str, int, Row]]:
        if self.merged is not None:
            placed = self.merged.tables.get(name, {})
            self.stats[name.removesuffix(".csv")] = len(placed)
            yield from placed.values()
            return
        f = self.p.files.get(name)
        if f is None:
            return
        count = 0
        name_of = f.name
        # one loop over the reader itself (not a generator over a generator): users.csv and
        # roles.csv of a large municipality have 170,000 rows each
        with table(f, None, self._header_warning) as t, t.errors():
            header, width, fit = t.header, len(t.header), t.fit
            reader: Any = t.reader  # a csv reader: its line_num is the row's last line
            si = t.column("status")
            names = [c for c in _READ.get(name, ()) if c in t.index]
            pick = itemgetter(*(t.index[c] for c in names)) if len(names) > 1 else None
            for values in reader:
                if len(values) != width:
                    fitted = fit(values)
                    if fitted is None:
                        continue
                    values = fitted
                count += 1
                if si is not None and values[si] and values[si].strip().lower() == "tobedeleted":
                    continue
                if pick is None:
                    yield name_of, reader.line_num, dict(zip(header, values, strict=True))
                else:
                    yield name_of, reader.line_num, dict(zip(names, pick(values), strict=True))
        self.stats[name.removesuffix(".csv")] = count

    def _by_id(self, name: str, kind: str) -> dict[str, tuple[str, int, Row]]:
        """Rows by sourcedId; an id listed twice is refused (which copy is right cannot be
        told) and a row without an id left out with a warning."""
        if self.merged is not None:
            return self._merged_by_id(name, kind, self.merged)
        out: dict[str, tuple[str, int, Row]] = {}
        twice: dict[str, list[str]] = {}
        for file, line, row in self._rows(name):
            rid = row.get("sourcedId", "").strip()
            if not rid:
                self.warn(
                    "oneroster.no_id",
                    kind,
                    f"{file}:{line}",
                    f"{file} line {line}: sourcedId is empty; the row is left out",
                    "Give every row a sourcedId.",
                )
                continue
            if rid in out:
                twice.setdefault(rid, [f"line {out[rid][1]}"]).append(f"line {line}")
            out[rid] = (file, line, row)
        for rid, lines in twice.items():
            self.blocking[(kind, rid)] = Finding(
                "oneroster.duplicate_id",
                Severity.BLOCKING,
                kind,
                rid,
                f"{kind} {rid}: {name} lists this sourcedId {len(lines)} times "
                f"({', '.join(lines[:4])}); which copy is right cannot be told, so the {kind} "
                "is left out",
                f"Give each {kind} a sourcedId of its own, or remove the copy.",
                ORIGIN,
            )
        return out

    def _merged_by_id(self, name: str, kind: str, merged: Merged) -> dict[str, Placed]:
        """The merged rows by id; a row without an id or listed twice in one file is
        handled as :meth:`_by_id` handles it in a bulk package."""
        for csv_name, file, line in merged.no_id:
            if csv_name == name:
                self.warn(
                    "oneroster.no_id",
                    kind,
                    f"{file}:{line}",
                    f"{file} line {line}: sourcedId is empty; the row is left out",
                    "Give every row a sourcedId.",
                )
        for (csv_name, rid), places in merged.duplicates.items():
            if csv_name == name:
                self.blocking[(kind, rid)] = Finding(
                    "oneroster.duplicate_id",
                    Severity.BLOCKING,
                    kind,
                    rid,
                    f"{kind} {rid}: the package lists this sourcedId {len(places)} times "
                    f"({', '.join(places[:4])}); which copy is right cannot be told, so the "
                    f"{kind} is left out",
                    f"Give each {kind} a sourcedId of its own, or remove the copy.",
                    ORIGIN,
                )
        placed = merged.tables.get(name, {})
        self.stats[name.removesuffix(".csv")] = len(placed)
        return dict(placed)

    def _bad(self, kind: str, rid: str, file: str, line: int, bad: _Bad) -> None:
        self.block(
            kind,
            rid,
            f"{kind} {rid} ({file} line {line}, column {bad.column}): {bad.problem}",
            f"Correct the {kind} in the student information system and export again.",
        )

    # -- the read --------------------------------------------------------------------------

    def run(self) -> tuple[model.Snapshot, tuple[Finding, ...], dict[str, int]]:
        schools = self._schools()
        sessions = self._sessions()
        courses = {
            rid: r[2].get("courseCode", "").strip()
            for rid, r in self._by_id("courses.csv", "course").items()
        }
        groups = self._groups(schools, sessions, courses)
        persons = self._persons()
        roles = self._roles(schools, persons)
        memberships = self._enrollments(groups, persons)
        by_kind: dict[str, set[str]] = {"school": set(), "person": set(), "group": set()}
        for kind, rid in self.blocking:
            if kind in by_kind:
                by_kind[kind].add(rid)
        dropped = [rid for rid in by_kind["person"] if persons.pop(rid, None) is not None]
        for rid in by_kind["group"] | self.held_groups:
            groups.pop(rid, None)
        refused = model.Refused(
            frozenset(by_kind["school"]),
            frozenset(by_kind["person"] | self.held_persons),
            frozenset(by_kind["group"] | self.held_groups),
        )
        roles = sorted((r for r in roles if r.person_id in persons), key=_FIRST_THREE)
        snapshot = model.Snapshot.of_runs(
            schools,
            persons,
            groups,
            memberships.runs(persons if dropped else None, groups),
            tuple(roles),
            self.today,
            ORIGIN,
            refused if refused else model.Refused(),
        )
        self.stats["blocked"] = len(self.blocking)
        return snapshot, tuple(self.blocking.values()) + tuple(self.warnings), self.stats

    def _schools(self) -> dict[str, model.School]:
        orgs = self._by_id("orgs.csv", "school")
        schools: dict[str, model.School] = {}
        for rid, (file, line, row) in orgs.items():
            if row.get("type", "").strip().lower() != "school" or ("school", rid) in self.blocking:
                continue
            try:
                name = _need(row, "name")
                start, end = _date(row, SE + "startDate"), _date(row, SE + "endDate")
            except _Bad as bad:
                self._bad("school", rid, file, line, bad)
                continue
            types = tuple(t for t in row.get(SE + "schoolTypes", "").split(",") if t.strip())
            schools[rid] = model.School(
                rid,
                name,
                row.get("identifier", "").strip() or None,
                row.get("parentSourcedId", "").strip() or None,
                tuple(t.strip() for t in types),
                row.get(SE + "municipalityCode", "").strip() or None,
                start,
                end,
            )
        return schools

    def _sessions(self) -> dict[str, tuple[date | None, date | None]]:
        out: dict[str, tuple[date | None, date | None]] = {}
        for rid, (file, line, row) in self._by_id("academicSessions.csv", "session").items():
            try:
                out[rid] = (_date(row, "startDate"), _date(row, "endDate"))
            except _Bad as bad:
                self.warn(
                    "oneroster.invalid_session",
                    "session",
                    rid,
                    f"academic session {rid} ({file} line {line}, column {bad.column}): "
                    f"{bad.problem}; classes in it are refused",
                    "Correct the session's dates.",
                )
        return out

    def _groups(
        self,
        schools: dict[str, model.School],
        sessions: dict[str, tuple[date | None, date | None]],
        courses: dict[str, str],
    ) -> dict[str, model.Group]:
        groups: dict[str, model.Group] = {}
        for rid, (file, line, row) in self._by_id("classes.csv", "group").items():
            if ("group", rid) in self.blocking:
                continue
            try:
                title = _need(row, "title")
                gtype = self._group_type(row)
                school_id = _need(row, "schoolSourcedId")
                start, end = self._term(row, sessions)
            except _Bad as bad:
                self._bad("group", rid, file, line, bad)
                continue
            if school_id not in schools:
                if ("school", school_id) in self.blocking:
                    self.held_groups.add(rid)
                else:
                    self._bad(
                        "group",
                        rid,
                        file,
                        line,
                        _Bad("schoolSourcedId", f"names {school_id}, no school in orgs.csv"),
                    )
                continue
            codes = [c.strip() for c in row.get("subjectCodes", "").split(",") if c.strip()]
            subject = codes[0] if codes else courses.get(row.get("courseSourcedId", "").strip())
            groups[rid] = model.make_group(
                rid,
                title,
                gtype,
                school_id,
                row.get(SE + "schoolType", "").strip() or None,
                start,
                end,
                subject or None,
            )
        return groups

    @staticmethod
    def _group_type(row: Row) -> model.GroupType:
        se = row.get(SE + "groupType", "").strip()
        if se:
            try:
                return model.GroupType(se)
            except ValueError:
                raise _Bad(SE + "groupType", f"has the unknown value {se[:40]!r}") from None
        kind = row.get("classType", "").strip()
        found = CLASS_TYPES.get(kind.lower())
        if found is None:
            raise _Bad("classType", f"has the unknown value {kind[:40]!r}")
        return found

    @staticmethod
    def _term(
        row: Row, sessions: dict[str, tuple[date | None, date | None]]
    ) -> tuple[date | None, date | None]:
        ids = [t.strip() for t in row.get("termSourcedIds", "").split(",") if t.strip()]
        if not ids:
            return None, None
        spans = []
        for tid in ids:
            if tid not in sessions:
                raise _Bad("termSourcedIds", f"names {tid}, no usable academic session")
            spans.append(sessions[tid])
        starts = [s for s, _ in spans]
        ends = [e for _, e in spans]
        start = None if None in starts else min(s for s in starts if s is not None)
        end = None if None in ends else max(e for e in ends if e is not None)
        return start, end

    def _persons(self) -> dict[str, model.Person]:
        persons: dict[str, model.Person] = {}
        for rid, (file, line, row) in self._by_id("users.csv", "person").items():
            if ("person", rid) in self.blocking:
                continue
            try:
                given = _need(row, "givenName")
                family = _need(row, "familyName")
                marking = row.get(SE + "protection", "").strip()
                protection = PROTECTION.get(marking.lower())
                if protection is None:
                    raise _Bad(SE + "protection", f"has the unknown value {marking[:40]!r}")
            except _Bad as bad:
                self._bad("person", rid, file, line, bad)
                continue
            civic = row.get(SE + "civicNo", "").strip() or None
            eppns: list[str] = []
            external: list[tuple[str, str]] = []
            for kind, value in _USER_ID.findall(row.get("userIds", "")):
                kind, value = kind.strip(), value.strip()
                if not value:
                    continue
                if kind.lower() in ("eppn", "edupersonprincipalname"):
                    eppns.append(value)
                elif value != civic and not _CIVIC_LIKE.match(value):
                    external.append((kind, value))
            email = row.get("email", "").strip()
            persons[rid] = model.make_person(
                rid,
                given,
                family,
                (email,) if email else (),
                tuple(eppns),
                civic,
                protection,
                row.get("middleName", "").strip() or None,
                tuple(external),
            )
        return persons

    def _roles(
        self, schools: dict[str, model.School], persons: dict[str, model.Person]
    ) -> list[model.SchoolRole]:
        out: list[model.SchoolRole] = []
        school_id = {sid: sid for sid in schools}.get  # the ids as the records' own objects
        person_id = {pid: pid for pid in persons}.get
        for file, line, row in self._rows("roles.csv"):
            pid = row.get("userSourcedId", "").strip()
            org = row.get("orgSourcedId", "").strip()
            role = row.get("role", "").strip()
            if role.lower() in NOT_SYNCED:
                continue
            known_org = school_id(org)
            if known_org is None:
                if ("school", org) in self.blocking:
                    self.held_persons.add(pid)
                continue  # a role at a district or another org: no school role
            known_pid = person_id(pid)
            if known_pid is None:
                if ("person", pid) not in self.blocking:
                    self._dangling(file, line, "userSourcedId", pid)
                continue
            try:
                kind = _school_role(role)
                start, end = _date(row, "beginDate"), _date(row, "endDate")
                year_text = row.get(SE + "schoolYear", "").strip()
                try:
                    year = int(year_text) if year_text else None
                except ValueError:
                    raise _Bad(SE + "schoolYear", f"is not a number: {year_text[:20]!r}") from None
            except _Bad as bad:
                self._bad("person", pid, file, line, bad)
                continue
            title = row.get(SE + "title", "").strip() or None
            out.append(model.SchoolRole(known_org, known_pid, kind, start, end, year, title))
        return out

    def _enrollments(
        self, groups: dict[str, model.Group], persons: dict[str, model.Person]
    ) -> GroupLinks:
        """The enrollments, read as plain rows (a large package has two million): a class's
        rows come together, so its columns are kept at hand while it lasts."""
        links = GroupLinks()
        f = self.p.files.get("enrollments.csv")
        source: Table | MergedTable
        if self.merged is not None:
            source = MergedTable("enrollments.csv", self.merged.tables.get("enrollments.csv", {}))
        elif f is not None:
            source = table(f, None, self._header_warning)
        else:
            return links
        blocking, held = self.blocking, self.held_groups
        # each id as the one object the group or person is keyed by: the rows' own copies of
        # two million ids are let go with their rows, and every later look-up of an id in
        # ``persons`` (by the snapshot, the targets) finds it by identity
        group_id = {gid: gid for gid in groups}.get
        person_id = {pid: pid for pid in persons}.get
        skip = NOT_SYNCED | STAFF
        student, teacher = model.MemberRole.STUDENT, model.MemberRole.TEACHER
        exact_role = {"student": student, "teacher": teacher}.get
        count = 0
        last_gid: str | None = None
        add_pid: Callable[[str], None] = _nothing
        add_role: Callable[[model.MemberRole], None] = _nothing
        add_begin: Callable[[date | None], None] = _nothing
        add_end: Callable[[date | None], None] = _nothing
        dates = _DATES
        with source as t, t.errors():
            col, width, fit = t.index, len(t.header), t.fit
            gi, pi, ri = col["classSourcedId"], col["userSourcedId"], col["role"]
            si, se_i = col.get("status"), col.get(SE + "role")
            bi, ei = col.get("beginDate"), col.get("endDate")
            for v in t.reader:
                count += 1
                if len(v) != width:
                    fitted = fit(v)
                    if fitted is None:
                        continue
                    v = fitted
                if si is not None and v[si] and v[si].strip().lower() == "tobedeleted":
                    continue
                # the ids and the role as they stand first: stripping and lowering each of
                # two million rows' values is needed only for the odd one
                raw_gid, raw_pid = v[gi], v[pi]
                known_gid = group_id(raw_gid) or group_id(raw_gid.strip())
                known_pid = person_id(raw_pid) or person_id(raw_pid.strip())
                se_role = v[se_i] if se_i is not None else ""
                member = None if se_role else exact_role(v[ri])
                if known_gid is None or known_pid is None:
                    if v[ri].strip().lower() in skip:
                        continue
                    if known_gid is None:
                        gid = raw_gid.strip()
                        if ("group", gid) not in blocking and gid not in held:
                            self._dangling(t.name, t.line, "classSourcedId", gid)
                    elif ("person", pid := raw_pid.strip()) not in blocking:
                        self._dangling(t.name, t.line, "userSourcedId", pid)
                    continue
                try:
                    if member is None:
                        role = v[ri].strip().lower()
                        if role == "student" and not se_role:
                            member = student
                        elif role == "teacher" and not se_role:
                            member = teacher
                        elif role in skip:
                            continue
                        else:
                            member = _member_role(role, se_role.strip().lower())
                    raw = v[bi] if bi is not None else ""
                    start = (dates.get(raw) or _day(raw, "beginDate")) if raw else None
                    raw = v[ei] if ei is not None else ""
                    end = (dates.get(raw) or _day(raw, "endDate")) if raw else None
                except _Bad as bad:
                    self._bad("group", known_gid, t.name, t.line, bad)  # held, not changed
                    continue
                if known_gid is not last_gid:
                    last_gid = known_gid
                    cols = links.of(known_gid)
                    add_pid, add_role = cols[0].append, cols[1].append
                    add_begin, add_end = cols[2].append, cols[3].append
                add_pid(known_pid)
                add_role(member)
                add_begin(start)
                add_end(end)
        self.stats["enrollments"] = count
        return links

    def _dangling(self, file: str, line: int, column: str, rid: str) -> None:
        self.warn(
            "oneroster.dangling_reference",
            "membership",
            f"{file}:{line}",
            f"{file} line {line}, column {column}: {rid} is not in the package; the row is "
            "left out",
            "Export the record it names, or remove the row.",
        )


def _school_role(role: str) -> model.SchoolRoleType:
    low = role.lower()
    if low == "student":
        return model.SchoolRoleType.STUDENT
    if low == "teacher":
        return model.SchoolRoleType.TEACHER
    if low in STAFF:
        return model.SchoolRoleType.STAFF
    raise _Bad("role", f"has the unknown value {role[:40]!r}")


def _member_role(role: str, se_role: str) -> model.MemberRole:
    if se_role == "mentor":
        return model.MemberRole.MENTOR
    if role == "student":
        return model.MemberRole.STUDENT
    if role == "teacher":
        return model.MemberRole.TEACHER
    raise _Bad("role", f"has the unknown value {role[:40]!r}")
