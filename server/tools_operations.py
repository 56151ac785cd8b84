"""The operations toolset: sync, retry, skip, approve and reject, served only with writes allowed.

Every command goes through the ops facade, which checks the tenant's support tier and
elevations and writes the audit row with the actor ``mcp:<client name>``.
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from server.annotations import write
from server.models import CommandOut, SyncOut, from_view, run_out
from server.runtime import Runtime, ops_errors

ItemIds = Annotated[
    list[int],
    Field(min_length=1, max_length=500, description="Item ids from list_failures (1-500)."),
]
Reason = Annotated[
    str, Field(min_length=3, max_length=500, description="Why; recorded in the audit log.")
]
RunId = Annotated[int, Field(description="Run id of a held plan, from list_held_plans.")]


def register(mcp: MCPServer[Any], rt: Runtime) -> None:
    @mcp.tool(
        annotations=write("Start sync", destructive=True, idempotent=False, reaches_targets=True)
    )
    async def start_sync(
        tenant: Annotated[str, Field(description="Tenant id.")],
        ctx: Context,
        dry_run: Annotated[
            bool,
            Field(description="true (the default) only plans and changes nothing; false applies."),
        ] = True,
        full: Annotated[
            bool, Field(description="Read the whole source instead of changes since last run.")
        ] = False,
        targets: Annotated[
            list[str] | None, Field(description="Only these targets; omit for all.")
        ] = None,
    ) -> SyncOut:
        """Run a tenant's sync now. By default a dry run: it reads the source and plans, and
        reports what it would create, update, suspend and delete, without changing anything.

        Use dry_run=true first and show the user the counts; call again with dry_run=false
        only when the user has asked for a real sync. A real sync can suspend or delete
        accounts; the guard still holds plans over the tenant's thresholds. The tenant's
        support tier must allow it (see tenant_status). A dry run answers when it ends; a real
        sync runs in a process of its own, which goes on when this session ends, and the call
        answers at once with its run id and status "running".
        Next: get_run(run_id) until it is no longer running (it shows live progress), then
        list_failures(tenant) if items failed.
        Example: start_sync(tenant="alpha") then start_sync(tenant="alpha", dry_run=false)
        """
        ops, actor = await rt.writer(ctx)
        with ops_errors("Call list_tenants to see the tenant ids."):
            if dry_run:
                run = await ops.sync(
                    tenant, dry_run=True, full=full, targets=targets, trigger="mcp"
                )
            else:
                run = await rt.launch(ops, tenant, actor, full, targets)
        return SyncOut(
            run=run_out(run),
            actor=actor,
            next_steps=(
                "Dry run: nothing changed, and a real run would be HELD by the guard ("
                + "; ".join(run.held_reasons)
                + "): show the user why; a real run would wait for approve_plan."
                if run.would_be_held
                else "Dry run: nothing changed. Show the counts; call "
                f"start_sync(tenant={tenant!r}, dry_run=false) only if the user wants these "
                "changes applied."
                if dry_run
                else f"Started in a process of its own. Next: get_run(run_id={run.id}) until its "
                f"status is no longer running; then list_failures(tenant={tenant!r}) if items "
                "failed, list_held_plans if the guard held it."
            ),
        )

    @mcp.tool(
        annotations=write("Retry items", destructive=True, idempotent=False, reaches_targets=True)
    )
    async def retry_items(item_ids: ItemIds, ctx: Context) -> CommandOut:
        """Apply failed, dead or blocked items again, now, in their target.

        Use it after the cause of a failure is fixed (a licence added, a throttle passed, a
        record corrected). An item may be any operation, including a suspension or deletion,
        so check list_failures first. The tenant's support tier must allow it.
        Next: list_failures(tenant) to see what is still open.
        Example: retry_items(item_ids=[101, 102])
        """
        ops, actor = await rt.writer(ctx)
        with ops_errors("Call list_failures to see the open item ids."):
            result = await ops.retry(item_ids)
        return from_view(CommandOut, result, actor=actor)

    @mcp.tool(
        annotations=write("Skip items", destructive=False, idempotent=True, reaches_targets=False)
    )
    async def skip_items(item_ids: ItemIds, reason: Reason, ctx: Context) -> CommandOut:
        """Stop trying these items until their source record changes; nothing is applied.

        Use it for items that cannot succeed and need no action now (for example a record the
        school will correct). The reason is kept in the audit log. The tenant's support tier
        must allow it.
        Next: list_failures(tenant) no longer shows skipped items.
        Example: skip_items(item_ids=[103], reason="pupil leaves this week")
        """
        ops, actor = await rt.writer(ctx)
        with ops_errors("Call list_failures to see the open item ids."):
            result = await ops.skip(item_ids, reason=reason)
        return from_view(CommandOut, result, actor=actor)

    @mcp.tool(
        annotations=write("Approve plan", destructive=True, idempotent=False, reaches_targets=True)
    )
    async def approve_plan(
        run_id: RunId,
        ctx: Context,
        reason: Annotated[str, Field(max_length=500, description="Why; audited.")] = "",
    ) -> SyncOut:
        """Apply a plan the guard held: the deletions and suspensions it lists will happen.

        Only after a person has looked at list_held_plans and decided that the removals are
        right (a real end of term, not a truncated source). The tenant's support tier must
        allow it.
        Next: get_run(run_id) to follow the result.
        Example: approve_plan(run_id=14, reason="term ended; 120 leavers confirmed by school")
        """
        ops, actor = await rt.writer(ctx)
        with ops_errors("Call list_held_plans to see the held plans."):
            run = await ops.approve(run_id, reason=reason)
        return SyncOut(
            run=run_out(run),
            actor=actor,
            next_steps=f"Next: get_run(run_id={run.id}); list_failures(tenant={run.tenant!r}).",
        )

    @mcp.tool(
        annotations=write("Reject plan", destructive=False, idempotent=True, reaches_targets=False)
    )
    async def reject_plan(
        run_id: RunId,
        ctx: Context,
        reason: Annotated[str, Field(max_length=500, description="Why; audited.")] = "",
    ) -> CommandOut:
        """Discard a plan the guard held; nothing of it is applied to any target.

        Use it when the held removals are wrong (for example the source export was cut short).
        Fix the cause, then start_sync(tenant, dry_run=true) to check the next plan. The
        tenant's support tier must allow it.
        Example: reject_plan(run_id=14, reason="source returned half the pupils")
        """
        ops, actor = await rt.writer(ctx)
        with ops_errors("Call list_held_plans to see the held plans."):
            result = await ops.reject(run_id, reason=reason)
        return from_view(CommandOut, result, actor=actor)
