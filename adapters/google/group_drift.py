"""Drift of the school groups (``school_groups = true``): a group deleted, renamed or given
another address by hand, and members added or removed by hand.

The groups are read in one paged Directory list, their members in paged lists that travel
together in Directory batches (as course rosters do in Classroom batches), each with a fields
mask. A group gone leaves the mirror, so it is made again; a changed one gets the ``drifted``
fingerprint, so the planner sends it again; a member list is taken as read. Only members that
are accounts ESS manages count: someone else added by hand is no member ESS knows of, so it is
neither drift nor removed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from engine.links import LinkSet
from engine.target import DRIFTED, MirrorObject, ObservedState

from . import calls
from .client import GoogleClient
from .school_groups import MEMBER_LINKS

GROUP_FIELDS = "groups(id,email,name,description),nextPageToken"
MEMBER_FIELDS = "members(id,type),nextPageToken"


@dataclass
class GroupDrift:
    """What was found; the corrected mirror of the groups and their member links."""

    objects: dict[str, dict[str, MirrorObject]]
    links: dict[str, LinkSet]
    changed: int = 0
    deleted: int = 0
    added: int = 0
    removed: int = 0


async def read_group_drift(
    client: GoogleClient,
    observed: ObservedState,
    user_key: Mapping[str, str],
    gone: frozenset[str] = frozenset(),
) -> GroupDrift:
    """The school groups of ``observed`` as the Directory holds them now. ``user_key`` maps a
    Directory user id to the person key of an account ESS manages; ``gone`` are the accounts
    found deleted, whose memberships went with them. Raises the client's errors when a list
    cannot be read whole."""
    objects = {
        kind: dict(observed.objects[kind]) for kind in MEMBER_LINKS if kind in observed.objects
    }
    links = {
        link: {(p, c) for p, c in observed.links.get(link, LinkSet()) if c not in gone}
        for kind, link in MEMBER_LINKS.items()
        if kind in objects
    }
    found = GroupDrift({}, {})
    known = [(kind, key, m) for kind, mirror in objects.items() for key, m in mirror.items()]
    if any(m.target_id for _, _, m in known):
        read = await client.list_all(
            lambda token: calls.list_groups(page_token=token, fields=GROUP_FIELDS), "groups"
        )
        by_id = {str(g.get("id")): g for g in read}
        live: list[tuple[str, str, str]] = []  # (kind, school key, group id)
        for kind, key, m in known:
            if m.target_id is None:
                continue
            now = by_id.get(m.target_id)
            link = MEMBER_LINKS[kind]
            if now is None:
                del objects[kind][key]
                found.deleted += 1
                links[link] = {(p, c) for p, c in links[link] if p != key}
                continue
            if _group_changed(m, now):
                objects[kind][key] = replace(m, fingerprint=DRIFTED)
                found.changed += 1
            live.append((kind, key, m.target_id))
        members = await client.list_many([_pager(gid) for _, _, gid in live], "members")
        by_group: dict[str, dict[str, set[str]]] = {link: {} for link in links}
        for link, pairs in links.items():
            for p, c in pairs:
                by_group[link].setdefault(p, set()).add(c)
        for (kind, key, _), listed in zip(live, members, strict=True):
            link = MEMBER_LINKS[kind]
            held = {
                user_key[i]
                for x in listed
                if x.get("type", "USER") == "USER" and (i := str(x.get("id"))) in user_key
            }
            mine = by_group[link].get(key, set())
            found.removed += len(mine - held)
            found.added += len(held - mine)
            by_group[link][key] = held
        links = {link: {(p, c) for p, cs in g.items() for c in cs} for link, g in by_group.items()}
    found.objects = objects
    found.links = {link: LinkSet(pairs) for link, pairs in links.items()}
    return found


def _pager(group: str) -> Callable[[str], calls.ApiCall]:
    def page(token: str) -> calls.ApiCall:
        return calls.list_group_members(group, page_token=token, fields=MEMBER_FIELDS)

    return page


def _group_changed(m: MirrorObject, now: Mapping[str, object]) -> bool:
    attrs = dict(m.attrs)
    if not attrs:
        return False  # nothing known to compare with
    return any(
        str(now.get(name) or "").lower() != str(attrs.get(name) or "").lower()
        if name == "email"
        else (now.get(name) or "") != (attrs.get(name) or "")
        for name in ("email", "name", "description")
    )
