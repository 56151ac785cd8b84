"""Operations and plans: the unit of work the journal stores and the executor applies."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from functools import cached_property
from typing import Any, NamedTuple


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    RESTORE = "restore"  # re-enable a suspended object that the source has again
    LINK = "link"
    UNLINK = "unlink"
    SUSPEND = "suspend"
    ARCHIVE = "archive"
    DELETE = "delete"


class Phase(IntEnum):
    """Order of work: creates before memberships, additions before removals, suspensions
    before deletions, deletions last."""

    OBJECTS = 1
    LINKS_ADD = 2
    LINKS_REMOVE = 3
    SUSPEND = 4
    DELETE = 5


PHASE_OF: dict[Action, Phase] = {
    Action.CREATE: Phase.OBJECTS,
    Action.UPDATE: Phase.OBJECTS,
    Action.RESTORE: Phase.OBJECTS,
    Action.LINK: Phase.LINKS_ADD,
    Action.UNLINK: Phase.LINKS_REMOVE,
    Action.SUSPEND: Phase.SUSPEND,
    Action.ARCHIVE: Phase.SUSPEND,
    Action.DELETE: Phase.DELETE,
}

REMOVALS = frozenset({Action.DELETE, Action.SUSPEND, Action.ARCHIVE})


class OpStatus(StrEnum):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DONE = "done"
    FAILED = "failed"  # gave up after retries on a transient cause; a retry may help
    DEAD = "dead"  # the target refused the data; retrying will not help until it is fixed
    BLOCKED = "blocked"  # something it depends on failed
    SKIPPED = "skipped"  # an operator chose to skip it
    CANCELLED = "cancelled"  # its plan was rejected or superseded


OPEN_STATUSES = frozenset({OpStatus.PENDING, OpStatus.IN_FLIGHT})
TROUBLE_STATUSES = frozenset({OpStatus.FAILED, OpStatus.DEAD, OpStatus.BLOCKED})


class Operation(NamedTuple):
    """One change to one target object or link.

    For links, ``kind`` is the link kind, ``parent`` the parent's key and ``key`` the child's.
    ``seq`` numbers operations within a plan; ``depends_on`` lists seqs that must be done first.
    ``id`` is the journal's row id once stored (0 before).

    Immutable like the engine's frozen dataclasses, but a NamedTuple: a first sync of a large
    municipality plans about two million of these, and a tuple is four times quicker to make
    than a frozen dataclass. Change one with ``op._replace(...)``.
    """

    seq: int
    target: str
    action: Action
    kind: str
    key: str
    parent: str | None = None
    attrs: tuple[tuple[str, Any], ...] = ()
    fingerprint: str = ""
    depends_on: tuple[int, ...] = ()
    label: str = ""
    id: int = 0
    attempts: int = 0
    target_id: str | None = None  # known target id (updates, deletes, links' child)
    parent_target_id: str | None = None

    @property
    def phase(self) -> Phase:
        return PHASE_OF[self.action]

    @property
    def is_link(self) -> bool:
        return self.parent is not None

    def describe(self) -> str:
        what = self.label or (f"{self.parent} → {self.key}" if self.parent else self.key)
        return f"{self.action.value} {self.kind} {what}"


class LinkRun(NamedTuple):
    """The link operations of one parent and one link kind, before they are written out.

    A first sync of a large municipality plans about two million link operations under some
    130,000 parents. The planner keeps them as one run per parent, so planning, the guard and
    a dry run never make two million operation objects; :meth:`Plan.iter_operations` writes
    each out when the journal stores the plan. Operation ``seq + i`` is the link to the i-th
    child in sorted order (children are kept as the planner found them, in no order).

    ``known`` maps each child that is there or being made to (seq of its create or 0, label);
    every child of an addition is in it (the planner leaves the others out).
    """

    seq: int  # seq of the first operation
    action: Action  # LINK or UNLINK
    kind: str  # the link kind
    parent: str
    children: Collection[str]
    parent_seq: int  # seq of the parent's create, 0 when it is there already
    label_head: str  # "parent label ← "
    known: Mapping[str, tuple[int, str]]

    def operations(self, target: str, id_base: int | None = None) -> list[Operation]:
        """This run's operations; with ``id_base``, each gets the row id ``id_base + seq``."""
        kids, known, head, first = sorted(self.children), self.known, self.label_head, self.seq
        make = tuple.__new__
        if self.action is Action.LINK:
            found = [known[c] for c in kids]
            labels = [head + lab for _, lab in found]
            p = self.parent_seq
            if p:
                deps: list[tuple[int, ...]] = [(p, sc) if sc else (p,) for sc, _ in found]
            else:
                deps = [(sc,) if sc else () for sc, _ in found]
        else:  # a removal waits for nothing; its child may be unknown (deleted by hand)
            get = known.get
            labels = [head + (f[1] if (f := get(c)) else c) for c in kids]
            deps = [()] * len(labels)
        action, kind, parent, n = self.action, self.kind, self.parent, len(kids)
        ids = [0] * n if id_base is None else range(id_base + first, id_base + first + n)
        # a comprehension, not appends: this is a large first sync's bulk
        return [
            make(
                Operation, (seq, target, action, kind, c, parent, (), "", d, lab, i, 0, None, None)
            )
            for seq, i, c, d, lab in zip(
                range(first, first + n), ids, kids, deps, labels, strict=True
            )
        ]


@dataclass(frozen=True)
class Plan:
    """The operations for one target, in order, with the counts the guard reads.

    Object operations are kept as they are; link operations as one :class:`LinkRun` per
    parent and link kind, written out on demand (``operations``, ``iter_operations``).
    Seqs run from 1 without a gap through objects, link runs and retirements, in that order.
    """

    target: str
    objects: tuple[Operation, ...] = ()  # creates, updates, restores (phase 1)
    links: tuple[LinkRun, ...] = ()  # additions, then removals (phases 2 and 3)
    retirements: tuple[Operation, ...] = ()  # suspensions, archivals, deletions (4 and 5)
    observed_counts: dict[str, int] = field(default_factory=dict)
    desired_counts: dict[str, int] = field(default_factory=dict)

    @cached_property
    def operations(self) -> tuple[Operation, ...]:
        """Every operation, in order (made once, on first use)."""
        return tuple(self.iter_operations())

    def iter_operations(self, id_base: int | None = None) -> Iterator[Operation]:
        """Every operation in order, made as it is reached; with ``id_base``, operation ``seq``
        gets the row id ``id_base + seq``."""
        yield from _with_ids(self.objects, id_base)
        for run in self.links:
            yield from run.operations(self.target, id_base)
        yield from _with_ids(self.retirements, id_base)

    def counts(self) -> Counter[tuple[str, str]]:
        """Operations per (action, kind), without writing the link operations out."""
        c = Counter((op.action.value, op.kind) for op in self.objects)
        for run in self.links:
            c[(run.action.value, run.kind)] += len(run.children)
        c.update((op.action.value, op.kind) for op in self.retirements)
        return +c

    def __len__(self) -> int:
        return (
            len(self.objects) + sum(len(run.children) for run in self.links) + len(self.retirements)
        )


def _with_ids(ops: tuple[Operation, ...], id_base: int | None) -> Iterable[Operation]:
    if id_base is None:
        return ops
    return (op._replace(id=id_base + op.seq) for op in ops)
