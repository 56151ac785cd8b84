"""Pydantic output models: the structured answers of the tools, and their published schemas.

Every model is built from an ops view through :func:`from_view`, which runs the defensive
personnummer scrub over all text on the way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from engine.views import RunSummary, TenantHealth, to_dict
from server.scrub import scrub

M = TypeVar("M", bound=BaseModel)

NEXT_CURSOR = "Pass back as `cursor` for the next page; null on the last page."


class _Out(BaseModel):
    model_config = ConfigDict(extra="ignore")


def from_view(model: type[M], view: Any, **extra: Any) -> M:
    """Convert an ops view (a frozen dataclass) to an output model, scrubbed."""
    data = to_dict(view) if not isinstance(view, dict) else dict(view)
    data.update(extra)
    return model.model_validate(scrub(data))


class RunOut(_Out):
    id: int = Field(description="Run id; pass it to get_run, search_run_log or approve_plan.")
    tenant: str
    status: str = Field(
        description="running, held, succeeded, partial, failed, rejected or cancelled."
    )
    trigger: str
    actor: str
    dry_run: bool
    started_at: datetime
    finished_at: datetime | None
    duration_s: float | None = None
    counts: dict[str, int] = Field(default_factory=dict, description="planned, done, failed, ...")
    error: str | None = None
    targets: list[str] = Field(default_factory=list)
    held_reasons: list[str] = Field(
        default_factory=list,
        description="Why the guard held this run; for a dry run, why it would hold a real run.",
    )
    running_on: str | None = Field(
        None,
        description="While it runs: the process running it now (worker name, host, pid); "
        "after a takeover, the worker that resumed it, not the actor that started it.",
    )


def run_out(view: RunSummary) -> RunOut:
    return from_view(RunOut, view, duration_s=view.duration_s)


class ElevationOut(_Out):
    id: int
    tenant: str
    actor: str
    reason: str
    created_at: datetime
    expires_at: datetime
    status: Literal["pending_approval", "active", "expired", "revoked"]
    approved_by: str | None = None


class TenantOut(_Out):
    id: str = Field(description="Tenant id; every tenant-scoped tool takes it as `tenant`.")
    name: str
    tier: Literal["bronze", "silver", "gold"] = Field(
        description="Support tier: bronze allows writes; silver needs an active elevation; "
        "gold needs an elevation approved by the customer."
    )
    health: Literal["ok", "warning", "failing", "held", "running", "never_run"]
    last_run: RunOut | None
    next_run: datetime | None
    failed_items: int
    held_plans: int
    blocking_findings: int
    warning_findings: int
    targets: list[str]
    source: str
    elevation: ElevationOut | None = None
    running_on: str | None = Field(
        None, description="While a run of it goes on: the process running it (worker, host, pid)."
    )


def tenant_out(view: TenantHealth) -> TenantOut:
    last = run_out(view.last_run) if view.last_run is not None else None
    return from_view(TenantOut, view, last_run=last.model_dump() if last else None)


class TenantPage(_Out):
    tenants: list[TenantOut] = Field(description="Trouble first.")
    next_cursor: str | None = Field(None, description=NEXT_CURSOR)
    note: str | None = None


class ActionDecision(_Out):
    action: str
    allowed: bool
    reason: str = ""


class TenantStatus(_Out):
    tenant: TenantOut
    schedule: str | None
    timezone: str
    config: dict[str, Any] = Field(
        description="The tenant's settings; secrets appear as references only."
    )
    actions: list[ActionDecision] = Field(
        description="Whether each write action is allowed for this server now, and why not."
    )
    next_steps: str


class RunPage(_Out):
    runs: list[RunOut] = Field(description="Newest first.")
    next_cursor: str | None = Field(None, description=NEXT_CURSOR)
    note: str | None = None


class OperationCountOut(_Out):
    status: str
    action: str
    kind: str
    count: int


class EventOut(_Out):
    id: int
    run_id: int | None
    tenant: str
    at: datetime
    level: str
    message: str


class ProgressOut(_Out):
    total: int
    done: int
    in_flight: int
    failed: int = Field(description="Failed and dead so far.")
    blocked: int
    pending: int
    per_minute: float = Field(description="Items settled per minute so far.")
    seconds_left: float | None = Field(description="At that pace; null before any settled.")


class RunDetailOut(_Out):
    run: RunOut
    operations: list[OperationCountOut] = Field(description="Operations by status, action, kind.")
    findings: int
    guard: dict[str, Any] = Field(description="The guard's verdict: held or not, and why.")
    timeline: list[EventOut]
    next_steps: str
    progress: ProgressOut | None = Field(
        None, description="While the run is running: where it stands now, counted from its items."
    )
    open_failures: int | None = Field(
        None, description="Failed, dead and blocked items not retried or skipped since."
    )


class OperationOut(_Out):
    id: int = Field(description="Item id; pass it to retry_items or skip_items.")
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
    advice: str = ""
    request_id: str | None = Field(
        None, description="The service's id of the last failed answer, for a vendor ticket."
    )


class AttemptOut(_Out):
    number: int
    at: datetime
    outcome: str = Field(description="done, retry, failed, fatal or in_doubt.")
    reason: str
    message: str
    request_id: str | None = None


class ItemOut(_Out):
    item: OperationOut
    attempts: list[AttemptOut]
    record_type: str = Field(description="person, group or school: for explain_record.")
    record_key: str


class AuditOut(_Out):
    id: int
    at: datetime
    actor: str
    action: str
    tenant: str | None
    allowed: bool
    detail: str


class AuditPage(_Out):
    rows: list[AuditOut]
    note: str | None = None


class ElevationList(_Out):
    elevations: list[ElevationOut]


class FailurePage(_Out):
    items: list[OperationOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR)
    note: str | None = None


class FindingOut(_Out):
    id: int
    run_id: int
    tenant: str
    code: str
    severity: Literal["blocking", "warning"]
    record_type: str
    record_id: str
    label: str
    message: str
    fix: str


class FindingPage(_Out):
    findings: list[FindingOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR)
    note: str | None = None


class HeldPlanOut(_Out):
    run_id: int = Field(description="Pass to approve_plan or reject_plan.")
    tenant: str
    held_at: datetime
    reasons: list[str]
    would_remove: dict[str, int] = Field(description="What the plan would remove, by kind.")
    examples: list[str]
    total_operations: int


class HeldPlanList(_Out):
    plans: list[HeldPlanOut]
    note: str | None = None


class LogPage(_Out):
    events: list[EventOut] = Field(description="Oldest first.")
    next_cursor: str | None = Field(
        None, description="Pass back as `cursor` for later events; null when none are left."
    )
    note: str | None = None


class SearchHitOut(_Out):
    tenant: str
    record_type: Literal["person", "group", "school"]
    key: str = Field(description="Source id; pass it to explain_record as `key`.")
    label: str
    detail: str
    targets: dict[str, str | None] = Field(
        default_factory=dict, description="Target name to the id there (null: not created)."
    )


class SearchResult(_Out):
    hits: list[SearchHitOut]
    note: str | None = None


class ExplanationOut(_Out):
    tenant: str
    record_type: str
    key: str
    label: str
    source_record: dict[str, Any] | None = Field(
        description="The record as the source has it (redacted); null when the source no "
        "longer has it."
    )
    findings: list[FindingOut]
    desired: dict[str, dict[str, Any]] = Field(description="Target, kind, desired attributes.")
    observed: dict[str, dict[str, Any]] = Field(
        description="Target, kind, what ESS last saw there (target id, attributes)."
    )
    operations: list[OperationOut]
    summary: str


class CommandOut(_Out):
    ok: bool
    message: str
    affected: int = 0
    run_id: int | None = None
    actor: str = Field(description="The actor recorded in the audit log.")


class SyncOut(_Out):
    run: RunOut
    actor: str = Field(description="The actor recorded in the audit log.")
    next_steps: str
