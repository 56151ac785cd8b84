"""What was changed by hand in a SCIM service: every resource of the profile's kinds listed
once per run (page by page) and compared with the mirror.

A resource whose values differ from those ESS last sent gets the fingerprint ``DRIFTED`` (the
planner plans the update back); one deleted by hand leaves the mirror (made again); a core
user made inactive by hand is drifted (the update makes it active), one made active again by
hand loses its ``suspended_at`` (suspended again); core group members are read as they are.
Only values ESS keeps in step are compared (:func:`canonical`), with references by value: a
service may make a relative ``$ref`` absolute.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from engine.links import LinkSet
from engine.target import DRIFTED, MirrorObject, ObservedState

from .mapping import GROUP, GROUP_MEMBER, USER, resource_body
from .profiles import ResourceSpec

SERVER_MADE = frozenset({"id", "meta", "schemas", "members", "active"})


def canonical(resource: Mapping[str, Any]) -> str:
    """A resource's values as ESS keeps them in step: without what the server makes (id,
    meta), members (links, read apart) and ``active`` (the lifecycle, read apart); lists in
    a stable order; references by value only."""

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in sorted(value.items()) if k != "$ref"}
        if isinstance(value, list):
            return sorted((clean(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
        return value

    return json.dumps(
        {k: clean(v) for k, v in resource.items() if k not in SERVER_MADE}, sort_keys=True
    )


@dataclass
class DriftReport:
    changed: int = 0
    deleted: int = 0
    disabled: int = 0
    reenabled: int = 0
    links_added: int = 0
    links_removed: int = 0

    @property
    def any(self) -> bool:
        return any(
            (
                self.changed,
                self.deleted,
                self.disabled,
                self.reenabled,
                self.links_added,
                self.links_removed,
            )
        )

    def summary(self) -> str:
        parts = [
            f"{n} {what}"
            for n, what in (
                (self.changed, "resource(s) changed by hand"),
                (self.deleted, "deleted by hand"),
                (self.disabled, "user(s) made inactive by hand"),
                (self.reenabled, "user(s) made active again by hand"),
                (self.links_added, "member(s) added by hand"),
                (self.links_removed, "member(s) taken out by hand"),
            )
            if n
        ]
        return ", ".join(parts)


def compare(
    observed: ObservedState,
    listings: Mapping[str, list[dict[str, Any]]],
    specs: Mapping[str, ResourceSpec],
    profile: str,
) -> tuple[ObservedState, DriftReport]:
    """The mirror as the service has it (``listings``: every resource, by kind)."""
    report = DriftReport()
    objects: dict[str, dict[str, MirrorObject]] = {}
    key_of: dict[str, dict[str, str]] = {}  # kind -> service id -> key
    for kind, mirror in observed.objects.items():
        spec = specs.get(kind)
        if spec is None or kind not in listings:
            objects[kind] = dict(mirror)
            continue
        by_id = {str(r.get("id")): r for r in listings[kind]}
        rows: dict[str, MirrorObject] = {}
        ids: dict[str, str] = {}
        for key, m in mirror.items():
            tid = _service_id(m, profile)
            found = by_id.get(tid) if tid else None
            if tid is None or found is None:
                report.deleted += 1
                continue
            ids[tid] = key
            row = m
            if m.attrs and canonical(found) != canonical(resource_body(spec, dict(m.attrs))):
                report.changed += 1
                row = replace(row, fingerprint=DRIFTED)
            if profile == "core" and kind == USER:
                inactive = found.get("active") is False
                if inactive and m.suspended_at is None:
                    report.disabled += 1
                    row = replace(row, fingerprint=DRIFTED)
                elif not inactive and m.suspended_at is not None:
                    report.reenabled += 1
                    row = replace(row, suspended_at=None)
            rows[key] = row
        objects[kind] = rows
        key_of[kind] = ids
    links = dict(observed.links)
    if profile == "core" and GROUP in listings:
        users = key_of.get(USER, {})
        groups = key_of.get(GROUP, {})
        pairs = set()
        for g in listings[GROUP]:
            parent = groups.get(str(g.get("id")))
            if parent is None:
                continue
            for member in g.get("members") or ():
                child = users.get(str(member.get("value")))
                if child is not None:
                    pairs.add((parent, child))
        before = set(observed.links.get(GROUP_MEMBER, LinkSet()))
        report.links_added = len(pairs - before)
        report.links_removed = len(before - pairs)
        links[GROUP_MEMBER] = LinkSet(pairs)
    return ObservedState(objects, links), report


def _service_id(m: MirrorObject, profile: str) -> str | None:
    if profile == "egil":
        return str(dict(m.attrs).get("uuid") or m.target_id or "") or None
    return m.target_id
