"""Control characters out of the text a target will be sent, whatever the source.

A name with NUL, ESC or a right-to-left override (U+202E) in it breaks a payload, a terminal or
the way a name reads on screen, and no one types them on purpose. They are removed from every
text field of the snapshot (tab and line breaks become a space) before validation, with one
warning per record naming the fields; a required name left empty is a blocking finding.

Built for a whole municipality: each field is joined across its records and judged in C
(ASCII text by deleting its printable bytes; other text by ``str.isprintable``, then one
compiled pattern only if that fails: a no-break space is not "printable" either), so a clean
snapshot costs a few joins; only the records that need it are made again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from itertools import chain
from operator import attrgetter
from typing import Any, TypeVar

from engine.findings import Finding, Severity
from engine.model import Group, Person, School, SchoolRole, Snapshot

CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""C0 and C1 control characters, DEL, and the bidirectional embeddings, overrides and
isolates (U+202A-U+202E, U+2066-U+2069)."""

_SPACING = "\t\n\v\f\r\x85"  # controls that separate words: a space stands in for them
_TABLE = str.maketrans(
    {
        c: (" " if c in _SPACING else None)
        for c in map(chr, chain(range(0x20), range(0x7F, 0xA0), range(0x202A, 0x202F)))
    }
    | dict.fromkeys(map(chr, range(0x2066, 0x206A)))
)
_SPACES = re.compile(" {2,}")

CODE = "text.control_characters"
EMPTIED = "text.empty_after_cleaning"
ID_CODE = "text.control_characters_in_id"

R = TypeVar("R", School, Person, Group)

# the text fields of each record a target may be sent: plain, optional, or tuples of text
_TEXT: dict[type[Any], tuple[str, ...]] = {
    School: ("name", "school_unit_code", "municipality_code"),
    Person: ("given_name", "family_name", "middle_name"),
    Group: ("name", "subject", "school_type"),
}
_TEXTS: dict[type[Any], tuple[str, ...]] = {
    School: ("school_types",),
    Person: ("emails", "eppns"),
    Group: (),
}
_REQUIRED: dict[type[Any], tuple[str, ...]] = {
    School: ("name",),
    Person: ("given_name", "family_name"),
    Group: ("name",),
}
_KIND = {School: "school", Person: "person", Group: "group"}


def clean(text: str) -> str:
    """The text without control and direction characters (word-separating ones become a
    space, and the spaces they leave are not doubled)."""
    out = text.translate(_TABLE)
    return _SPACES.sub(" ", out).strip(" ") if out != text else out


_PRINTABLE_ASCII = bytes(range(0x20, 0x7F))


def _dirty(text: str) -> bool:
    """True when the text holds a character :data:`CONTROL` matches: for ASCII text (most
    of it), whether anything is left once its printable bytes are deleted, three times
    quicker than ``isprintable``."""
    if text.isascii():
        return bool(text.encode("ascii").translate(None, _PRINTABLE_ASCII))
    return not text.isprintable() and CONTROL.search(text) is not None


def sanitize(snap: Snapshot) -> tuple[Snapshot, list[Finding]]:
    """The snapshot with control characters removed from its text, and a finding for each
    record that had some; the snapshot itself when it had none."""
    dirty: dict[tuple[str, str], list[str]] = {}  # (record type, id) -> fields cleaned
    blocking: list[Finding] = []
    schools = _clean_table(snap.schools, School, dirty, blocking)
    persons = _clean_table(snap.persons, Person, dirty, blocking)
    groups = _clean_table(snap.groups, Group, dirty, blocking)
    roles = _clean_roles(snap.school_roles, dirty)
    findings = [_finding(kind, key, fields) for (kind, key), fields in dirty.items()]
    findings += blocking
    for kind, table in (("school", snap.schools), ("person", snap.persons), ("group", snap.groups)):
        findings += _bad_ids(kind, table)
    if schools is None and persons is None and groups is None and roles is None:
        return snap, findings
    return (
        Snapshot.of_runs(
            snap.schools if schools is None else schools,
            snap.persons if persons is None else persons,
            snap.groups if groups is None else groups,
            snap.membership_runs(),
            snap.school_roles if roles is None else roles,
            snap.as_of,
            snap.source,
        ),
        findings,
    )


def _bad_ids(kind: str, table: Mapping[str, Any]) -> list[Finding]:
    """A blocking finding for each id with a control character in it: an id cannot be
    cleaned, as another id would stand for another record."""
    if not _dirty("".join(table)):
        return []
    return [
        Finding(
            ID_CODE,
            Severity.BLOCKING,
            kind,
            key,
            f"the {kind}'s id {key[:80]!a} holds control characters; an id cannot be cleaned "
            f"without making it another {kind}'s, so the {kind} is left out",
            f"give the {kind} an id without control characters in the source system",
        )
        for key in table
        if _dirty(key)
    ]


def tidy_message(text: str, limit: int = 2000) -> str:
    """A finding's text made safe to store and show: control characters escaped (``\\x1b``),
    and cut at ``limit`` characters."""
    if text.isprintable() and len(text) <= limit:
        return text
    escaped = CONTROL.sub(lambda m: ascii(m.group())[1:-1], text)
    return escaped if len(escaped) <= limit else escaped[: limit - 1] + "\u2026"


def tidy_findings(findings: list[Finding]) -> list[Finding]:
    """The findings with :func:`tidy_message` applied to their message and fix, for findings a
    source or a rule wrote with text from the source in them (most need nothing)."""
    joined = "".join(f.message + f.fix for f in findings)
    if joined.isprintable() and all(len(f.message) <= 2000 for f in findings):
        return findings
    return [replace(f, message=tidy_message(f.message), fix=tidy_message(f.fix)) for f in findings]


def _field_texts(records: Iterable[Any], name: str, many: bool) -> str:
    values = map(attrgetter(name), records)
    if many:
        return "".join(map("".join, values))
    return "".join(filter(None, values))


def _clean_table(
    table: Mapping[str, R],
    cls: type[R],
    dirty: dict[tuple[str, str], list[str]],
    blocking: list[Finding],
) -> dict[str, R] | None:
    """A copy of ``table`` with its dirty records made again, or None when none is dirty."""
    records = table.values()
    fields = [(name, False) for name in _TEXT[cls] if _dirty(_field_texts(records, name, False))]
    fields += [(name, True) for name in _TEXTS[cls] if _dirty(_field_texts(records, name, True))]
    if not fields:
        return None
    out = dict(table)
    kind = _KIND[cls]
    for key, rec in table.items():
        changes: dict[str, Any] = {}
        for name, many in fields:
            value = getattr(rec, name)
            if many:
                if any(map(_dirty, value)):
                    changes[name] = tuple(clean(v) for v in value)
            elif value is not None and _dirty(value):
                changes[name] = clean(value)
        if not changes:
            continue
        out[key] = replace(rec, **changes)
        dirty[(kind, key)] = sorted(changes)
        emptied = [n for n in _REQUIRED[cls] if n in changes and not changes[n]]
        if emptied:
            blocking.append(
                Finding(
                    EMPTIED,
                    Severity.BLOCKING,
                    kind,
                    key,
                    f"{' and '.join(emptied)} held nothing but control characters",
                    f"enter the {kind}'s {' and '.join(emptied)} in the source system",
                )
            )
    return out


def _clean_roles(
    roles: tuple[SchoolRole, ...], dirty: dict[tuple[str, str], list[str]]
) -> tuple[SchoolRole, ...] | None:
    """The school roles with their titles cleaned, or None when no title needs it."""
    if not _dirty("".join(filter(None, map(_TITLE, roles)))):
        return None
    out: list[SchoolRole] = []
    for r in roles:
        if r.title is not None and _dirty(r.title):
            r = r._replace(title=clean(r.title))
            fields = dirty.setdefault(("person", r.person_id), [])
            if "title" not in fields:
                fields.append("title")
        out.append(r)
    return tuple(out)


_TITLE: Callable[[SchoolRole], str | None] = attrgetter("title")


def _finding(kind: str, key: str, fields: list[str]) -> Finding:
    return Finding(
        CODE,
        Severity.WARNING,
        kind,
        key,
        f"{', '.join(fields)} held control or text-direction characters (such as NUL, ESC or "
        "U+202E); they were removed before anything was sent",
        "remove the stray characters from these fields in the source system",
    )
