"""The journal's contract: every method the engine, the ops facade and the runner call, and the
typed records they get back.

One file, so a second implementation (PostgreSQL for hosted installations) sees all it must
offer in one place. Rows, cursors and SQL stay inside an implementation; across this boundary
only the records below travel. Times are ``datetime`` (aware, UTC), as in :mod:`engine.views`;
JSON columns arrive decoded; flags are ``bool``. :class:`OperationCount` is the view's own
record, as the journal counts are shown unchanged.

A method returning many rows returns a list of records; where millions are made (a plan's
operations, the mirror) the engine's own NamedTuples travel instead (:class:`Operation`,
:class:`engine.target.ObservedState`), as fast to build as the tuples a driver returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from engine.audit_chain import AuditHead, AuditLink
from engine.findings import Finding
from engine.journal.lease_owner import LeaseOwner
from engine.plan import Operation, OpStatus, Plan
from engine.source import CachedSource
from engine.target import Attrs, ObservedState
from engine.views import OperationCount as OperationCount  # shown as the journal counts

# ---------------------------------------------------------------------------- errors


class JournalError(Exception):
    """The journal cannot be opened or written (a locked, corrupt or foreign file)."""


class JournalWriteError(JournalError):
    """A write to the journal failed for a cause outside ESS (a full disk, an I/O error, a
    read-only file); the transaction was rolled back, so nothing of it was written."""


class LeaseHeld(JournalError):
    """Another run holds the tenant's lease."""

    def __init__(self, tenant: str, holder: str, expires_in: float) -> None:
        self.tenant, self.holder, self.expires_in = tenant, holder, expires_in
        super().__init__(
            f"tenant {tenant!r} is being synced by {holder} (lease expires in "
            f"{max(0, int(expires_in))} s); wait for it to finish"
        )


class LeaseLost(JournalError):
    """Our lease was taken over (it expired); this run must stop writing."""


# ---------------------------------------------------------------------------- what goes in


@dataclass(frozen=True)
class Lease:
    """The right to write for one tenant; ``token`` fences off a holder whose lease expired."""

    tenant: str
    holder: str
    token: int


@dataclass(frozen=True)
class OutcomeRow:
    """One operation's new state after an attempt, with its mirror effect."""

    op: Operation
    status: OpStatus
    reason: str = ""
    message: str = ""
    target_id: str | None = None
    not_before: float = 0.0
    outcome: str = ""  # what the attempt answered: done, retry, failed, fatal, blocked
    request_id: str | None = None  # the service's id of the answer, for a ticket with its vendor


IndexEntry = tuple[str, str, str, str, str, str | None]
"""One record of the searchable snapshot index: (record type, key, label, detail, lower-case
search text, the redacted source record as JSON). A run writes one per person, group and
school, so a tuple."""


# ---------------------------------------------------------------------------- what comes out


@dataclass(frozen=True, slots=True)
class LeaseHolder:
    """Who holds a tenant's live lease, and until when (seconds since the epoch)."""

    holder: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run: a sync, a retry or a held plan waiting for approval."""

    id: int
    tenant: str
    status: str  # running, held, succeeded, partial, failed, rejected, cancelled
    trigger: str  # manual, schedule, console, mcp, retry, approve
    actor: str
    dry_run: bool
    targets: tuple[str, ...]
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, int]  # planned, done, failed, dead, ...
    guard: dict[str, Any]  # the guard's verdict; empty before the guard ran
    error: str | None
    source_mode: str | None  # full, incremental, folder; None until the source was read


@dataclass(frozen=True, slots=True)
class FindingRecord:
    """A data-quality finding of one run's source read."""

    id: int
    run_id: int
    tenant: str
    code: str
    severity: str  # blocking, warning, info
    record_type: str
    record_id: str
    label: str
    message: str
    fix: str
    origin: str


class OperationState(NamedTuple):
    """An operation to carry on with (resuming, or applying a held plan), as the executor
    takes it: its status and the time before which it must not be tried again."""

    op: Operation
    status: OpStatus
    not_before: float  # seconds since the epoch; 0 when it may go now


@dataclass(frozen=True, slots=True)
class OperationRecord:
    """An operation as stored: the plan's :class:`Operation` (with its row id, attempts and
    known target id) and where it stands."""

    op: Operation
    run_id: int
    tenant: str
    status: OpStatus
    reason: str  # why it is waiting or gave up (a short classification)
    last_error: str  # the target's last answer, or an operator's note
    not_before: float
    superseded: bool  # a later plan, retry or skip replaced it
    updated_at: datetime | None
    request_id: str | None = None  # the service's id of the last attempt's answer, if failed


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One attempt of one operation."""

    op_id: int
    number: int
    at: datetime
    outcome: str  # done, retry, failed, fatal
    reason: str
    message: str
    request_id: str | None = None  # the service's id of the answer (Graph's request-id)


@dataclass(frozen=True, slots=True)
class MirrorRow:
    """One object of the mirror: what ESS believes a target holds for a source key."""

    tenant: str
    target: str
    kind: str
    key: str
    target_id: str | None
    fingerprint: str
    attrs: Attrs
    label: str
    suspended_at: datetime | None
    archived: bool
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One line of a run's log."""

    id: int
    tenant: str
    run_id: int | None
    at: datetime
    level: str  # debug, info, warning, error
    message: str


@dataclass(frozen=True, slots=True)
class ElevationRecord:
    """A time-boxed permission to write for a silver or gold tenant."""

    id: int
    tenant: str
    actor: str
    reason: str
    created_at: datetime
    expires_at: datetime
    needs_approval: bool  # gold: a customer approver must approve it first
    approved_by: str | None
    approved_at: datetime | None
    revoked: bool
    approval_signature: str | None = None  # the approver's Ed25519 signature of the challenge


@dataclass(frozen=True, slots=True)
class Pruned:
    """What one pass of retention removed."""

    events: int
    attempts: int
    audit_rows: int


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What ``person forget`` removed about one person, or why it removed nothing.

    ``held`` names what ESS still needs the person's data for (the source still lists them, a
    target still holds their account, an item for them is still to be done); then nothing was
    removed and the counts are 0."""

    held: str = ""
    operations: int = 0
    attempts: int = 0
    findings: int = 0
    skips: int = 0
    events: int = 0
    index_rows: int = 0
    audit_rows: int = 0  # made tombstones

    @property
    def total(self) -> int:
        return (
            self.operations
            + self.attempts
            + self.findings
            + self.skips
            + self.events
            + self.index_rows
            + self.audit_rows
        )


@dataclass(frozen=True, slots=True)
class ApproverKeyRecord:
    """A customer approver's enrolled Ed25519 public key for one tenant."""

    tenant: str
    name: str
    public_key: str
    enrolled_at: datetime
    enrolled_by: str


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One command of one actor, allowed or refused."""

    id: int
    at: datetime
    actor: str
    action: str
    tenant: str | None
    allowed: bool
    detail: str


@dataclass(frozen=True, slots=True)
class NoticeRecord:
    """An event people are told of (a held plan, a failed run), written in the same transaction
    as the change it reports, so that no notification is lost when the process dies."""

    id: int
    tenant: str
    kind: str  # plan_held, run_failed, run_partial, elevation_requested, elevation_approved,
    # audit_head, approver_changed
    run_id: int | None  # the run it reports, for a run's end
    elevation_id: int | None  # the elevation it reports, for an elevation
    created_at: datetime
    detail: str = ""  # audit_head: the head sent out; approver_changed: what changed


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """How one notice fared on one channel: delivered, waiting for a retry, or given up."""

    notice_id: int
    channel: str
    attempts: int
    retry_at: datetime | None
    delivered_at: datetime | None
    given_up: bool
    last_error: str


@dataclass(frozen=True, slots=True)
class IndexHit:
    """A record of the snapshot index that a search matched."""

    tenant: str
    record_type: str  # person, group, school
    key: str
    label: str
    detail: str


@dataclass(frozen=True, slots=True)
class IndexRecord:
    """One record of the snapshot index, with its redacted source record."""

    tenant: str
    record_type: str
    key: str
    label: str
    detail: str
    body: dict[str, Any] | None  # the redacted source record; None when not kept


SkipKey = tuple[str, str, str, str]
"""(action, kind, key, parent or "") of an operator's skip."""


@dataclass(frozen=True)
class KeyMoves:
    """A tenant's source ids moved to a new source's ids (``ess source rekey``).

    ``kinds`` says, per target, which record type an object kind's key is (for a link kind:
    its child's), ``parents`` which record type a link kind's parent is (every link kind is
    named there); ``ids`` maps old ids
    to new ones per record type. ``holds`` are (record type, key, reason) of the records that
    could not be matched; ``caches`` the source cache scopes to empty (the old source's raw
    records mean nothing to the new one).
    """

    kinds: Mapping[str, Mapping[str, str]]
    parents: Mapping[str, Mapping[str, str]]
    ids: Mapping[str, Mapping[str, str]]
    holds: Sequence[tuple[str, str, str]] = ()
    caches: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class SourceHold:
    """A record no run may remove until an operator releases it (an unmatched rekey)."""

    tenant: str
    record_type: str  # person, group, school
    key: str
    reason: str
    held_at: datetime
    actor: str


# ---------------------------------------------------------------------------- the protocol


class Journal(Protocol):
    """Everything the engine stores: runs, plans, outcomes, the mirror, the run log, approvals,
    elevations, audit, skips, the source's raw records and the search index.

    Writes are atomic per call: a method either stores everything it was given or nothing.
    Methods taking a :class:`Lease` refuse with :class:`LeaseLost` once another run took it.
    Open an implementation with its own constructor (``SqliteJournal.open``).
    """

    async def close(self) -> None:
        """Release the connection; the journal is not used afterwards."""
        ...

    # ------------------------------------------------------------------ tenants
    async def upsert_tenant(self, tenant: str, name: str, tier: str) -> None:
        """Record a configured tenant's name and support tier (the audit and views name it)."""
        ...

    # ------------------------------------------------------------------ leases
    async def acquire_lease(
        self, tenant: str, holder: str, ttl: float, *, owner: LeaseOwner | None = None
    ) -> Lease:
        """Take the tenant's lease for ``ttl`` seconds, or raise :class:`LeaseHeld`; an
        expired lease, or one whose holding process died on this host, is taken over with a
        higher token, so its old holder is fenced off. ``owner`` is the holding process
        (default: this one)."""
        ...

    async def renew_lease(self, lease: Lease, ttl: float) -> None:
        """Extend our lease while a long run goes on; :class:`LeaseLost` if it was taken."""
        ...

    async def release_lease(self, lease: Lease) -> None:
        """Give the lease back (a no-op when it was taken over meanwhile)."""
        ...

    async def lease_holder(self, tenant: str) -> LeaseHolder | None:
        """Who holds the tenant's live lease: a run is going on. None when free or expired."""
        ...

    # ------------------------------------------------------------------ runs
    async def create_run(
        self,
        tenant: str,
        *,
        trigger: str,
        actor: str,
        dry_run: bool,
        targets: Sequence[str],
        status: str = "running",
    ) -> int:
        """Start a run's record before anything else happens; returns its id."""
        ...

    async def update_run(
        self,
        run_id: int,
        *,
        status: str | None = None,
        counts: Mapping[str, int] | None = None,
        guard: Mapping[str, Any] | None = None,
        error: str | None = None,
        finished: bool = False,
        source_mode: str | None = None,
    ) -> None:
        """Change the fields given (None leaves one as it is); ``finished`` stamps the end, and
        a run set ``running`` again (an approved plan, a resumed run) loses its end stamp."""
        ...

    async def get_run(self, run_id: int) -> RunRecord | None:
        """One run, or None."""
        ...

    async def list_runs(
        self,
        tenant: str | None,
        *,
        limit: int = 50,
        before: int | None = None,
        statuses: Iterable[str] | None = None,
    ) -> list[RunRecord]:
        """Runs newest first, of one tenant or all, paged by ``before`` (a run id)."""
        ...

    async def last_runs(self) -> dict[str, RunRecord]:
        """Each tenant's newest real run, for the health overview: a dry run applies nothing,
        so it is never a tenant's last run (it would hide a failed or held one)."""
        ...

    async def supersede_held(self, tenant: str, by_run: int) -> int:
        """Cancel the tenant's plans still held for approval (a new plan replaces them);
        returns how many."""
        ...

    async def last_read_run(self, tenant: str) -> int | None:
        """The newest run that read the source: its findings are the current ones."""
        ...

    # ------------------------------------------------------------------ findings
    async def add_findings(
        self, run_id: int, tenant: str, findings: Sequence[Finding], labels: Mapping[str, str]
    ) -> None:
        """Store a read's findings, each with its record's label (never a personnummer)."""
        ...

    async def list_findings(
        self,
        run_id: int,
        *,
        severity: str | None = None,
        record_id: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[FindingRecord]:
        """A run's findings by severity, code and id, optionally of one severity or record."""
        ...

    async def finding_counts(self, run_id: int) -> dict[str, int]:
        """A run's findings counted per severity."""
        ...

    # ------------------------------------------------------------------ plans and operations
    async def store_operations(
        self, run_id: int, tenant: str, ops: Sequence[Operation], *, supersede: bool = True
    ) -> list[Operation]:
        """Write operations (a retry's copies) before anything is applied; returns them with
        their row ids. ``supersede`` lets them replace earlier open trouble of their targets."""
        ...

    async def store_plans(self, run_id: int, tenant: str, plans: Sequence[Plan]) -> list[Operation]:
        """Write a run's plans at once before anything is applied, superseding earlier open
        trouble of their targets; returns the operations with their row ids. A hot path: a
        first sync writes millions of link operations."""
        ...

    async def load_operations(
        self, run_id: int, statuses: Iterable[str] | None = None
    ) -> list[OperationState]:
        """A run's operations to carry on with, in plan order (target, seq)."""
        ...

    async def mark_in_flight(self, lease: Lease, ops: Sequence[Operation]) -> None:
        """The intent mark, written before a request leaves, so a crash is detectable; counts
        the attempt."""
        ...

    async def record_outcomes(
        self,
        lease: Lease | None,
        tenant: str,
        rows: Sequence[OutcomeRow],
        link_specs: Mapping[str, tuple[str, str]],
    ) -> None:
        """Write outcomes, attempts and the mirror's changes together (``link_specs``: link
        kind -> (parent kind, child kind), so a deleted object's links go with it)."""
        ...

    async def attempts_of(self, op_id: int) -> list[AttemptRecord]:
        """An operation's attempts, first to last."""
        ...

    async def get_operation(self, op_id: int) -> OperationRecord | None:
        """One stored operation, or None."""
        ...

    async def get_operations(self, op_ids: Sequence[int]) -> list[OperationRecord]:
        """The stored operations of these ids that exist, in no set order."""
        ...

    async def list_operations(
        self,
        run_id: int,
        *,
        status: str | None = None,
        kind: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[OperationRecord]:
        """A run's operations by id, optionally of one status or kind."""
        ...

    async def operation_counts(self, run_id: int) -> list[OperationCount]:
        """A run's operations counted per status, action and kind, in that order."""
        ...

    async def status_counts(self, run_id: int) -> dict[str, int]:
        """A run's operations counted per status, for its summary."""
        ...

    async def open_trouble(
        self, tenant: str | None, *, limit: int = 200, offset: int = 0
    ) -> list[OperationRecord]:
        """Failed, dead and blocked operations no later plan replaced: dead first, then
        failed, then blocked, per tenant."""
        ...

    async def trouble_counts(self) -> dict[str, int]:
        """Open trouble counted per tenant."""
        ...

    async def supersede(self, op_ids: Sequence[int]) -> None:
        """Mark operations as replaced (a retry copies them into a new run)."""
        ...

    async def set_status(self, op_ids: Sequence[int], status: OpStatus, note: str = "") -> None:
        """Set operations' status by hand (skip, reject); a note replaces the last error."""
        ...

    async def removal_history(self, tenant: str, runs: int) -> list[dict[str, int]]:
        """Removals applied per kind in the tenant's last ``runs`` completed runs, newest
        first: the guard's erosion check. The removals of a plan an operator approved are
        counted as none: they were judged by a person, and counting them again would hold
        every later run until they leave the window."""
        ...

    async def operations_for_record(
        self, tenant: str, key: str, limit: int = 50
    ) -> list[OperationRecord]:
        """Operations on a source key (as object or as either side of a link), newest first."""
        ...

    # ------------------------------------------------------------------ skips
    async def add_skips(
        self, tenant: str, ops: Sequence[Operation], actor: str, reason: str
    ) -> None:
        """An operator skips operations until their source record changes (their fingerprint
        is kept to notice that)."""
        ...

    async def skips(self, tenant: str, target: str) -> dict[SkipKey, str]:
        """The target's skips, each to the fingerprint it was skipped at, for the planner."""
        ...

    # ------------------------------------------------------------------ mirror
    async def load_mirror(self, tenant: str, target: str) -> ObservedState:
        """What ESS believes the target holds. A hot path: a large tenant's mirror holds
        millions of links."""
        ...

    async def replace_mirror(self, tenant: str, target: str, observed: ObservedState) -> None:
        """Store a refreshed view of the target (drift read back) as the mirror."""
        ...

    async def mirror_for_key(self, tenant: str, key: str) -> list[MirrorRow]:
        """The mirror's objects of one source key, in every target, for explanations."""
        ...

    # ------------------------------------------------------------------ events
    async def add_events(
        self, tenant: str, run_id: int | None, events: Sequence[tuple[str, str, str]]
    ) -> None:
        """(at as ISO text, level, message) lines of the run log."""
        ...

    async def list_events(
        self,
        run_id: int,
        *,
        after_id: int = 0,
        level: str | None = None,
        contains: str | None = None,
        limit: int = 500,
    ) -> list[EventRecord]:
        """A run's log after an event id (to follow it), of one level or with some text."""
        ...

    # ------------------------------------------------------- approvals, elevations, audit
    async def add_approval(self, run_id: int, decision: str, actor: str, reason: str) -> None:
        """Record who approved or rejected a held plan, and why."""
        ...

    async def add_elevation(
        self, tenant: str, actor: str, reason: str, expires_at: datetime, needs_approval: bool
    ) -> int:
        """Record an elevation request; returns its id."""
        ...

    async def approve_elevation(
        self, elevation_id: int, approver: str, signature: str | None = None
    ) -> None:
        """A customer approver approved a gold tenant's elevation (with their signature)."""
        ...

    async def add_approver_key(self, tenant: str, name: str, public_key: str, actor: str) -> None:
        """Enrol (or replace) a customer approver's public key for a tenant."""
        ...

    async def remove_approver_key(self, tenant: str, name: str) -> bool:
        """Remove an approver's key; False when there was none."""
        ...

    async def approver_keys(self, tenant: str | None) -> list[ApproverKeyRecord]:
        """The enrolled approver keys of one tenant or all, by tenant and name."""
        ...

    async def list_elevations(self, tenant: str | None = None) -> list[ElevationRecord]:
        """Elevations newest first (the last 500), of one tenant or all."""
        ...

    async def get_elevation(self, elevation_id: int) -> ElevationRecord | None:
        """One elevation, or None."""
        ...

    async def add_audit(
        self, actor: str, action: str, tenant: str | None, allowed: bool, detail: str
    ) -> None:
        """Record a command and whether the policy allowed it."""
        ...

    async def list_audit(self, tenant: str | None, limit: int) -> list[AuditRecord]:
        """Audit rows newest first, of one tenant or all."""
        ...

    # ------------------------------------------------------------------ monitoring
    async def run_counts(self) -> dict[str, dict[str, int]]:
        """Runs counted per tenant and status, for the metrics."""
        ...

    async def heartbeat(self, process: str) -> None:
        """Record that ``process`` is alive and can write; raises JournalWriteError if the
        journal cannot be written (a full disk, a read-only file)."""
        ...

    async def change_marker(self) -> str:
        """A cheap token that differs once anything was committed to the journal since the last
        call, by this connection or any other process (a console, the CLI, the scheduler, the
        MCP server). Views poll it and reload only when it moved; its value means nothing else.
        """
        ...

    # ------------------------------------------------------------------ notification outbox
    async def add_notice(self, tenant: str, kind: str, detail: str) -> int:
        """A notice that reports no run and no elevation (``audit_head``, ``approver_changed``),
        with what it says in ``detail``; its id."""
        ...

    async def last_notice_at(
        self, tenant: str, kind: str, detail_prefix: str = ""
    ) -> datetime | None:
        """When the tenant's newest notice of ``kind`` (whose detail starts with
        ``detail_prefix``) was written (None: never)."""
        ...

    async def open_notices(self, limit: int = 100) -> list[NoticeRecord]:
        """Notices not yet settled on every channel, oldest first. ``update_run`` writes one
        when a run ends held, failed or partial (not a dry run), ``add_elevation`` and
        ``approve_elevation`` one for the elevation, each in the same transaction."""
        ...

    async def deliveries(self, notice_id: int) -> list[DeliveryRecord]:
        """The notice's delivery state on each channel tried so far."""
        ...

    async def record_delivery(
        self,
        notice_id: int,
        channel: str,
        *,
        delivered: bool,
        error: str = "",
        retry_at: datetime | None = None,
        give_up: bool = False,
    ) -> None:
        """One attempt on one channel: delivered, or failed with when to try again."""
        ...

    async def close_notice(self, notice_id: int) -> None:
        """The notice is settled on every channel (or no channel wants it)."""

    async def audit_chain(self, after_id: int, limit: int) -> list[AuditLink]:
        """Audit rows after an id, oldest first, as the hash chain covers them (to verify)."""
        ...

    async def audit_head(self) -> AuditHead | None:
        """The newest audit row's id and hash, or None before the first."""
        ...

    async def forget_person(self, tenant: str, key: str, names: Sequence[str]) -> Forgotten:
        """Remove what the journal holds about one person (source id ``key``) in one
        transaction: the operations on them and their attempts, findings, skips, the search
        index row, run log lines naming them (their id or one of ``names``), and make audit rows
        naming them tombstones (content gone, hash kept). Removes nothing, and says why in
        ``held``, while ESS still needs it: the source cache still holds them, a target's mirror
        still holds an object or link of theirs, or an operation on them is still open."""
        ...

    async def person_names(self, tenant: str, keys: Sequence[str]) -> dict[str, list[str]]:
        """For each person (source id): the labels operations and mirror rows gave them (their
        display name, or the pseudonym once protected) and the account names and addresses in
        their operations' attributes: what a run log line may name them by."""
        ...

    async def prune(self, history_before: datetime, audit_before: datetime) -> Pruned:
        """Retention: remove the run log's events and the attempts of runs started before
        ``history_before``, and make audit rows written before ``audit_before`` tombstones
        (content gone, hash kept, so the chain still verifies)."""
        ...

    # ------------------------------------------------------------------ rekey and holds
    async def move_source_ids(self, tenant: str, moves: KeyMoves, actor: str) -> dict[str, int]:
        """Move every row keyed by a source id to its new id in one transaction: the mirror
        and its links, the open operations (pending, in flight, failed, held), the skips, the
        snapshot index; add the holds, empty the named source caches and forget the source
        aliases (they name the old ids; the next merge makes them again). Returns how many rows
        of each moved. A new id that another row of the same kind already has stops it all
        (:class:`JournalError`), nothing changed."""
        ...

    async def source_holds(self, tenant: str) -> list[SourceHold]:
        """The tenant's held records, oldest first."""
        ...

    async def release_holds(self, tenant: str, keys: Sequence[tuple[str, str]] | None) -> int:
        """Release the (record type, key) holds named, or all with None; returns how many."""
        ...

    async def source_aliases(self, tenant: str) -> dict[tuple[str, str], str]:
        """(source key, person id in that source) -> the merged person id, as the last merge of
        every source of the tenant left them (see :mod:`engine.merge`)."""
        ...

    async def replace_source_aliases(
        self,
        tenant: str,
        aliases: Mapping[tuple[str, str], str],
        owners: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
    ) -> None:
        """Store a complete merge's aliases in place of the tenant's earlier ones, and with
        them ``owners`` (source key -> record type -> merged ids it brought): each is kept as
        the source's record under its own id, so the table maps every source record to the
        merged one, and the aliases are the rows where the two ids differ."""

    async def source_owners(self, tenant: str) -> dict[str, dict[str, frozenset[str]]]:
        """Source key -> record type -> the merged ids it brought in the last complete merge
        (the aliases included): which source's failure holds a record's removal."""
        ...

    # ------------------------------------------------------------------ source cache
    async def load_source(self, tenant: str) -> CachedSource:
        """The source's raw records and checkpoint from the last complete read."""
        ...

    async def save_source(
        self,
        tenant: str,
        *,
        upserts: Mapping[str, Mapping[str, bytes]],
        deletes: Mapping[str, Iterable[str]],
        checkpoint: str,
        full: bool,
    ) -> None:
        """Store a read's changes at once (``full`` replaces everything and stamps the time)."""
        ...

    async def drop_source_caches(self, tenant: str, keep: Sequence[str]) -> int:
        """Remove the tenant's source caches (its own and each ``TENANT/KEY``) but those in
        ``keep``: a source no longer configured leaves no records behind. Returns the records
        removed."""
        ...

    def source_cache(self, tenant: str) -> JournalSourceCache:
        """The tenant's :class:`engine.source.SourceCache` over this journal."""
        return JournalSourceCache(self, tenant)

    # ------------------------------------------------------------------ snapshot index
    async def replace_index(self, tenant: str, entries: Sequence[IndexEntry]) -> None:
        """Replace the tenant's searchable index with the last snapshot's records."""
        ...

    async def search_index(self, query: str, tenant: str | None, limit: int) -> list[IndexHit]:
        """Records whose search text contains ``query`` (lower-cased) or whose key is it."""
        ...

    async def index_record(self, tenant: str, record_type: str, key: str) -> IndexRecord | None:
        """One record of the index with its redacted source record, or None."""
        ...

    async def search_mirror(self, query: str, tenant: str | None, limit: int) -> list[IndexHit]:
        """Index records whose object in a target has ``query`` as its id, or, for a query
        with an ``@``, holds it in an attribute (a sign-in name or an e-mail the target was
        given, which the source may not have): what a teacher quotes from the service."""
        ...

    async def source_record(self, tenant: str, entity: str, key: str) -> bytes | None:
        """One raw record of the tenant's source cache, or None. With several sources, the
        first (by source key) of their caches (``TENANT/KEY``) holding it, under ``key`` or
        the source's own id the last merge gave ``key``."""
        ...

    async def source_records_holding(self, tenant: str, entity: str, text: str) -> list[str]:
        """Ids of the cached records of an entity whose body holds ``text`` (a keyed hash), in
        every cache of the tenant (that of each of several sources too, ``TENANT/KEY``); a
        source's own id is given as the id the last merge gave that record."""
        ...

    async def masked_persons(self, tenant: str, label_prefix: str) -> frozenset[str]:
        """Source ids of the persons whose label in the last snapshot's index begins with
        ``label_prefix`` (the pseudonym of a masked protected identity)."""
        ...


class JournalSourceCache:
    """:class:`engine.source.SourceCache` over a journal, for one tenant."""

    def __init__(self, journal: Journal, tenant: str) -> None:
        self._j, self._tenant = journal, tenant

    async def load(self) -> CachedSource:
        return await self._j.load_source(self._tenant)

    async def save(
        self,
        *,
        upserts: Mapping[str, Mapping[str, bytes]],
        deletes: Mapping[str, Iterable[str]],
        checkpoint: str,
        full: bool,
    ) -> None:
        await self._j.save_source(
            self._tenant, upserts=upserts, deletes=deletes, checkpoint=checkpoint, full=full
        )
