"""What the ops facade answers with: plain frozen records, ready for a table, JSON or MCP.

No personnummer and no secret can appear in any of these: labels are built from names (masked
per the tenant's protected-identity policy), and source records pass through
:func:`engine.redact.redact_record` before they are shown.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

Tier = Literal["bronze", "silver", "gold"]
Health = Literal["ok", "warning", "failing", "held", "running", "never_run"]


def to_dict(view: Any) -> dict[str, Any]:
    """A view as JSON-able data (datetimes as ISO strings)."""

    def conv(v: Any) -> Any:
        if isinstance(v, datetime):
            return v.isoformat()
        if isinstance(v, dict):
            return {str(k): conv(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [conv(x) for x in v]
        return v

    return conv(asdict(view))  # type: ignore[no-any-return]


@dataclass(frozen=True)
class RunSummary:
    id: int
    tenant: str
    status: str  # running, held, succeeded, partial, failed, rejected, cancelled
    trigger: str  # manual, schedule, console, mcp, retry, approve
    actor: str
    dry_run: bool
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, int] = field(default_factory=dict)  # planned, done, failed, dead, ...
    error: str | None = None
    targets: tuple[str, ...] = ()
    # why the guard held this run, or (a dry run) would hold a real run of the same plan
    held_reasons: tuple[str, ...] = ()
    # while it runs: who holds the tenant's lease (a worker's name, its host and pid); after a
    # takeover the worker that resumed it, which ``actor`` (who started it) does not say
    running_on: str | None = None

    @property
    def would_be_held(self) -> bool:
        """A dry run whose plan the guard would hold in a real run."""
        return self.dry_run and bool(self.held_reasons)

    @property
    def duration_s(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class ElevationView:
    id: int
    tenant: str
    actor: str
    reason: str
    created_at: datetime
    expires_at: datetime
    status: Literal["pending_approval", "active", "expired", "revoked"]
    approved_by: str | None = None


@dataclass(frozen=True)
class TenantHealth:
    id: str
    name: str
    tier: Tier
    health: Health
    last_run: RunSummary | None
    next_run: datetime | None
    failed_items: int
    held_plans: int
    blocking_findings: int
    warning_findings: int
    targets: tuple[str, ...]
    source: str
    elevation: ElevationView | None = None
    running_on: str | None = None  # while a run of it goes on: who holds its lease


@dataclass(frozen=True)
class TenantDetail:
    health: TenantHealth
    config: dict[str, Any]  # the tenant's configuration with secrets shown as references only
    schedule: str | None
    timezone: str


@dataclass(frozen=True)
class OperationView:
    id: int
    run_id: int
    tenant: str
    target: str
    action: str
    kind: str
    key: str
    parent: str | None
    label: str
    status: str
    attempts: int
    reason: str
    last_error: str
    target_id: str | None
    updated_at: datetime | None
    advice: str = ""  # what a support engineer can do about it
    superseded: bool = False  # a later run (a retry, a new plan) or a skip replaced it
    request_id: str | None = None  # the service's id of the last failed answer, for its vendor

    @property
    def open(self) -> bool:
        """Whether it is still an open failure: failed, dead or blocked, and not replaced."""
        return self.status in ("failed", "dead", "blocked") and not self.superseded


@dataclass(frozen=True)
class Attempt:
    number: int
    at: datetime
    outcome: str
    reason: str
    message: str
    request_id: str | None = None  # the service's id of the answer (Graph's request-id)


@dataclass(frozen=True)
class OperationDetail:
    operation: OperationView
    attempts: tuple[Attempt, ...]
    desired: dict[str, Any]
    source_record: dict[str, Any] | None  # redacted
    record_type: str  # person, group, school
    record_key: str


@dataclass(frozen=True)
class FailureCause:
    """Open failures that share a cause: one target, action, kind, status and reason, so 123
    identical server errors are one row that one command retries or skips."""

    tenant: str
    target: str
    action: str
    kind: str
    status: str
    reason: str
    count: int
    item_ids: tuple[int, ...]
    example: str  # one item's last error

    @property
    def key(self) -> str:
        """What ``--cause`` takes: target/action/kind/status/reason."""
        return "/".join((self.target, self.action, self.kind, self.status, self.reason or "-"))


@dataclass(frozen=True)
class FindingView:
    id: int
    run_id: int
    tenant: str
    code: str
    severity: str
    record_type: str
    record_id: str
    label: str
    message: str
    fix: str


@dataclass(frozen=True)
class HeldPlanView:
    run_id: int
    tenant: str
    held_at: datetime
    reasons: tuple[str, ...]
    would_remove: dict[
        str, int
    ]  # "delete user": 120, "suspend user": 3, "unlink class.member": ...
    examples: tuple[str, ...]  # a few labels of what would go
    total_operations: int


@dataclass(frozen=True)
class EventView:
    id: int
    run_id: int | None
    tenant: str
    at: datetime
    level: str
    message: str


@dataclass(frozen=True)
class OperationCount:
    status: str
    action: str
    kind: str
    count: int


@dataclass(frozen=True)
class RunProgress:
    """Where a running run stands, from its items' statuses: what a header shows live."""

    total: int
    done: int
    in_flight: int
    failed: int  # failed and dead
    blocked: int
    pending: int
    per_minute: float  # items finished (done or given up) per minute so far
    seconds_left: float | None  # at that pace; None before anything finished

    @staticmethod
    def of(statuses: dict[str, int], elapsed_s: float) -> RunProgress:
        done = statuses.get("done", 0)
        failed = statuses.get("failed", 0) + statuses.get("dead", 0)
        settled = done + failed + statuses.get("skipped", 0) + statuses.get("cancelled", 0)
        total = sum(statuses.values())
        rate = settled / elapsed_s if elapsed_s > 0 else 0.0
        left = total - settled - statuses.get("blocked", 0)
        return RunProgress(
            total=total,
            done=done,
            in_flight=statuses.get("in_flight", 0),
            failed=failed,
            blocked=statuses.get("blocked", 0),
            pending=statuses.get("pending", 0),
            per_minute=rate * 60,
            seconds_left=left / rate if rate > 0 else None,
        )

    def line(self) -> str:
        """ "done 40 of 2096, in flight 8, failed 3, pending 2045; 120/min, about 17m left"."""
        parts = [f"done {self.done} of {self.total}"]
        for name, n in (
            ("in flight", self.in_flight),
            ("failed", self.failed),
            ("blocked", self.blocked),
            ("pending", self.pending),
        ):
            if n:
                parts.append(f"{name} {n}")
        text = ", ".join(parts) + f"; {self.per_minute:.0f}/min"
        if self.seconds_left is not None:
            minutes, seconds = divmod(round(self.seconds_left), 60)
            text += (
                f", about {minutes}m {seconds:02d}s left" if minutes else f", about {seconds}s left"
            )
        return text


@dataclass(frozen=True)
class RunDetail:
    summary: RunSummary
    operations: tuple[OperationCount, ...]
    findings: int
    guard: dict[str, Any]  # the guard's verdict: held or not, and why
    timeline: tuple[EventView, ...]  # the first and most telling events
    progress: RunProgress | None = None  # while it runs
    # failed, dead and blocked items not retried, skipped or replaced since: what "retry the
    # run" would try now (the counts above are those the run ended with)
    open_failures: int | None = None


@dataclass(frozen=True)
class SearchHit:
    tenant: str
    record_type: Literal["person", "group", "school"]
    key: str
    label: str
    detail: str  # role, group type or school code
    targets: dict[str, str | None] = field(default_factory=dict)  # target -> target id


@dataclass(frozen=True)
class Explanation:
    """One record from source to target: where it is and what happened to it."""

    tenant: str
    record_type: str
    key: str
    label: str
    source_record: dict[str, Any] | None  # redacted; None when the source no longer has it
    findings: tuple[FindingView, ...]
    desired: dict[str, dict[str, Any]]  # target -> kind -> desired attrs
    observed: dict[str, dict[str, Any]]  # target -> kind -> {target_id, attrs, suspended_at}
    operations: tuple[OperationView, ...]
    summary: str  # one paragraph: the answer to "why is this missing?"


@dataclass(frozen=True)
class PersonExport:
    """Everything ESS holds about one person, for a data subject's request."""

    tenant: str
    key: str  # the person's source id
    found_by: str  # source id, account name, or personnummer (through its keyed hash)
    cached_record: dict[str, Any] | None  # the source's raw record as the cache keeps it
    explanation: Explanation  # the index, findings, desired, observed and operations
    audit: tuple[AuditView, ...]  # audit rows that name the person's source id


@dataclass(frozen=True)
class ApproverView:
    """A customer approver of a gold tenant and the public key their approvals verify with."""

    tenant: str
    name: str
    public_key: str
    enrolled_at: datetime
    enrolled_by: str


@dataclass(frozen=True)
class AuditView:
    id: int
    at: datetime
    actor: str
    action: str
    tenant: str | None
    allowed: bool
    detail: str


@dataclass(frozen=True)
class Decision:
    """Whether the current actor may do an action now, and why not."""

    allowed: bool
    reason: str = ""


@dataclass(frozen=True)
class CommandResult:
    ok: bool
    message: str
    affected: int = 0
    run_id: int | None = None


@dataclass(frozen=True)
class Progress:
    """A progress tick for front ends: stage (read, plan, apply), target, done of total."""

    stage: str
    target: str
    done: int
    total: int
    message: str = ""


@dataclass(frozen=True)
class SourceCheck:
    """What ``ess source check`` reports: a read of the source, nothing applied."""

    tenant: str
    mode: str  # full, incremental, folder
    counts: dict[str, int]
    findings: tuple[FindingView, ...]
    stats: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RekeyRecord:
    """One old record a rekey could not move: unmatched, ambiguous or clash (see
    :class:`engine.rekey.Unmatched`), with what the support engineer should do."""

    record_type: str
    old_id: str
    label: str
    reason: str
    message: str
    fix: str


@dataclass(frozen=True)
class RekeyReport:
    """What ``ess source rekey`` found (and, unless a dry run, moved)."""

    tenant: str
    dry_run: bool
    old_counts: dict[str, int]  # what the old source holds
    new_counts: dict[str, int]  # what the new source(s) hold
    matched: dict[str, int]  # per record type: old records matched to a new one
    moving: dict[str, int]  # per record type: matched records whose id changes
    new_only: dict[str, int]  # per record type: new records no old one matched (created)
    unmatched: tuple[RekeyRecord, ...]  # held, or (clash) stopping the real rekey
    moved: dict[str, int] = field(default_factory=dict)  # journal rows moved, per table


@dataclass(frozen=True)
class SourceHoldView:
    """A record no run removes until an operator releases it."""

    record_type: str
    key: str
    reason: str
    held_at: datetime
    actor: str


@dataclass(frozen=True)
class CheckItemView:
    """One line of ``ess target check``: ``fix`` names what to do when ``status`` is missing."""

    item: str
    status: str  # ok, missing, skipped
    detail: str = ""
    fix: str = ""


@dataclass(frozen=True)
class TargetCheck:
    """What ``ess target check`` found for one target: nothing is written to it."""

    tenant: str
    target: str  # the target's table key
    type: str
    items: tuple[CheckItemView, ...]

    @property
    def missing(self) -> int:
        return sum(1 for i in self.items if i.status == "missing")


@dataclass(frozen=True)
class PersonForgotten:
    """What ``ess person forget`` removed. ``ref`` stands for the person in the audit log (a
    hash of tenant and source id, so the log keeps that the request was done, not who)."""

    tenant: str
    ref: str
    found_by: str
    removed: dict[str, int]


@dataclass(frozen=True)
class AgentStatusView:
    """A hosted tenant's on-site agent, as its latest accepted upload tells it."""

    tenant: str
    inbox: str
    agent: str | None  # None: no upload yet
    last_upload: datetime | None
    version: str | None
    seq: int | None
    counts: dict[str, int]
    max_age_hours: float
    stale: bool  # no upload, or one older than max_age_hours: the tenant's runs stop
