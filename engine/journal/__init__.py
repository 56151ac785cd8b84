"""The journal: runs, plans, operations, the target mirror, events, approvals, audit.

SQLite today (:mod:`engine.journal.sqlite`); every caller goes through the methods of
:class:`SqliteJournal`, which speak the engine's terms, so a PostgreSQL implementation of the
same surface can replace it for hosted installations.
"""

from engine.journal.lease_owner import LeaseOwner
from engine.journal.sqlite import (
    JournalError,
    JournalWriteError,
    Lease,
    LeaseHeld,
    LeaseLost,
    OutcomeRow,
    SqliteJournal,
)

Journal = SqliteJournal

__all__ = [
    "Journal",
    "JournalError",
    "JournalWriteError",
    "Lease",
    "LeaseHeld",
    "LeaseLost",
    "LeaseOwner",
    "OutcomeRow",
    "SqliteJournal",
]
