"""Incremental reads of the OneRoster REST API: what the last read left in the source cache,
brought up to date with the objects modified since.

The binding's delta mechanism is the ``dateLastModified`` filter: a server lists what changed
since a moment, a removed object among it with ``status`` ``tobedeleted``. The high-water
mark is the server's clock when the last read began (its ``Date`` header, the local clock
when it sends none), and the next read asks from ``OVERLAP`` before it, so an object changed
while a read was paging is read again rather than missed; reading it twice does no harm.

The cache holds each object as it came, but a personnummer in ``metadata.se.civicNo`` only as
what the engine's civic hash keeps of it (its keyed hash, or nothing); the objects mapped are
the cached ones, so a full read and an incremental read give the same snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from adapters.kit.dates import instant
from adapters.oneroster.delta import ORIGIN
from engine.civic_hash import CivicHash
from engine.findings import Finding, Severity
from engine.source import CachedSource

Json = dict[str, Any]
OVERLAP = timedelta(seconds=5)
KINDS = {
    "orgs": "school",
    "academicSessions": "source",
    "courses": "source",
    "classes": "group",
    "users": "person",
    "enrollments": "membership",
}
CIVIC = "se.civicNo"


def format_mark(moment: datetime) -> str:
    """The binding's DateTime (UTC, milliseconds, ``Z``)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


parse_mark = instant  # the binding's DateTime, read as any ISO instant


def since(checkpoint: str) -> str:
    """What the next read asks from: the mark, less the overlap."""
    mark = parse_mark(checkpoint)
    assert mark is not None, "a checkpoint this source wrote"
    return format_mark(mark - OVERLAP)


def kept(obj: Json, civic_hash: CivicHash) -> Json:
    """``obj`` as the cache may hold it: a personnummer only as its hash (or not at all)."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get(CIVIC), str):
        return obj
    hashed = civic_hash(meta[CIVIC])
    rest = {k: v for k, v in meta.items() if k != CIVIC}
    return obj | {"metadata": rest | ({CIVIC: hashed} if hashed is not None else {})}


def _gone(obj: Json) -> bool:
    return str(obj.get("status", "")).strip().lower() == "tobedeleted"


def _id(obj: Json) -> str:
    return str(obj.get("sourcedId", ""))


@dataclass
class Applied:
    """The objects standing after a read, and what the cache must change to hold them."""

    objects: dict[str, list[Json]] = field(default_factory=dict)
    upserts: dict[str, dict[str, bytes]] = field(default_factory=dict)
    deletes: dict[str, list[str]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "upserts": sum(len(v) for v in self.upserts.values()),
            "deletes": sum(len(v) for v in self.deletes.values()),
        }


def whole(
    fetched: Mapping[str, Iterable[Json]], cached: CachedSource, civic_hash: CivicHash
) -> Applied:
    """A full read: every object listed (the removed ones left out) replaces the cache."""
    out = Applied()
    for name, objects in fetched.items():
        table: dict[str, Json] = {}
        for obj in objects:
            if not _gone(obj):
                table[_id(obj)] = kept(obj, civic_hash)
        out.objects[name] = list(table.values())
        out.upserts[name] = {rid: orjson.dumps(o) for rid, o in table.items() if rid}
        out.deletes[name] = [rid for rid in cached.records.get(name, {}) if rid not in table]
    return out


def changed(
    fetched: Mapping[str, Iterable[Json]],
    cached: CachedSource,
    civic_hash: CivicHash,
    last_start: datetime,
) -> Applied:
    """An incremental read: the cached objects with the changes applied. A removal of an
    object the cache never held is a finding and removes nothing, unless it is one the last
    read already saw (it falls in the overlap)."""
    out = Applied()
    for name, objects in fetched.items():
        stored = cached.records.get(name, {})
        table: dict[str, Json] = {rid: orjson.loads(body) for rid, body in stored.items()}
        upserts: dict[str, bytes] = {}
        deletes: list[str] = []
        for obj in objects:
            rid = _id(obj)
            if not _gone(obj):
                table[rid] = kept(obj, civic_hash)
                upserts[rid] = orjson.dumps(table[rid])
                if rid in deletes:
                    deletes.remove(rid)
                continue
            if rid in table:
                del table[rid]
                upserts.pop(rid, None)
                deletes.append(rid)
                continue
            when = parse_mark(str(obj.get("dateLastModified", "")))
            if when is not None and when < last_start:
                continue  # seen by the last read, in the overlap
            out.findings.append(
                Finding(
                    "oneroster.delete_unknown",
                    Severity.WARNING,
                    KINDS.get(name, name),
                    rid,
                    f"OneRoster API {name}: {rid} is marked tobedeleted, but no earlier read "
                    "holds it; nothing is removed",
                    "A full read (ess sync --full) reads the whole API again.",
                    ORIGIN,
                )
            )
        out.objects[name] = list(table.values())
        out.upserts[name] = upserts
        out.deletes[name] = deletes
    return out
