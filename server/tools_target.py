"""``check_target`` (status toolset): sign in to a tenant's targets and say what is missing,
as ``ess target check`` does. Reads only; each missing piece names its fix."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field

from server.models import from_view
from server.runtime import Runtime, ops_errors


class CheckItemOut(BaseModel):
    model_config = ConfigDict(extra="ignore")

    item: str = Field(description="What was checked: sign-in, a permission, the domain, ...")
    status: str = Field(description="ok, missing (see fix) or skipped (not checked, see detail).")
    detail: str
    fix: str = Field(description="What to do, when status is missing; empty otherwise.")


class TargetCheckOut(BaseModel):
    model_config = ConfigDict(extra="ignore")

    tenant: str
    target: str = Field(description="The target's table key in ess.toml.")
    type: str
    missing: int = Field(description="How many items are missing.")
    items: list[CheckItemOut]


class TargetCheckList(BaseModel):
    checks: list[TargetCheckOut]
    next_steps: str


def register(mcp: MCPServer[Any], rt: Runtime) -> None:
    @mcp.tool(
        annotations=ToolAnnotations(
            title="Check targets",
            read_only_hint=True,
            destructive_hint=False,
            idempotent_hint=True,
            open_world_hint=True,  # it signs in to the services
        )
    )
    async def check_target(
        tenant: Annotated[str, Field(description="Tenant id, as list_tenants shows it.")],
        ctx: Context,
        target: Annotated[
            str | None, Field(description="A target's table key; omit for all its targets.")
        ] = None,
    ) -> TargetCheckList:
        """Sign in to the tenant's targets (Microsoft 365, Google Workspace) and check the
        permissions, scopes, domain, licences and credential end dates the configuration needs.

        Use it when runs fail at the sign-in or on permissions, or before a tenant's first
        night. It writes nothing, but it does call the services. Each missing item names the
        fix for the customer's administrator.
        Next: tell the user the fixes; tenant_status(tenant) once they are done.
        Example: check_target(tenant="alpha")
        """
        ops, _ = await rt.for_actor(ctx)  # audited under the caller's own name
        with ops_errors("Call list_tenants, then tenant_status(tenant) for its targets."):
            checks = await ops.target_check(tenant, target)
        out = [from_view(TargetCheckOut, c, missing=c.missing) for c in checks]
        missing = sum(c.missing for c in out)
        return TargetCheckList(
            checks=out,
            next_steps=(
                f"{missing} item(s) missing: each names its fix for the customer's administrator."
                if missing
                else "Nothing missing."
            ),
        )
