"""What the OneRoster sandbox serves: every object ever published, stamped with the server's
clock, and the listing of one collection as the REST binding pages and filters it.

Publishing a new term compares it object by object with what is served: a new or changed
object gets ``dateLastModified`` = now; one that is gone stays, with ``status`` =
``tobedeleted`` and the time it went, so a client reading ``dateLastModified>'…'`` since its
last read learns of the removal, as the binding's delta mechanism has it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Json = dict[str, Any]
STAMPED = ("status", "dateLastModified")
FILTER_FIELDS = ("dateLastModified", "status", "sourcedId")
_PREDICATE = re.compile(r"^\s*(\w+)\s*(>=|<=|!=|=|>|<)\s*'([^']*)'\s*$")


class BadFilter(ValueError):
    """A ``filter`` the sandbox does not take: the binding's ``invalid_filter_field``."""


def stamp(moment: datetime) -> str:
    """The binding's DateTime: UTC, milliseconds, ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadFilter(f"{text!r} is not a date and time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Predicate:
    field: str
    op: str
    value: str

    def holds(self, obj: Json) -> bool:
        have: Any = obj.get(self.field, "")
        want: Any = self.value
        if self.field == "dateLastModified":
            have, want = _time(str(have)), _time(self.value)
        if self.op == "=":
            return bool(have == want)
        if self.op == "!=":
            return bool(have != want)
        if self.op == ">":
            return bool(have > want)
        if self.op == ">=":
            return bool(have >= want)
        if self.op == "<":
            return bool(have < want)
        return bool(have <= want)


def parse_filter(text: str) -> list[Predicate]:
    """``field op 'value'`` predicates joined by ``AND`` (the binding's grammar also has
    ``OR`` and ``~``; this sandbox refuses them, as a server may refuse what it cannot do)."""
    out: list[Predicate] = []
    for part in re.split(r"\s+AND\s+", text.strip()):
        m = _PREDICATE.match(part)
        if m is None:
            raise BadFilter(f"cannot read the filter {part[:80]!r}")
        field, op, value = m.groups()
        if field not in FILTER_FIELDS:
            raise BadFilter(f"cannot filter on {field!r} (only {', '.join(FILTER_FIELDS)})")
        if field == "dateLastModified":
            _time(value)
        out.append(Predicate(field, op, value))
    return out


class Store:
    """Collections of stamped objects; replaced whole by :meth:`publish`, read by pages."""

    def __init__(self) -> None:
        self._served: dict[str, dict[str, Json]] = {}
        # listings by collection and filter, until the next publish: paging a large
        # collection then sorts and filters it once, not once a page
        self._listings: dict[tuple[str, str | None], list[Json]] = {}

    def publish(self, objects: Mapping[str, Mapping[str, Json]], now: datetime) -> dict[str, int]:
        """Serve ``objects`` from now on; returns how many were added, changed and removed."""
        when = stamp(now)
        counts = {"added": 0, "changed": 0, "removed": 0}
        served: dict[str, dict[str, Json]] = {}
        for name, fresh in objects.items():
            old = self._served.get(name, {})
            table: dict[str, Json] = {}
            for rid, obj in fresh.items():
                before = old.get(rid)
                if before is not None and before["status"] == "active" and _same(before, obj):
                    table[rid] = before
                    continue
                counts["added" if before is None else "changed"] += 1
                table[rid] = {"sourcedId": rid, "status": "active", "dateLastModified": when} | {
                    k: v for k, v in obj.items() if k not in STAMPED
                }
            for rid, before in old.items():
                if rid in table:
                    continue
                if before["status"] != "tobedeleted":
                    counts["removed"] += 1
                    before = before | {"status": "tobedeleted", "dateLastModified": when}
                table[rid] = before
            served[name] = table
        self._served = served
        self._listings = {}
        return counts

    def count(self, name: str, *, active: bool = True) -> int:
        table = self._served.get(name, {})
        if not active:
            return len(table)
        return sum(1 for o in table.values() if o["status"] == "active")

    def item(self, name: str, rid: str) -> Json | None:
        return self._served.get(name, {}).get(rid)

    def listing(self, name: str, filter_text: str | None) -> list[Json]:
        """Every object of ``name`` the filter keeps, in a stable order (by sourcedId)."""
        key = (name, filter_text or None)
        found = self._listings.get(key)
        if found is None:
            predicates = parse_filter(filter_text) if filter_text else []
            table = self._served.get(name, {})
            found = [
                table[rid] for rid in sorted(table) if all(p.holds(table[rid]) for p in predicates)
            ]
            if len(self._listings) > 256:  # many distinct filters: keep memory bounded
                self._listings.clear()
            self._listings[key] = found
        return found


def _same(before: Json, after: Json) -> bool:
    return {k: v for k, v in before.items() if k not in STAMPED} == {
        k: v for k, v in after.items() if k not in STAMPED
    }
