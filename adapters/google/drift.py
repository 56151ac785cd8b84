"""Drift: what was changed by hand in Google since ESS last wrote it.

The mirror says what ESS wrote; this reads what is there now, in paged lists with a fields
mask: accounts (suspended, renamed, moved to another org unit, deleted), courses (renamed,
archived, deleted) and their teachers and students (added, removed), and the school groups
and their members (:mod:`adapters.google.group_drift`). A changed object gets
the ``drifted`` fingerprint, so the planner sends it again; a deleted one leaves the mirror,
so it is made again; a roster is taken as read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from engine.links import LinkSet
from engine.target import DRIFTED, MirrorObject, ObservedState

from . import calls
from .client import GoogleClient
from .group_drift import read_group_drift
from .mapping import COURSE, COURSE_STUDENT, COURSE_TEACHER, USER

USER_FIELDS = (
    "users(id,primaryEmail,suspended,name(givenName,familyName),orgUnitPath),nextPageToken"
)
COURSE_FIELDS = "courses(id,name,section,courseState,ownerId),nextPageToken"
MEMBER_FIELDS = "{role}(userId),nextPageToken"
ROLES: tuple[tuple[str, Literal["teachers", "students"]], ...] = (
    (COURSE_TEACHER, "teachers"),
    (COURSE_STUDENT, "students"),
)


@dataclass
class DriftReport:
    users_changed: list[str] = field(default_factory=list)
    users_deleted: list[str] = field(default_factory=list)
    courses_changed: list[str] = field(default_factory=list)
    courses_deleted: list[str] = field(default_factory=list)
    links_added: int = 0
    links_removed: int = 0
    groups_changed: int = 0
    groups_deleted: int = 0
    group_members_added: int = 0
    group_members_removed: int = 0

    @property
    def any(self) -> bool:
        return bool(
            self.users_changed
            or self.users_deleted
            or self.courses_changed
            or self.courses_deleted
            or self.links_added
            or self.links_removed
            or self.groups_changed
            or self.groups_deleted
            or self.group_members_added
            or self.group_members_removed
        )

    def summary(self) -> str:
        parts = [
            f"{len(self.users_changed)} account(s) suspended, renamed or moved"
            if self.users_changed
            else "",
            f"{len(self.users_deleted)} account(s) deleted" if self.users_deleted else "",
            f"{len(self.courses_changed)} course(s) renamed or archived"
            if self.courses_changed
            else "",
            f"{len(self.courses_deleted)} course(s) deleted" if self.courses_deleted else "",
            f"{self.links_removed} course membership(s) removed" if self.links_removed else "",
            f"{self.links_added} course membership(s) added" if self.links_added else "",
            f"{self.groups_changed} school group(s) renamed" if self.groups_changed else "",
            f"{self.groups_deleted} school group(s) deleted" if self.groups_deleted else "",
            f"{self.group_members_removed} school group member(s) removed"
            if self.group_members_removed
            else "",
            f"{self.group_members_added} school group member(s) added"
            if self.group_members_added
            else "",
        ]
        return ", ".join(p for p in parts if p) + " by hand in Google"


async def read_drift(
    client: GoogleClient, observed: ObservedState
) -> tuple[ObservedState, DriftReport]:
    """The observed state corrected from what Google holds now. Raises the client's errors
    (:class:`~adapters.google.client.ListFailed`, no answer) when a list cannot be read
    whole: a partial read is never taken for drift."""
    report = DriftReport()
    users = dict(observed.objects.get(USER, {}))
    courses = dict(observed.objects.get(COURSE, {}))
    links = {
        kind: set(observed.links.get(kind, LinkSet())) for kind in (COURSE_TEACHER, COURSE_STUDENT)
    }

    if users:
        read = await client.list_all(
            lambda token: calls.list_users(page_token=token, fields=USER_FIELDS), "users"
        )
        by_id = {str(u.get("id")): u for u in read}
        for key, m in list(users.items()):
            if m.target_id is None or m.suspended_at is not None:
                continue  # a suspended account's lifecycle is the planner's
            now = by_id.get(m.target_id)
            if now is None:
                del users[key]
                report.users_deleted.append(key)
            elif _user_changed(m, now):
                users[key] = replace(m, fingerprint=DRIFTED)
                report.users_changed.append(key)
        gone = set(report.users_deleted)
        for kind in links:
            links[kind] = {(p, c) for p, c in links[kind] if c not in gone}

    if courses:
        read = await client.list_all(
            lambda token: calls.list_courses(page_token=token, fields=COURSE_FIELDS), "courses"
        )
        by_id = {str(c.get("id")): c for c in read}
        user_key = {m.target_id: k for k, m in users.items() if m.target_id}
        live: list[tuple[str, str]] = []  # (key, course id) of the courses whose rosters count
        for key, m in list(courses.items()):
            if m.target_id is None or m.archived:
                continue
            now = by_id.get(m.target_id)
            if now is None:
                del courses[key]
                report.courses_deleted.append(key)
                for kind in links:
                    links[kind] = {(p, c) for p, c in links[kind] if p != key}
                continue
            if _course_changed(m, now):
                courses[key] = replace(m, fingerprint=DRIFTED)
                report.courses_changed.append(key)
            live.append((key, m.target_id))
        rosters = await _rosters(client, [(cid, role) for _, cid in live for _, role in ROLES])
        for kind, role in ROLES:
            # each course's members apart, so that a roster costs its own size, not the lot's
            by_course: dict[str, set[str]] = {}
            for p, c in links[kind]:
                by_course.setdefault(p, set()).add(c)
            for key, cid in live:
                members = rosters[(cid, role)]
                held = {user_key[u] for x in members if (u := str(x.get("userId"))) in user_key}
                mine = by_course.get(key, set())
                report.links_removed += len(mine - held)
                report.links_added += len(held - mine)
                by_course[key] = held
            links[kind] = {(p, c) for p, cs in by_course.items() for c in cs}

    objects: dict[str, Mapping[str, MirrorObject]] = dict(observed.objects)
    objects[USER], objects[COURSE] = users, courses
    groups = await read_group_drift(
        client,
        observed,
        {m.target_id: k for k, m in users.items() if m.target_id},
        frozenset(report.users_deleted),
    )
    report.groups_changed, report.groups_deleted = groups.changed, groups.deleted
    report.group_members_added, report.group_members_removed = groups.added, groups.removed
    objects.update(groups.objects)
    corrected = ObservedState(
        objects=objects,
        links={
            **observed.links,
            **{k: LinkSet(v) for k, v in links.items()},
            **groups.links,
        },
    )
    return corrected, report


async def _rosters(
    client: GoogleClient, wanted: list[tuple[str, Literal["teachers", "students"]]]
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Every roster asked for, their pages sent together in Classroom batches; the first page
    that cannot be read fails the lot."""

    def pager(course: str, role: Literal["teachers", "students"]) -> Any:
        def page(token: str) -> calls.ApiCall:
            return calls.list_members(
                course, role, page_token=token, fields=MEMBER_FIELDS.format(role=role)
            )

        return page

    # each list names its items after its role: read teachers and students apart
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    roles = ("teachers", "students")
    mine = [[(c, r) for c, r in wanted if r == role] for role in roles]
    read = await asyncio.gather(
        *(
            client.list_many([pager(c, r) for c, r in m], role)
            for m, role in zip(mine, roles, strict=True)
        )
    )
    for m, lists in zip(mine, read, strict=True):
        out.update(zip(m, lists, strict=True))
    return out


async def _members(
    client: GoogleClient, course: str, role: Literal["teachers", "students"]
) -> list[dict[str, Any]]:
    def page(token: str) -> calls.ApiCall:
        return calls.list_members(
            course, role, page_token=token, fields=MEMBER_FIELDS.format(role=role)
        )

    return await client.list_all(page, role)


def _user_changed(m: MirrorObject, now: Mapping[str, Any]) -> bool:
    attrs = dict(m.attrs)
    if not attrs:
        return False  # nothing known to compare with
    name = now.get("name") or {}
    suspended = bool(now.get("suspended"))
    return (
        suspended != (m.suspended_at is not None)
        or name.get("givenName") != attrs.get("givenName")
        or name.get("familyName") != attrs.get("familyName")
        or now.get("orgUnitPath") != attrs.get("orgUnitPath")
    )


def _course_changed(m: MirrorObject, now: Mapping[str, Any]) -> bool:
    attrs = dict(m.attrs)
    if not attrs:
        return False
    return (
        now.get("name") != attrs.get("name")
        or now.get("section", "") != attrs.get("section", "")
        or now.get("courseState") == "ARCHIVED"
    )
