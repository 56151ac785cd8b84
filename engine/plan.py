"""Operations and plans: the unit of work the journal stores and the executor applies."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
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


@dataclass(frozen=True)
class Plan:
    """The operations for one target, in order, with the counts the guard reads."""

    target: str
    operations: tuple[Operation, ...]
    observed_counts: dict[str, int] = field(default_factory=dict)
    desired_counts: dict[str, int] = field(default_factory=dict)

    def counts(self) -> Counter[tuple[str, str]]:
        return Counter((op.action.value, op.kind) for op in self.operations)

    def __len__(self) -> int:
        return len(self.operations)
