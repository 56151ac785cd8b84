"""The status toolset: tenants, runs, failed items, findings and held plans (read-only)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from engine.ops import WriteAction
from server.annotations import read_only
from server.models import (
    ActionDecision,
    EventOut,
    FailurePage,
    FindingOut,
    FindingPage,
    HeldPlanList,
    HeldPlanOut,
    OperationCountOut,
    OperationOut,
    ProgressOut,
    RunDetailOut,
    RunPage,
    TenantPage,
    TenantStatus,
    from_view,
    run_out,
    tenant_out,
)
from server.paging import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor, page_note
from server.runtime import Runtime, ops_errors
from server.scrub import scrub

Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT, description="Page size, 1-100.")]
Cursor = Annotated[
    str | None, Field(description="next_cursor from the previous answer; omit for page one.")
]
TenantId = Annotated[str, Field(description="Tenant id, as list_tenants shows it.")]

WRITE_ACTIONS: tuple[WriteAction, ...] = ("sync", "retry", "skip", "approve", "reject")
MAX_HELD = 50

FIND_TENANT = "Call list_tenants to see the tenant ids."
FIND_RUN = "Call list_runs(tenant=...) to see the run ids."


def register(mcp: MCPServer[Any], rt: Runtime) -> None:
    @mcp.tool(annotations=read_only("List tenants"))
    async def list_tenants(cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT) -> TenantPage:
        """List every tenant (customer setup) with its health, trouble first.

        Use this first to find tenant ids and to see which tenants need attention: health is
        ok, warning, failing, held (a plan waits for approval), running or never_run, with
        counts of failed items, held plans and findings.
        Next: tenant_status(tenant) for one tenant, list_runs(tenant) for its history,
        list_failures(tenant) or list_held_plans(tenant) when those counts are not zero.
        Example: list_tenants() -> {"tenants": [{"id": "alpha", "health": "failing", ...}]}
        """
        offset = decode_cursor(cursor, "tenants") or 0
        with ops_errors():
            rows = await rt.ops.tenants()
        page = rows[offset : offset + limit]
        more = len(rows) > offset + limit
        return TenantPage(
            tenants=[tenant_out(t) for t in page],
            next_cursor=encode_cursor("tenants", offset + limit) if more else None,
            note=page_note(len(page), more, "tenants"),
        )

    @mcp.tool(annotations=read_only("Tenant status"))
    async def tenant_status(tenant: TenantId) -> TenantStatus:
        """Show one tenant in full: health, last run, schedule, settings and allowed actions.

        Use it when a user asks how a tenant is doing or why it is failing, and before any
        write: `actions` says whether sync, retry, skip, approve and reject are allowed for
        this server right now under the tenant's support tier, and why not.
        Next: list_runs(tenant) for the history, get_run(run_id) for the last run,
        list_failures(tenant), list_findings(tenant) or list_held_plans(tenant).
        Example: tenant_status(tenant="alpha")
        """
        with ops_errors(FIND_TENANT):
            detail = await rt.ops.tenant(tenant)
            decisions = [
                ActionDecision(action=a, **scrub(_decision(await rt.ops.can(a, tenant))))
                for a in WRITE_ACTIONS
            ]
        health = detail.health
        return TenantStatus(
            tenant=tenant_out(health),
            schedule=detail.schedule,
            timezone=detail.timezone,
            config=scrub(detail.config),
            actions=decisions,
            next_steps=_tenant_next_steps(
                health.id,
                health.health,
                health.failed_items,
                health.held_plans,
                health.blocking_findings,
            ),
        )

    @mcp.tool(annotations=read_only("List runs"))
    async def list_runs(
        tenant: TenantId, cursor: Cursor = None, limit: Limit = DEFAULT_LIMIT
    ) -> RunPage:
        """List a tenant's sync runs, newest first, with status and counts.

        Use it to see when a tenant last ran, whether runs succeed, and to find run ids.
        Status is running, held, succeeded, partial, failed, rejected or cancelled.
        Next: get_run(run_id) for one run's breakdown; search_run_log(run_id) for its log.
        Page with cursor=next_cursor. Example: list_runs(tenant="alpha", limit=5)
        """
        before = decode_cursor(cursor, "runs")
        with ops_errors(FIND_TENANT):
            rows = await rt.ops.runs(tenant, limit=limit + 1, before=before)
        page, more = rows[:limit], len(rows) > limit
        return RunPage(
            runs=[run_out(r) for r in page],
            next_cursor=encode_cursor("runs", page[-1].id) if more and page else None,
            note=page_note(len(page), more, "runs"),
        )

    @mcp.tool(annotations=read_only("Get run"))
    async def get_run(
        run_id: Annotated[int, Field(description="Run id from list_runs.")],
    ) -> RunDetailOut:
        """Show one run: its status, counts of operations by status and kind, the guard's
        verdict and the most telling log events.

        Use it to answer "what happened in this run?". A `held` run waits for approval (see
        list_held_plans); a `partial` run left failed, dead or blocked items.
        Next: list_failures(tenant) for the failed items, list_findings(tenant, run_id=...) for
        data problems, search_run_log(run_id) for the full log.
        Example: get_run(run_id=12)
        """
        with ops_errors(FIND_RUN):
            detail = await rt.ops.run(run_id)
        summary = detail.summary
        return RunDetailOut(
            run=run_out(summary),
            operations=[from_view(OperationCountOut, c) for c in detail.operations],
            findings=detail.findings,
            guard=scrub(detail.guard),
            timeline=[from_view(EventOut, e) for e in detail.timeline],
            next_steps=_run_next_steps(summary.id, summary.tenant, summary.status, detail.findings),
            progress=from_view(ProgressOut, detail.progress) if detail.progress else None,
            open_failures=detail.open_failures,
        )

    @mcp.tool(annotations=read_only("List failures"))
    async def list_failures(
        tenant: Annotated[
            str | None, Field(description="Tenant id; omit to list failures of every tenant.")
        ] = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> FailurePage:
        """List the items (operations) that failed, died or are blocked and are still open.

        Use it to find out what ESS could not do in a target and why: each item has its
        reason, last error, attempts and advice. Items another item depends on block it.
        Next: explain_record(tenant, record_type, key) to trace one record; with the
        operations toolset, retry_items(item_ids) once the cause is fixed or
        skip_items(item_ids, reason) to stop trying.
        Example: list_failures(tenant="alpha", limit=10)
        """
        offset = decode_cursor(cursor, "failures") or 0
        with ops_errors(FIND_TENANT):
            rows = await rt.ops.failures(tenant, limit=limit + 1, offset=offset)
        page, more = rows[:limit], len(rows) > limit
        return FailurePage(
            items=[from_view(OperationOut, o) for o in page],
            next_cursor=encode_cursor("failures", offset + limit) if more else None,
            note=page_note(len(page), more, "items"),
        )

    @mcp.tool(annotations=read_only("List findings"))
    async def list_findings(
        tenant: TenantId,
        run_id: Annotated[
            int | None, Field(description="A run id; omit for the tenant's latest read.")
        ] = None,
        severity: Annotated[
            Literal["blocking", "warning"] | None,
            Field(description="Only this severity: blocking (the record is left out) or warning."),
        ] = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> FindingPage:
        """List data-quality findings from the source: a person with no school, a duplicate
        user name, a group with no teacher, and so on.

        Blocking findings leave the record out of the sync; warnings do not. Each finding
        names the record and a fix, which is made in the student administration system,
        not in ESS. Next: explain_record(tenant, record_type, key=record_id) for the record.
        Example: list_findings(tenant="alpha", severity="blocking")
        """
        offset = decode_cursor(cursor, "findings") or 0
        with ops_errors(FIND_TENANT):
            rows = await rt.ops.findings(
                tenant, run_id=run_id, severity=severity, limit=limit + 1, offset=offset
            )
        page, more = rows[:limit], len(rows) > limit
        return FindingPage(
            findings=[from_view(FindingOut, f) for f in page],
            next_cursor=encode_cursor("findings", offset + limit) if more else None,
            note=page_note(len(page), more, "findings"),
        )

    @mcp.tool(annotations=read_only("List held plans"))
    async def list_held_plans(
        tenant: Annotated[
            str | None, Field(description="Tenant id; omit for every tenant.")
        ] = None,
    ) -> HeldPlanList:
        """List plans the guard held because they would delete or suspend more than the
        tenant's thresholds allow; nothing of a held plan has been applied.

        Use it when a tenant's health is `held`. Each plan says why it was held, what it would
        remove, and a few examples. A mass removal often means the source was truncated or
        misconfigured: check that before approving.
        Next: get_run(run_id) for detail; with the operations toolset, approve_plan(run_id) or
        reject_plan(run_id) after a person has decided.
        Example: list_held_plans(tenant="beta")
        """
        with ops_errors(FIND_TENANT):
            rows = await rt.ops.held_plans(tenant)
        return HeldPlanList(
            plans=[from_view(HeldPlanOut, p) for p in rows[:MAX_HELD]],
            note=(
                f"Showing the first {MAX_HELD} of {len(rows)} held plans; pass tenant to narrow."
                if len(rows) > MAX_HELD
                else None
            ),
        )


def _decision(decision: Any) -> dict[str, Any]:
    return {"allowed": bool(decision.allowed), "reason": str(decision.reason)}


def _tenant_next_steps(tenant: str, health: str, failed: int, held: int, blocking: int) -> str:
    steps = []
    if held:
        steps.append(f"list_held_plans(tenant={tenant!r}) to review the held plan")
    if failed:
        steps.append(f"list_failures(tenant={tenant!r}) for the {failed} failed item(s)")
    if blocking:
        steps.append(f"list_findings(tenant={tenant!r}, severity='blocking')")
    if health == "never_run":
        steps.append("start_sync(tenant, dry_run=true) to see what a first run would do")
    steps.append(f"list_runs(tenant={tenant!r}) for the history")
    return "Next: " + "; ".join(steps) + "."


def _run_next_steps(run_id: int, tenant: str, status: str, findings: int) -> str:
    steps = []
    if status == "held":
        steps.append(f"list_held_plans(tenant={tenant!r}), then approve_plan or reject_plan")
    if status in ("partial", "failed"):
        steps.append(f"list_failures(tenant={tenant!r})")
    if findings:
        steps.append(f"list_findings(tenant={tenant!r}, run_id={run_id})")
    steps.append(f"search_run_log(run_id={run_id}) for the full log")
    return "Next: " + "; ".join(steps) + "."
