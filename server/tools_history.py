"""One item's attempt history, the audit log and elevations: what a support engineer checks
before and after acting. Read-only; served with the status toolset."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from server.annotations import read_only
from server.models import (
    AttemptOut,
    AuditOut,
    AuditPage,
    ElevationList,
    ElevationOut,
    ItemOut,
    OperationOut,
    from_view,
)
from server.runtime import Runtime, ops_errors

MAX_AUDIT = 500


def register(mcp: MCPServer[Any], rt: Runtime) -> None:
    @mcp.tool(annotations=read_only("Get item"))
    async def get_item(
        item_id: Annotated[int, Field(description="Item id from list_failures or get_run.")],
    ) -> ItemOut:
        """Show one item (an operation on a target) with every attempt: when, what the target
        answered, and the service's request id of a failed answer (quote it to the vendor).

        Use it to answer "why does this keep failing?" before retrying or skipping.
        Next: retry_items([item_id]) once the cause is fixed; explain_record(tenant,
        record_type, record_key) to trace its record.
        Example: get_item(item_id=101)
        """
        with ops_errors("Call list_failures to see the open item ids."):
            detail = await rt.ops.operation(item_id)
        return ItemOut(
            item=from_view(OperationOut, detail.operation),
            attempts=[from_view(AttemptOut, a) for a in detail.attempts],
            record_type=detail.record_type,
            record_key=detail.record_key,
        )

    @mcp.tool(annotations=read_only("List audit log"))
    async def list_audit(
        tenant: Annotated[
            str | None, Field(description="Tenant id; omit for every tenant's rows.")
        ] = None,
        limit: Annotated[
            int, Field(ge=1, le=MAX_AUDIT, description=f"Newest rows, 1-{MAX_AUDIT}.")
        ] = 50,
    ) -> AuditPage:
        """List the audit log, newest first: who did what to which tenant, whether policy
        allowed it, and the detail (a sync, a retry of items, an approval with its reason).

        Use it to answer "who changed this?" or "was this refused, and why?".
        Example: list_audit(tenant="alpha", limit=20)
        """
        with ops_errors("Call list_tenants to see the tenant ids."):
            rows = await rt.ops.audit(tenant, limit=limit + 1)
        page = rows[:limit]
        more = len(rows) > limit
        return AuditPage(
            rows=[from_view(AuditOut, a) for a in page],
            note=f"the newest {limit}; older rows exist (raise limit)" if more else None,
        )

    @mcp.tool(annotations=read_only("List elevations"))
    async def list_elevations(
        tenant: Annotated[str | None, Field(description="Tenant id; omit for all.")] = None,
    ) -> ElevationList:
        """List elevations of support rights, newest first: who asked, why, until when, and
        whether one is active, waits for the customer's approval, has expired or was revoked.

        Use it to see why a write to a silver or gold tenant is refused or allowed now.
        Example: list_elevations(tenant="beta")
        """
        with ops_errors("Call list_tenants to see the tenant ids."):
            rows = await rt.ops.elevations(tenant)
        return ElevationList(elevations=[from_view(ElevationOut, e) for e in rows])
