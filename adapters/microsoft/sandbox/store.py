"""One in-memory object store behind every Graph view (reference §1.3, §7.1 item 2).

A class IS a group (same id, education properties on the side); an education user IS a user; a
school is an administrative unit with its own users and classes. Every change gets a sequence
number in a per-kind change log, so delta queries read "what changed after N" by bisection
instead of scanning. Indexed properties make ``$filter=prop eq 'x'`` a dictionary look-up.

The store is not thread-safe by itself: the pipeline holds a lock around each handler.
"""

from __future__ import annotations

import bisect
import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .odata import get_path

DELTA_KINDS = ("users", "groups", "classes", "schools")
RELATIONS = ("members", "owners")

USER_INDEXED = frozenset(
    {
        "id",
        "userPrincipalName",
        "mail",
        "mailNickname",
        "employeeId",
        "onPremisesImmutableId",
        "student/externalId",
        "teacher/externalId",
    }
)
GROUP_INDEXED = frozenset({"id", "mailNickname", "displayName", "externalId"})
SCHOOL_INDEXED = frozenset({"id", "externalId", "schoolNumber", "displayName"})


class Index:
    """Property value (lower-cased when a string) -> ids, for a fixed set of properties."""

    def __init__(self, fields: frozenset[str]) -> None:
        self.fields = fields
        self._maps: dict[str, dict[Any, set[str]]] = {f: {} for f in fields}
        self._current: dict[str, dict[str, Any]] = {}

    @staticmethod
    def _key(value: Any) -> Any:
        if isinstance(value, str):
            return value.lower()
        if isinstance(value, list | dict):
            return None
        return value

    def update(self, oid: str, view: dict[str, Any]) -> None:
        self.remove(oid)
        values: dict[str, Any] = {}
        for name in self.fields:
            key = self._key(get_path(view, name))
            if key is None:
                continue
            values[name] = key
            self._maps[name].setdefault(key, set()).add(oid)
        self._current[oid] = values

    def remove(self, oid: str) -> None:
        for name, key in self._current.pop(oid, {}).items():
            ids = self._maps[name].get(key)
            if ids is not None:
                ids.discard(oid)
                if not ids:
                    del self._maps[name][key]

    def lookup(self, name: str, value: Any) -> set[str]:
        return self._maps[name].get(self._key(value), set())


@dataclass
class User:
    id: str
    props: dict[str, Any]
    ordinal: int
    created_at: float
    visible_at: float
    # the passwordProfile as Entra keeps it: a salted hash, and whether the first sign-in
    # must change it (never readable through Graph; the sandbox's sign-in check uses it)
    password_hash: bytes = b""
    password_salt: bytes = b""
    force_change: bool = False


@dataclass
class Group:
    id: str
    props: dict[str, Any]
    edu: dict[str, Any] | None  # education class properties; None for a plain group
    ordinal: int
    created_at: float
    visible_at: float
    members: set[str] = field(default_factory=set)
    owners: set[str] = field(default_factory=set)
    schools: set[str] = field(default_factory=set)
    rel_seqs: list[int] = field(default_factory=list)
    rel_log: list[tuple[str, str, bool]] = field(default_factory=list)  # (relation, uid, added)

    @property
    def is_class(self) -> bool:
        return self.edu is not None

    def relation(self, name: str) -> set[str]:
        return self.members if name == "members" else self.owners


@dataclass
class School:
    id: str
    props: dict[str, Any]
    ordinal: int
    created_at: float
    visible_at: float
    users: set[str] = field(default_factory=set)
    classes: set[str] = field(default_factory=set)


@dataclass
class Operation:
    """A teamsAsyncOperation; its status follows from the clock."""

    id: str
    team_id: str
    operation_type: str
    created_at: float
    created_iso: str
    delay_s: float

    def status(self, now: float) -> str:
        elapsed = now - self.created_at
        if elapsed >= self.delay_s:
            return "succeeded"
        return "notStarted" if elapsed < self.delay_s / 2 else "inProgress"


@dataclass
class Team:
    id: str
    props: dict[str, Any]
    template: str
    ready_at: float
    archived: bool = False
    operations: list[str] = field(default_factory=list)


class Store:
    """Users, groups (classes), schools, teams and operations with indexes and change logs."""

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(f"ess-store-{seed}")
        self.users: dict[str, User] = {}
        self.groups: dict[str, Group] = {}
        self.schools: dict[str, School] = {}
        self.teams: dict[str, Team] = {}
        self.operations: dict[str, Operation] = {}
        self.user_index = Index(USER_INDEXED)
        self.group_index = Index(GROUP_INDEXED)
        self.school_index = Index(SCHOOL_INDEXED)
        self.user_groups: dict[str, set[str]] = {}
        self.user_schools: dict[str, set[str]] = {}
        self.seq = 0
        self._ordinal = 0
        self._log_seqs: dict[str, list[int]] = {k: [] for k in DELTA_KINDS}
        self._log_ids: dict[str, list[str]] = {k: [] for k in DELTA_KINDS}

    # ids, ordering and the change log -----------------------------------------------------

    def new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _next_ordinal(self) -> int:
        self._ordinal += 1
        return self._ordinal

    def _log(self, kind: str, oid: str) -> int:
        self.seq += 1
        self._log_seqs[kind].append(self.seq)
        self._log_ids[kind].append(oid)
        return self.seq

    def changed_since(self, kind: str, since: int, upto: int) -> list[str]:
        """Ids changed in (since, upto], each once, in order of their last change."""
        seqs = self._log_seqs[kind]
        start = bisect.bisect_right(seqs, since)
        end = bisect.bisect_right(seqs, upto)
        last: dict[str, int] = {}
        for i in range(start, end):
            last[self._log_ids[kind][i]] = i
        return sorted(last, key=last.__getitem__)

    # users --------------------------------------------------------------------------------

    def _index_user(self, user: User) -> None:
        self.user_index.update(user.id, {"id": user.id, **user.props})

    def add_user(self, props: dict[str, Any], now: float, delay: float) -> User:
        user = User(self.new_id(), props, self._next_ordinal(), now, now + delay)
        self.users[user.id] = user
        self._index_user(user)
        self._log("users", user.id)
        return user

    def update_user(self, user: User, changes: dict[str, Any]) -> None:
        user.props.update(changes)
        self._index_user(user)
        self._log("users", user.id)

    def delete_user(self, user: User) -> None:
        for gid in list(self.user_groups.get(user.id, ())):
            group = self.groups[gid]
            for rel in RELATIONS:
                if user.id in group.relation(rel):
                    self.unlink(group, rel, user.id)
        for sid in list(self.user_schools.get(user.id, ())):
            self.school_unlink_user(self.schools[sid], user.id)
        del self.users[user.id]
        self.user_index.remove(user.id)
        self.user_groups.pop(user.id, None)
        self.user_schools.pop(user.id, None)
        self._log("users", user.id)

    def find_users(self, name: str, value: Any) -> list[User]:
        return [self.users[i] for i in self.user_index.lookup(name, value)]

    # groups and classes -------------------------------------------------------------------

    def _index_group(self, group: Group) -> None:
        self.group_index.update(group.id, {"id": group.id, **group.props, **(group.edu or {})})

    def add_group(
        self, props: dict[str, Any], edu: dict[str, Any] | None, now: float, delay: float
    ) -> Group:
        group = Group(self.new_id(), props, edu, self._next_ordinal(), now, now + delay)
        self.groups[group.id] = group
        self._index_group(group)
        self._log("groups", group.id)
        if group.is_class:
            self._log("classes", group.id)
        return group

    def update_group(
        self, group: Group, props: dict[str, Any], edu: dict[str, Any] | None = None
    ) -> None:
        group.props.update(props)
        if edu and group.edu is not None:
            group.edu.update(edu)
        self._index_group(group)
        self._log("groups", group.id)
        if group.is_class:
            self._log("classes", group.id)

    def delete_group(self, group: Group) -> None:
        for rel in RELATIONS:
            for uid in list(group.relation(rel)):
                self.unlink(group, rel, uid)
        for sid in list(group.schools):
            self.school_unlink_class(self.schools[sid], group.id)
        self.teams.pop(group.id, None)
        del self.groups[group.id]
        self.group_index.remove(group.id)
        self._log("groups", group.id)
        if group.is_class:
            self._log("classes", group.id)

    def find_groups(self, name: str, value: Any) -> list[Group]:
        return [self.groups[i] for i in self.group_index.lookup(name, value)]

    def link(self, group: Group, rel: str, uid: str) -> None:
        """Add ``uid`` to the group's members or owners (caller checked it is not there)."""
        group.relation(rel).add(uid)
        self.user_groups.setdefault(uid, set()).add(group.id)
        group.rel_seqs.append(self._log("groups", group.id))
        group.rel_log.append((rel, uid, True))

    def unlink(self, group: Group, rel: str, uid: str) -> None:
        group.relation(rel).discard(uid)
        if uid not in group.members and uid not in group.owners:
            self.user_groups.get(uid, set()).discard(group.id)
        group.rel_seqs.append(self._log("groups", group.id))
        group.rel_log.append((rel, uid, False))

    def relation_changes(self, group: Group, since: int) -> dict[str, list[tuple[str, bool]]]:
        """Net member/owner changes after ``since``: (uid, now present) per relation."""
        start = bisect.bisect_right(group.rel_seqs, since)
        before: dict[tuple[str, str], bool] = {}
        for rel, uid, added in group.rel_log[start:]:
            before.setdefault((rel, uid), not added)
        out: dict[str, list[tuple[str, bool]]] = {rel: [] for rel in RELATIONS}
        for (rel, uid), was in before.items():
            now = uid in group.relation(rel)
            if now != was:
                out[rel].append((uid, now))
        return out

    # schools ------------------------------------------------------------------------------

    def _index_school(self, school: School) -> None:
        self.school_index.update(school.id, {"id": school.id, **school.props})

    def add_school(self, props: dict[str, Any], now: float, delay: float) -> School:
        school = School(self.new_id(), props, self._next_ordinal(), now, now + delay)
        self.schools[school.id] = school
        self._index_school(school)
        self._log("schools", school.id)
        return school

    def update_school(self, school: School, changes: dict[str, Any]) -> None:
        school.props.update(changes)
        self._index_school(school)
        self._log("schools", school.id)

    def delete_school(self, school: School) -> None:
        for uid in list(school.users):
            self.school_unlink_user(school, uid)
        for gid in list(school.classes):
            self.school_unlink_class(school, gid)
        del self.schools[school.id]
        self.school_index.remove(school.id)
        self._log("schools", school.id)

    def find_schools(self, name: str, value: Any) -> list[School]:
        return [self.schools[i] for i in self.school_index.lookup(name, value)]

    def school_link_user(self, school: School, uid: str) -> None:
        school.users.add(uid)
        self.user_schools.setdefault(uid, set()).add(school.id)
        self._log("schools", school.id)

    def school_unlink_user(self, school: School, uid: str) -> None:
        school.users.discard(uid)
        self.user_schools.get(uid, set()).discard(school.id)
        self._log("schools", school.id)

    def school_link_class(self, school: School, gid: str) -> None:
        school.classes.add(gid)
        self.groups[gid].schools.add(school.id)
        self._log("schools", school.id)

    def school_unlink_class(self, school: School, gid: str) -> None:
        school.classes.discard(gid)
        if gid in self.groups:
            self.groups[gid].schools.discard(school.id)
        self._log("schools", school.id)

    # ordering helpers ---------------------------------------------------------------------

    @staticmethod
    def in_order(objects: Iterable[Any]) -> Iterator[Any]:
        """Objects in creation order (the order collections page in)."""
        return iter(sorted(objects, key=lambda o: o.ordinal))
