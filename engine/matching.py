"""Which record of one source is which record of another, by configured match keys.

Two sources (or a source before and after a move) name the same pupil, school or class with
ids of their own. What they share is what the records say: the keyed hash of the personnummer,
an eduPersonPrincipalName or e-mail address; a skolenhetskod; a group's code. ``ess source
rekey`` and the merge of several sources both match by these, here, in one way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from engine.config import GroupKey, PersonKey, SchoolKey
from engine.model import Group, Person, School

Key = tuple[str, str]  # (kind of key, value)


def person_keys(p: Person, kinds: Iterable[PersonKey]) -> frozenset[Key]:
    """The person's values of the chosen keys (addresses case-folded)."""
    out: set[Key] = set()
    for kind in kinds:
        if kind == "civic_no":
            if p.civic_no:
                out.add((kind, p.civic_no))
        elif kind == "eppn":
            out.update((kind, v.strip().casefold()) for v in p.eppns if v.strip())
        else:
            out.update((kind, v.strip().casefold()) for v in p.emails if v.strip())
    return frozenset(out)


def school_identity(s: School) -> str:
    """A school unit as any source names it: its skolenhetskod, else its name."""
    code = (s.school_unit_code or "").strip()
    return f"code:{code}" if code else f"name:{s.name.strip().casefold()}"


def school_keys(s: School, kinds: Iterable[SchoolKey]) -> frozenset[Key]:
    code = (s.school_unit_code or "").strip()
    return frozenset((k, code) for k in kinds if code)


def _school_year(start: date | None) -> str:
    if start is None:
        return ""
    first = start.year if start.month >= 7 else start.year - 1
    return str(first)


def group_code(g: Group, schools: Mapping[str, School]) -> str:
    """A group's code: its school's identity, its type, its name and its school year, which
    is what tells 7A of one school and year from every other group."""
    school = schools.get(g.school_id)
    where = school_identity(school) if school else f"id:{g.school_id}"
    return f"{where}|{g.group_type.value}|{g.name.strip().casefold()}|{_school_year(g.start)}"


def group_keys(
    g: Group, schools: Mapping[str, School], kinds: Iterable[GroupKey]
) -> frozenset[Key]:
    return frozenset((k, group_code(g, schools)) for k in kinds)


@dataclass(frozen=True)
class Matched:
    """Old ids matched to new ids, one to one, and the old ids that could not be."""

    pairs: Mapping[str, str]  # old id -> new id
    unmatched: tuple[str, ...]  # no new record shares a key
    ambiguous: Mapping[str, tuple[str, ...]]  # old id -> the new ids its keys lead to


def match(old: Mapping[str, frozenset[Key]], new: Mapping[str, frozenset[Key]]) -> Matched:
    """Match each old record to the one new record its keys lead to.

    An old record whose keys lead to two new records, or a new record two old records lead to,
    is ambiguous: a wrong match would give one pupil's account to another, so neither is
    matched. A record without any key value is unmatched."""
    index: dict[Key, set[str]] = {}
    for nid, keys in new.items():
        for k in keys:
            index.setdefault(k, set()).add(nid)
    wanted: dict[str, tuple[str, ...]] = {}
    unmatched: list[str] = []
    for oid, keys in old.items():
        hits: set[str] = set()
        for k in keys:
            hits.update(index.get(k, ()))
        if not hits:
            unmatched.append(oid)
        else:
            wanted[oid] = tuple(sorted(hits))
    claims: dict[str, list[str]] = {}
    for oid, found in wanted.items():
        if len(found) == 1:
            claims.setdefault(found[0], []).append(oid)
    pairs: dict[str, str] = {}
    ambiguous: dict[str, tuple[str, ...]] = {}
    for oid, found in wanted.items():
        if len(found) == 1 and len(claims[found[0]]) == 1:
            pairs[oid] = found[0]
        else:
            ambiguous[oid] = found
    return Matched(pairs, tuple(sorted(unmatched)), ambiguous)
