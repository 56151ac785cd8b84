"""Field limits: the longest value each target accepts in a source-model field.

A target declares them as data (``Target.field_limits``: record type -> model field -> most
characters), and a run checks its snapshot against the strictest limit of its targets: a value
past it is a blocking finding on the record naming the field, its length and the limit, never
the value (a group's or school's name shows a short escaped beginning; a person's nothing).
Otherwise one overlong name reaches a service that refuses it, or, worse, cuts it short.

Lengths are counted in UTF-16 code units, as the services built on .NET and Java count them: an
emoji counts two. That is never less than Python's count of code points, so it errs strict.
Built for a whole municipality: a field is judged by its longest value, found in C; records are
looked at one by one only for a field that has a value past its limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from itertools import chain
from operator import attrgetter
from typing import Any

from engine.findings import Finding, Severity
from engine.model import Snapshot

FieldLimits = Mapping[str, Mapping[str, int]]
"""Record type (``school``, ``person``, ``group``) -> model field -> most characters. A field
that holds a tuple of text (a person's ``emails``) is limited value by value."""

CODE = "field.too_long"
_PERSONAL = frozenset({"person"})  # record types whose text is personal data: never shown


@dataclass(frozen=True, slots=True)
class Limit:
    """The strictest limit on one field, and the target that sets it."""

    most: int
    target: str


def strictest(limits: Iterable[tuple[str, FieldLimits]]) -> dict[tuple[str, str], Limit]:
    """(record type, field) -> the lowest limit any of the named targets declares for it."""
    out: dict[tuple[str, str], Limit] = {}
    for target, table in limits:
        for record_type, fields in table.items():
            for name, most in fields.items():
                old = out.get((record_type, name))
                if old is None or most < old.most:
                    out[(record_type, name)] = Limit(most, target)
    return out


def utf16_length(text: str) -> int:
    """The text's length in UTF-16 code units: a character past U+FFFF counts two."""
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def check(snap: Snapshot, limits: Mapping[tuple[str, str], Limit]) -> list[Finding]:
    """A blocking finding for every value of the snapshot past its limit."""
    tables: dict[str, Mapping[str, Any]] = {
        "school": snap.schools,
        "person": snap.persons,
        "group": snap.groups,
    }
    out: list[Finding] = []
    for (record_type, name), limit in sorted(limits.items()):
        table = tables.get(record_type)
        if not table:
            continue
        records = table.values()
        if not _over(records, name, limit.most):
            continue
        for key, rec in table.items():
            value = getattr(rec, name, None)
            values = (value,) if type(value) is str else value if type(value) is tuple else ()
            for text in values:
                if type(text) is str and len(text) * 2 > limit.most:
                    length = utf16_length(text)
                    if length > limit.most:
                        out.append(_finding(record_type, key, name, text, length, limit))
    return out


_SHOWN_FIELDS = {
    "school": ("name", "school_unit_code"),
    "person": ("given_name", "family_name", "middle_name", "emails", "eppns"),
    "group": ("name", "subject"),
}


def shortened(snap: Snapshot, most: int = 256) -> Snapshot:
    """A copy for display and search (the journal's index, the labels of findings) in which
    no text is longer than ``most``: an overlong value is cut, and says how long it was. The
    snapshot itself when nothing is that long."""
    tables: dict[str, Mapping[str, Any]] = {
        "school": snap.schools,
        "person": snap.persons,
        "group": snap.groups,
    }
    changed: dict[str, dict[str, Any]] = {}
    for record_type, table in tables.items():
        records = table.values()
        fields = [n for n in _SHOWN_FIELDS[record_type] if _over(records, n, most)]
        if not fields:
            continue
        copy = changed[record_type] = dict(table)
        for key, rec in table.items():
            changes: dict[str, Any] = {}
            for name in fields:
                value = getattr(rec, name)
                if type(value) is str and len(value) > most:
                    changes[name] = _cut(value, most)
                elif type(value) is tuple and any(len(v) > most for v in value):
                    changes[name] = tuple(_cut(v, most) if len(v) > most else v for v in value)
            if changes:
                copy[key] = replace(rec, **changes)
    if not changed:
        return snap
    return Snapshot.of_runs(
        changed.get("school", snap.schools),
        changed.get("person", snap.persons),
        changed.get("group", snap.groups),
        snap.membership_runs(),
        snap.school_roles,
        snap.as_of,
        snap.source,
    )


def _cut(text: str, most: int) -> str:
    tail = f"... ({len(text):,} characters)"
    return text[: max(most - len(tail), 0)] + tail


def _over(records: Iterable[Any], name: str, most: int) -> bool:
    """True when some value of the field may be past ``most`` (judged in C, erring long)."""
    texts = _texts(records, name)
    longest = max(map(len, texts), default=0)
    if longest > most:
        return True
    # a code point may count two in UTF-16: only text past U+FFFF can make it longer
    return longest * 2 > most and max("".join(_texts(records, name))) > "\uffff"


def _texts(records: Iterable[Any], name: str) -> Iterator[str]:
    """The field's text across the records: its values, or each value of a tuple of text."""
    values = filter(None, map(attrgetter(name), records))
    first = next(values, None)
    if first is None:
        return iter(())
    if type(first) is tuple:
        return chain(first, chain.from_iterable(values))
    return chain((first,), values)


def _finding(
    record_type: str, key: str, name: str, text: str, length: int, limit: Limit
) -> Finding:
    shown = "" if record_type in _PERSONAL else f" (it begins {_prefix(text)})"
    what = name.replace("_", " ")
    return Finding(
        CODE,
        Severity.BLOCKING,
        record_type,
        key,
        f"{what} is {length:,} characters long{shown}; target {limit.target} accepts at most "
        f"{limit.most}, so the {record_type} is left out",
        f"shorten the {record_type}'s {what} to at most {limit.most} characters in the source "
        "system",
    )


def _prefix(text: str, keep: int = 24) -> str:
    """The text's beginning, quoted as Python quotes it: control characters escaped."""
    return repr(text[:keep]) + "..."
