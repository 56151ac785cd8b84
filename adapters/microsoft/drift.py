"""Drift: what was changed by hand in the tenant since ESS last wrote it.

The mirror says what ESS wrote; this reads what is there now for the objects people touch by
hand: accounts (disabled, re-enabled, renamed, deleted), class groups (renamed, deleted) and
their members and owners (added, removed). The
corrected observed state goes back to the runner, which applies the tenant's drift policy
(engine/drift.py): with ``drift = "repair"`` the planner plans the repair; with ``"report"``
the differences are only written to the run log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from engine.links import EMPTY_LINKS, LinkSet
from engine.target import DRIFTED, MirrorObject, ObservedState, attrs_fingerprint, attrs_of

from .batch import Coalescer
from .client import GraphClient, PageError
from .runtime import Memory


@dataclass
class DriftReport:
    renamed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    links_added: int = 0
    links_removed: int = 0
    unreadable: int = 0
    users_changed: list[str] = field(default_factory=list)
    users_deleted: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(
            self.renamed
            or self.deleted
            or self.links_added
            or self.links_removed
            or self.users_changed
            or self.users_deleted
        )

    def summary(self) -> str:
        parts = []
        if self.users_changed:
            parts.append(f"{len(self.users_changed)} account(s) enabled, disabled or renamed")
        if self.users_deleted:
            parts.append(f"{len(self.users_deleted)} account(s) deleted")
        if self.renamed:
            parts.append(f"{len(self.renamed)} class(es) renamed")
        if self.deleted:
            parts.append(f"{len(self.deleted)} class(es) deleted")
        if self.links_removed:
            parts.append(f"{self.links_removed} class membership(s) removed")
        if self.links_added:
            parts.append(f"{self.links_added} class membership(s) added")
        return ", ".join(parts) + " by hand in Microsoft 365"


async def read_drift(
    client: GraphClient, observed: ObservedState, memory: Memory
) -> tuple[ObservedState, DriftReport]:
    """The observed state corrected from Graph, and what differed."""
    report = DriftReport()
    observed = await _user_drift(client, observed, report)
    classes = {key: m for key, m in observed.objects.get("class", {}).items() if m.target_id}
    if not classes:
        return observed, report
    calls = Coalescer(client)
    listed: dict[str, dict[str, Any]] = {}
    try:
        async for item in client.pages(
            "education/classes?$select=id,displayName,externalId&$top=999"
        ):
            listed[str(item["id"])] = item
    except PageError:
        report.unreadable = len(classes)
        return observed, report

    desired: Mapping[str, Any] = memory.desired.objects.get("class", {}) if memory.desired else {}
    new_classes: dict[str, MirrorObject] = dict(observed.objects.get("class", {}))
    gone: set[str] = set()
    for key, m in classes.items():
        found = listed.get(str(m.target_id))
        if found is None:
            resp = await calls.call("GET", f"education/classes/{m.target_id}?$select=id")
            if resp.status == 404:
                gone.add(key)
                report.deleted.append(key)
                new_classes.pop(key, None)
            continue
        mirror = dict(m.attrs)
        want = mirror.get("displayName")
        if want is None and key in desired:
            want = dict(desired[key].attrs).get("displayName")
        actual = found.get("displayName")
        if want is not None and actual != want:
            report.renamed.append(key)
            mirror["displayName"] = actual
            frozen = attrs_of(mirror)
            new_classes[key] = replace(m, attrs=frozen, fingerprint=attrs_fingerprint(frozen))

    user_keys = {
        str(m.target_id): key for key, m in observed.objects.get("user", {}).items() if m.target_id
    }
    read = {k: m for k, m in classes.items() if k not in gone}
    actual_links = await _memberships(client, calls, read, user_keys, report)
    links = dict(observed.links)
    read_now = actual_links["read"]
    for link in ("class.member", "class.teacher"):
        before = observed.links.get(link, EMPTY_LINKS)
        was = {(p, c) for p, c in before if p in read_now}
        now_read: set[tuple[str, str]] = actual_links[link]
        report.links_removed += len(was - now_read)
        report.links_added += len(now_read - was)
        kept = {(p, c) for p, c in before if p not in read_now and p not in gone}
        links[link] = LinkSet(kept | now_read)
    for link in ("school.class",):
        if gone and link in links:
            links[link] = links[link].without(children=gone)
    objects = dict(observed.objects)
    objects["class"] = new_classes
    if gone and "team" in objects:
        objects["team"] = {k: v for k, v in objects["team"].items() if k not in gone}
    return ObservedState(objects, links), report


async def _memberships(
    client: GraphClient,
    calls: Coalescer,
    classes: Mapping[str, MirrorObject],
    user_keys: Mapping[str, str],
    report: DriftReport,
) -> dict[str, Any]:
    """Actual class.member / class.teacher pairs for the classes that could be read."""
    members: set[tuple[str, str]] = set()
    teachers: set[tuple[str, str]] = set()
    read: set[str] = set()

    async def relation(cid: str, rel: str) -> set[str] | None:
        resp = await calls.call("GET", f"groups/{cid}/{rel}?$select=id&$top=999")
        if not resp.ok or not isinstance(resp.body, dict):
            return None
        ids = {str(i["id"]) for i in resp.body.get("value", [])}
        next_link = resp.body.get("@odata.nextLink")
        if next_link:
            try:
                ids |= {str(i["id"]) async for i in client.pages(str(next_link))}
            except PageError:
                return None
        return ids

    keys = list(classes)
    answers = await asyncio.gather(
        *(relation(str(classes[k].target_id), rel) for k in keys for rel in ("members", "owners"))
    )
    for i, key in enumerate(keys):
        got_members, got_owners = answers[2 * i], answers[2 * i + 1]
        if got_members is None or got_owners is None:
            report.unreadable += 1
            continue
        read.add(key)
        for uid in got_owners & got_members:
            if uid in user_keys:
                teachers.add((key, user_keys[uid]))
        for uid in got_members - got_owners:
            if uid in user_keys:
                members.add((key, user_keys[uid]))
    return {"class.member": members, "class.teacher": teachers, "read": read}


async def _user_drift(
    client: GraphClient, observed: ObservedState, report: DriftReport
) -> ObservedState:
    """Accounts changed by hand: a deleted one is made again, one disabled or renamed is put
    back by an update, and one a person re-enabled after ESS suspended it is suspended again."""
    users = {key: m for key, m in observed.objects.get("user", {}).items() if m.target_id}
    if not users:
        return observed
    listed: dict[str, dict[str, Any]] = {}
    try:
        async for item in client.pages("users?$select=id,accountEnabled,displayName&$top=999"):
            listed[str(item["id"])] = item
    except PageError:
        report.unreadable += len(users)
        return observed
    table = dict(observed.objects.get("user", {}))
    for key, m in users.items():
        found = listed.get(str(m.target_id))
        if found is None:
            report.users_deleted.append(key)
            table.pop(key, None)
            continue
        enabled = found.get("accountEnabled") is not False
        name = dict(m.attrs).get("displayName")
        if m.suspended_at is not None:
            if enabled:  # re-enabled by hand: the planner suspends it again
                report.users_changed.append(key)
                table[key] = replace(m, suspended_at=None)
        elif not enabled or (name is not None and found.get("displayName") != name):
            report.users_changed.append(key)
            table[key] = replace(m, fingerprint=DRIFTED)
    if not (report.users_changed or report.users_deleted):
        return observed
    gone = set(report.users_deleted)
    links = {kind: pairs.without(children=gone) for kind, pairs in observed.links.items()}
    objects = dict(observed.objects)
    objects["user"] = table
    return ObservedState(objects, links)
