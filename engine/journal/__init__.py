"""The journal: runs, plans, operations, the target mirror, events, approvals, audit.

:class:`Journal` (:mod:`engine.journal.protocol`) is the contract: every method the engine, the
ops facade and the runner call, each returning typed records (:class:`RunRecord`,
:class:`OperationRecord`, ...), never a database row. Code that uses a journal is typed with
:class:`Journal`; code that makes one opens an implementation: SQLite today
(:meth:`SqliteJournal.open`), PostgreSQL for hosted installations later, which joins by
implementing the same protocol and passing the same contract tests (tests/journal).
"""

from engine.journal.lease_owner import LeaseOwner
from engine.journal.protocol import (
    ApproverKeyRecord,
    AttemptRecord,
    AuditRecord,
    DeliveryRecord,
    ElevationRecord,
    EventRecord,
    FindingRecord,
    Forgotten,
    IndexEntry,
    IndexHit,
    IndexRecord,
    Journal,
    JournalError,
    JournalSourceCache,
    JournalWriteError,
    KeyMoves,
    Lease,
    LeaseHeld,
    LeaseHolder,
    LeaseLost,
    MirrorRow,
    NoticeRecord,
    OperationCount,
    OperationRecord,
    OperationState,
    OutcomeRow,
    Pruned,
    RunRecord,
    SkipKey,
    SourceHold,
)
from engine.journal.sqlite import SqliteJournal

__all__ = [
    "ApproverKeyRecord",
    "AttemptRecord",
    "AuditRecord",
    "DeliveryRecord",
    "ElevationRecord",
    "EventRecord",
    "FindingRecord",
    "Forgotten",
    "IndexEntry",
    "IndexHit",
    "IndexRecord",
    "Journal",
    "JournalError",
    "JournalSourceCache",
    "JournalWriteError",
    "KeyMoves",
    "Lease",
    "LeaseHeld",
    "LeaseHolder",
    "LeaseLost",
    "LeaseOwner",
    "MirrorRow",
    "NoticeRecord",
    "OperationCount",
    "OperationRecord",
    "OperationState",
    "OutcomeRow",
    "Pruned",
    "RunRecord",
    "SkipKey",
    "SourceHold",
    "SqliteJournal",
]
