"""Several sources of one tenant as one snapshot.

Many municipalities run one system for grundskola and another for gymnasieskola. Each source
owns schools (those its ``schools`` key names, or the ones no source before it owns); a
school's groups, memberships and school roles come from its owner alone. A person present in
two sources is one person, matched by the tenant's match keys (:mod:`engine.matching`): the
first source in precedence order gives the record, the strictest protected identity of the two
holds, and fields that differ are a finding. A source that could not be read contributes
nothing, and the run that goes on without it holds the removals of what that source owned
(see :class:`Merged` and :mod:`engine.source_failure`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from engine.config import MatchKeys
from engine.findings import Finding, Severity
from engine.matching import Key, person_keys, school_identity
from engine.model import (
    Group,
    Membership,
    Person,
    Protection,
    Refused,
    School,
    SchoolRole,
    Snapshot,
)
from engine.source import SourceRead

_STRICTNESS = {
    Protection.NONE: 0,
    Protection.CONFIDENTIAL: 1,
    Protection.PROTECTED_REGISTRATION: 2,
}


@dataclass(frozen=True)
class SourcePart:
    """One source's read (``None`` when it failed, with ``error``) and the schools it owns."""

    key: str
    read: SourceRead | None
    schools: tuple[str, ...] = ()  # skolenhetskod or source id; empty: what is left
    error: str = ""


@dataclass(frozen=True, repr=False)
class Merged:
    """The tenant's one snapshot, the findings of every source and of the merge, and the
    sources that failed. ``hold_removals`` is true when one did: its records cannot be told
    from records that left, so what it owned may not be removed in the run. ``owners`` says,
    per source that was read, which merged records it brought (record type -> merged ids): a
    person in two sources is owned by both."""

    snapshot: Snapshot
    findings: tuple[Finding, ...]
    failed: tuple[str, ...]
    counts: Mapping[str, Mapping[str, int]]  # per source: what it gave the merged snapshot
    mode: str = "full"  # how the sources were read: one's mode, or each's joined by "+"
    stats: Mapping[str, int] = field(default_factory=dict)
    # (source key, its person id) -> merged id, for every person known by another's id
    aliases: Mapping[tuple[str, str], str] = field(default_factory=dict)
    owners: Mapping[str, Mapping[str, frozenset[str]]] = field(default_factory=dict)

    @property
    def hold_removals(self) -> bool:
        return bool(self.failed)

    def __repr__(self) -> str:
        return f"Merged({self.snapshot!r}, failed={list(self.failed)})"


def _finding(code: str, severity: Severity, rtype: str, rid: str, msg: str, fix: str) -> Finding:
    return Finding(code, severity, rtype, rid, msg, fix, "merge")


def _owners(parts: Sequence[SourcePart]) -> tuple[dict[str, str], list[Finding]]:
    """school code or id -> the source that claims it in its ``schools`` key."""
    owners: dict[str, str] = {}
    findings: list[Finding] = []
    for part in parts:
        for school in part.schools:
            first = owners.setdefault(school, part.key)
            if first != part.key:
                findings.append(
                    _finding(
                        "merge.school_claimed_twice",
                        Severity.WARNING,
                        "school",
                        school,
                        f"school {school} is named by the sources {first!r} and {part.key!r}; "
                        f"{first!r} comes first and owns it",
                        "Name each school in the schools key of one source only.",
                    )
                )
    return owners, findings


def merge(
    parts: Sequence[SourcePart],
    match: MatchKeys,
    as_of: date,
    aliases: Mapping[tuple[str, str], str] | None = None,
) -> Merged:
    """One snapshot from the parts, in precedence order (the first source wins a conflict).

    ``aliases`` are the last complete merge's (see :attr:`Merged.aliases`): a person once
    matched to another source's person keeps that merged id, also while the other source
    cannot be read, so no account is made twice."""
    aliases = aliases or {}
    read_parts = [p for p in parts if p.read is not None]
    failed = tuple(p.key for p in parts if p.read is None)
    if len(parts) == 1 and read_parts:  # one source: its snapshot as it is
        only = read_parts[0]
        assert only.read is not None
        snap = only.read.snapshot
        return Merged(
            snap,
            only.read.findings,
            (),
            {only.key: snap.counts()},
            only.read.mode,
            dict(only.read.stats),
        )
    owners, findings = _owners(parts)
    schools: dict[str, School] = {}
    taken: dict[str, str] = {}  # school identity -> source key
    persons: dict[str, Person] = {}
    person_index: dict[Key, str] = {}
    groups: dict[str, Group] = {}
    memberships: list[Membership] = []
    roles: list[SchoolRole] = []
    refused = Refused()
    counts: dict[str, dict[str, int]] = {}
    made: dict[tuple[str, str], str] = {}
    brought_by: dict[str, dict[str, frozenset[str]]] = {}
    for part in read_parts:
        assert part.read is not None
        snap = part.read.snapshot
        own_schools = {}
        for sid, s in snap.schools.items():
            code = (s.school_unit_code or "").strip()
            owner = owners.get(code) if code else None
            owner = owner or owners.get(sid)
            if owner is None and part.schools:
                continue  # this source names its schools and this is not one of them
            if owner is not None and owner != part.key:
                continue
            ident = school_identity(s)
            first = taken.setdefault(ident, part.key)
            if first != part.key:
                findings.append(
                    _finding(
                        "merge.school_in_two_sources",
                        Severity.WARNING,
                        "school",
                        sid,
                        f"school {s.name} is listed by the sources {first!r} and {part.key!r}; "
                        f"{first!r} comes first, so its groups and roles are taken from it",
                        "Name the school in the schools key of the source that owns it.",
                    )
                )
                continue
            if sid in schools:
                findings.append(_id_clash("school", sid, part.key))
                continue
            own_schools[sid] = s
        schools.update(own_schools)
        own_groups = {gid: g for gid, g in snap.groups.items() if g.school_id in own_schools}
        for gid in [gid for gid in own_groups if gid in groups]:
            findings.append(_id_clash("group", gid, part.key))
            del own_groups[gid]
        groups.update(own_groups)
        part_roles = [r for r in snap.school_roles if r.school_id in own_schools]
        part_members = [m for m in snap.memberships if m.group_id in own_groups]
        wanted = {r.person_id for r in part_roles} | {m.person_id for m in part_members}
        if not part.schools:  # and the persons it lists at no school at all
            placed = {r.person_id for r in snap.school_roles}
            placed.update(m.person_id for m in snap.memberships)
            wanted.update(pid for pid in snap.persons if pid not in placed)
        rename: dict[str, str] = {}
        brought: set[str] = set()
        for pid in sorted(wanted):
            p = snap.persons.get(pid)
            if p is None:
                continue
            merged_id, note = _place_person(
                p, part.key, match, persons, person_index, aliases.get((part.key, pid))
            )
            if note is not None:
                findings.append(note)
            if merged_id is None:
                refused = refused.with_ids(persons=(pid,))
                continue
            brought.add(merged_id)
            if merged_id != pid:
                rename[pid] = merged_id
                made[(part.key, pid)] = merged_id
        kept = persons.__contains__
        for r in part_roles:
            pid = rename.get(r.person_id, r.person_id)
            if kept(pid) and pid not in refused.persons:
                roles.append(r._replace(person_id=pid) if pid != r.person_id else r)
        for m in part_members:
            pid = rename.get(m.person_id, m.person_id)
            if kept(pid) and pid not in refused.persons:
                memberships.append(m._replace(person_id=pid) if pid != m.person_id else m)
        part_refused = snap.refused
        refused = refused.with_ids(
            schools=part_refused.schools,
            persons=(rename.get(p, p) for p in part_refused.persons),
            groups=part_refused.groups,
        )
        findings.extend(
            replace(f, record_id=rename[f.record_id])
            if f.record_type == "person" and f.record_id in rename
            else f
            for f in part.read.findings
        )
        brought_by[part.key] = {
            "school": frozenset(own_schools),
            "person": frozenset(brought),
            "group": frozenset(own_groups),
        }
        counts[part.key] = {
            "schools": len(own_schools),
            "persons": len(wanted),
            "groups": len(own_groups),
            "memberships": len(part_members),
            "school_roles": len(part_roles),
        }
    for part in parts:
        if part.read is None:
            findings.append(
                _finding(
                    "merge.source_failed",
                    Severity.WARNING,
                    "source",
                    part.key,
                    f"the source {part.key!r} could not be read ({part.error}); the other "
                    "sources go on and nothing it owned is removed in this run",
                    "Fix the source named; the next run takes it again.",
                )
            )
    memberships.sort(key=lambda m: m.group_id)  # one run per group, as a source lists them
    snap = Snapshot(
        schools,
        persons,
        groups,
        tuple(memberships),
        tuple(roles),
        as_of,
        "+".join(p.key for p in parts),
        refused,
    )
    mode = "+".join(p.read.mode if p.read else "failed" for p in parts)
    stats = {f"{p.key}.{k}": v for p in read_parts if p.read for k, v in p.read.stats.items()}
    return Merged(snap, tuple(findings), failed, counts, mode, stats, made, brought_by)


def _id_clash(rtype: str, rid: str, source: str) -> Finding:
    return _finding(
        "merge.id_in_two_sources",
        Severity.BLOCKING,
        rtype,
        rid,
        f"the {rtype} id {rid} of the source {source!r} is already used by a source before "
        "it for another record; this one is left out",
        "Ask the supplier of the source named why its ids clash with another source's.",
    )


_FIELDS = ("given_name", "family_name", "middle_name", "protection")


def _place_person(
    p: Person,
    source: str,
    match: MatchKeys,
    persons: dict[str, Person],
    index: dict[Key, str],
    alias: str | None,
) -> tuple[str | None, Finding | None]:
    """Add a source's person to the merged ones; returns the merged id (None: left out) and
    a finding when something is worth saying."""
    keys = person_keys(p, match.persons)
    found = {index[k] for k in keys if k in index}
    if alias is not None and alias != p.id and alias not in persons and not found:
        # known by another source's id, and that source is not here (or lists the person no
        # more): the merged id stays what it was
        p = replace(p, id=alias)
        persons[alias] = p
        for k in keys:
            index.setdefault(k, alias)
        return alias, None
    if alias is not None and alias in persons:
        found = {alias}
    if len(found) > 1:
        return None, _finding(
            "merge.person_ambiguous",
            Severity.BLOCKING,
            "person",
            p.id,
            f"person {p.id} of the source {source!r} matches {len(found)} persons of the "
            "sources before it; they are held until the sources agree",
            "Correct the personnummer, eppn or e-mail address in one of the sources.",
        )
    if not found:
        if p.id in persons:
            return None, _id_clash("person", p.id, source)
        persons[p.id] = p
        for k in keys:
            index.setdefault(k, p.id)
        return p.id, None
    merged_id = found.pop()
    first = persons[merged_id]
    differ = [f for f in _FIELDS if getattr(first, f) != getattr(p, f)]
    note = None
    if differ:
        note = _finding(
            "merge.person_conflict",
            Severity.WARNING,
            "person",
            merged_id,
            f"person {merged_id} is also in the source {source!r} (as {p.id}) with another "
            f"{', '.join(differ)}; the first source's is used"
            + (", with the stricter protected identity" if "protection" in differ else ""),
            "Correct the record in the source that is wrong.",
        )
    if _STRICTNESS[p.protection] > _STRICTNESS[first.protection]:
        persons[merged_id] = replace(first, protection=p.protection)
    for k in keys:
        index.setdefault(k, merged_id)
    return merged_id, note
